"""The test rig for Xen targets: the real Xen hypervisor (Debian's package, fetched into the cache on first use)
booted by QEMU (TCG), with the image on it as dom0 or as a dom0less domU.

x86_64: QEMU's multiboot loader starts Xen (the raw ELF32) with the image as its first module, which Xen boots as
a PVH dom0. ARMv7: QEMU's virt machine with EL2 starts Xen (a zImage); the image is a `multiboot,kernel` module
named by a `xen,domain` node that we add to the board's device tree (dom0less), or QEMU's guest-loader hands it to
Xen as dom0 (whose RAM Xen maps 1:1 wherever it finds room: that image is position independent). Xen does not end
QEMU for a guest that is not dom0, nor for a dom0 that powers off, so the runner ends QEMU once the guest has
reported its status on the console (xenconsole.py).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import cache
from .dom0less import board_dtb, domu_dtb
from .errors import RunError, ToolError
from .targets import Target

_INSTALL = "scripts/install-host-deps sets apt up for it (armhf packages need `dpkg --add-architecture armhf`)"
# Xen's command line: its console on the UART QEMU streams, and every guest's console_io text let through.
_X86_XEN_ARGS = "console=com1 com1=115200,8n1 dom0=pvh loglvl=all guest_loglvl=all"
_ARM_XEN_ARGS = "console=dtuart loglvl=all guest_loglvl=all"
_ARM_MACHINE = "virt,virtualization=on,gic-version=2"
_ARM_RAM_MIB = 1024  # at least: QEMU's DTB then lies at 0x48000000, below the image
_ARM_XEN_RAM_MIB = 512  # what Xen and the rest of the board's RAM keep beside the guest's memory
# Where the ARM rig puts the image: clear of QEMU's DTB, which lies at 0x48000000 with 1 GiB of RAM.
_ARM_IMAGE_ADDR = 0x50000000
_X86_XEN_RAM_MIB = 448  # what Xen keeps for itself on x86_64, beside the guest's memory


def hypervisor(target: Target) -> Path:
    """The target's Xen hypervisor binary, from its Debian package (apt-get download, dpkg -x), cached."""
    package, member = target.xen["package"], target.xen["file"]

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
    path = cache.cache_root() / "xen" / cache.digest(target.xen["package"], target.xen["file"])[:32]
    found = list(path.glob("*")) if path.is_dir() else []
    return found[0] if found else None


def fetchable(target: Target) -> tuple[bool, str]:
    """Whether apt knows the target's hypervisor package (doctor: no download)."""
    package = target.xen["package"]
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


def qemu_command(target: Target, image: Path, guest_cmdline: str, memory_mib: int, work: Path,
                 extra_qemu_args: Sequence[str] = ()) -> list[str]:
    """QEMU booting Xen with `image` on it as the target's [xen] domain says; `work` holds generated files."""
    xen = hypervisor(target)
    q = target.qemu
    base = [q["binary"], "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-accel", q["accel"], "-cpu", q["cpu"], "-serial", "stdio", *q.get("args", [])]
    domain = target.xen["domain"]
    if target.arch == "x86_64" and domain == "dom0":
        # The module's command line is "file args": Xen drops the first word, so the file is named by a link
        # without spaces. -initrd splits modules at commas.
        kernel = work / "kernel"
        kernel.symlink_to(image.resolve())
        module = _escape(f"{kernel} {guest_cmdline}")
        return [*base, "-machine", q["machine"], "-m", f"{memory_mib + _X86_XEN_RAM_MIB}M",
                "-kernel", str(xen), "-append", f"{_X86_XEN_ARGS} dom0_mem={memory_mib}M",
                "-initrd", module, *extra_qemu_args]
    if target.arch == "armv7":
        image = _zimage(image)
        board_mib = max(_ARM_RAM_MIB, memory_mib + _ARM_XEN_RAM_MIB)
    if target.arch == "armv7" and domain == "dom0":
        # QEMU's guest-loader names the image to Xen as dom0's kernel, with its command line.
        loader = f"guest-loader,addr={_ARM_IMAGE_ADDR:#x},kernel={_escape(image)},bootargs={_escape(guest_cmdline)}"
        return [*base, "-machine", _ARM_MACHINE, "-m", f"{board_mib}M", "-kernel", str(xen),
                "-append", f"{_ARM_XEN_ARGS} dom0_mem={memory_mib}M", "-device", loader, *extra_qemu_args]
    if target.arch == "armv7" and domain == "domu":
        dtb = domu_dtb(board_dtb(q["binary"], _ARM_MACHINE, q["cpu"], board_mib, work), work / "xen.dtb",
                       xen_bootargs=_ARM_XEN_ARGS, kernel_addr=_ARM_IMAGE_ADDR, kernel_size=image.stat().st_size,
                       guest_cmdline=guest_cmdline, memory_mib=memory_mib)
        return [*base, "-machine", _ARM_MACHINE, "-m", f"{board_mib}M", "-dtb", str(dtb), "-kernel", str(xen),
                "-device", f"loader,file={_escape(image)},addr={_ARM_IMAGE_ADDR:#x},force-raw=on", *extra_qemu_args]
    raise RunError(f"target {target.name}: no Xen rig for {target.arch} as {domain}")


def kernel_file(target: Target, image: Path) -> Path:
    """What Xen loads for `image`: the ELF on x86_64, the zImage written beside it on ARM."""
    return _zimage(image) if target.arch == "armv7" else image


def _zimage(image: Path) -> Path:
    """Xen on ARM loads the zImage form: the file itself, or the one `uniforge build` wrote beside the ELF."""
    if image.suffix == ".zImage":
        return image
    raw = image.with_name(image.name + ".zImage")
    if not raw.is_file():
        raise RunError(f"{raw} not found: Xen on ARM boots the zImage form of {image.name}",
                       hint="`uniforge build` writes it beside the image")
    return raw


def _escape(value: object) -> str:
    """A value inside a QEMU option list: commas doubled."""
    return str(value).replace(",", ",,")
