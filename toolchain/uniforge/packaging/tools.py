"""The host tools and files packaging uses, each found or named with the Debian package that has it: a missing one
is one line (ToolError), never a traceback from deep inside. scripts/install-host-deps installs them all."""
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import ImageError, ToolError

SBIN = ("/usr/sbin", "/sbin")


def tool(name: str, package: str) -> str:
    """The path of program `name`; ToolError naming `package` if it is not installed."""
    found = shutil.which(name) or next((f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None)
    if not found:
        raise ToolError(f"'{name}' is not installed: install Debian's {package}",
                        hint="scripts/install-host-deps installs every tool uniforge uses")
    return found


def data_file(path: str | Path, package: str) -> Path:
    """A file a Debian package installs (firmware, boot loader images); ToolError naming `package` if missing."""
    path = Path(path)
    if not path.exists():
        raise ToolError(f"{path} is missing: install Debian's {package}",
                        hint="scripts/install-host-deps installs every tool uniforge uses")
    return path


# Where Debian's packages put the firmware and boot loader files that targets name.
_OWNERS = {"/usr/share/seabios/": "seabios", "/usr/share/OVMF/": "ovmf", "/usr/share/AAVMF/": "qemu-efi-arm",
           "/usr/lib/u-boot/": "u-boot-qemu", "/usr/share/qemu/": "qemu-system-data"}


# The programs packaging runs, with their Debian packages (`uniforge doctor` lists those missing).
PROGRAMS = {"grub-mkimage": "grub-common", "xorriso": "xorriso", "qemu-img": "qemu-utils", "mkimage": "u-boot-tools",
            "mkfs.fat": "dosfstools", "mcopy": "mtools", "skopeo": "skopeo"}
# And the boot loaders' files it reads.
LOADER_FILES = {"/usr/lib/grub/i386-pc/moddep.lst": "grub-pc-bin", "/usr/lib/grub/x86_64-efi/moddep.lst":
                "grub-efi-amd64-bin"}


def missing() -> list[tuple[str, str]]:
    """(program or file, Debian package) for each tool or boot loader file of packaging this host lacks."""
    gone = []
    for name, package in PROGRAMS.items():
        if not (shutil.which(name) or any(os.access(f"{d}/{name}", os.X_OK) for d in SBIN)):
            gone.append((name, package))
    return gone + [(path, package) for path, package in LOADER_FILES.items() if not Path(path).exists()]


def package_of(path: str | Path) -> str:
    """The Debian package that installs `path` (for the one line that says what to install)."""
    return next((package for prefix, package in _OWNERS.items() if str(path).startswith(prefix)), "")


def firmware_file(path: str | Path) -> Path:
    """A firmware file a target names; ToolError naming its Debian package if it is missing."""
    return data_file(path, package_of(path) or "the package that has it")


def run(args: Sequence[str], what: str, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Runs a packaging tool; its complaint becomes one line (ImageError) saying what was being made."""
    proc = subprocess.run(list(args), check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd)
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())
        raise ImageError(f"{what} failed: {detail or f'{Path(args[0]).name} exited {proc.returncode}'}")
    return proc.stdout
