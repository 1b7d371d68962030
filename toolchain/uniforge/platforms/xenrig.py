"""The Xen rig's hypervisor: the real Xen from Debian's package, fetched into the cache on first use, that the Xen
ways (xen.py) boot under QEMU with the image on it."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..building.targets import Target
from ..core import cache
from ..core.errors import ToolError

_INSTALL = "scripts/install-host-deps sets apt up for it (armhf packages need `dpkg --add-architecture armhf`)"


def hypervisor(target: Target) -> Path:
    """The target's Xen hypervisor binary, from its Debian package (apt-get download, dpkg -x), cached."""
    package, member = target.xen.package, target.xen.file

    def fetch(tmp: Path) -> None:
        for tool in ("apt-get", "dpkg"):
            if shutil.which(tool) is None:
                raise ToolError(f"fetching {package} needs {tool}, which this host lacks",
                                hint="on a non-Debian host, install Xen 4.17 and put the hypervisor in the cache")
        with tempfile.TemporaryDirectory() as work:
            _checked(["apt-get", "download", package], work, f"cannot download {package}")
            debs = list(Path(work).glob("*.deb"))
            _checked(["dpkg", "-x", str(debs[0]), "root"], work, f"cannot unpack {debs[0].name}")
            found = Path(work) / "root" / member
            if not found.is_file():
                raise ToolError(f"{package} has no {member}", hint="the target's [xen] file names it")
            out = tmp / Path(member.removesuffix(".gz")).name
            # QEMU's multiboot loader takes an ELF, not a gzip.
            out.write_bytes(gzip.decompress(found.read_bytes()) if member.endswith(".gz") else found.read_bytes())

    folder, _ = cache.entry("xen", cache.digest(package, member), fetch)
    return folder / Path(member.removesuffix(".gz")).name


def cached(target: Target) -> Path | None:
    """The hypervisor if it was fetched already (doctor: no download)."""
    path = cache.cache_root() / "xen" / cache.digest(target.xen.package, target.xen.file)[:32]
    found = list(path.glob("*")) if path.is_dir() else []
    return found[0] if found else None


def fetchable(target: Target) -> tuple[bool, str]:
    """Whether apt knows the target's hypervisor package (doctor: no download)."""
    package = target.xen.package
    if shutil.which("apt-cache") is None:
        return False, f"no apt-cache to find {package}"
    done = subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True)
    version = next((line.split(":", 1)[1].strip() for line in done.stdout.splitlines()
                    if line.startswith("Version:")), None)
    if done.returncode != 0 or version is None:
        return False, f"apt does not know {package}"
    return True, f"{package} {version} can be fetched (apt-get download)"


def _checked(command: list[str], cwd: str, what: str) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolError(f"{what}: {e}", hint=_INSTALL) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolError(f"{what}: {last}", hint=_INSTALL)
