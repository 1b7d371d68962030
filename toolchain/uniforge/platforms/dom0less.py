"""The ARM board device tree with a dom0less domU in it, for the Xen rig (xen.py): QEMU dumps its virt board's
DTB, dtc turns it into source, the domU's /chosen nodes (deploy.dom0less_fragment, the same text `uniforge build`
writes for deployments) are appended, and dtc compiles it back. Device-tree source merges a second `/ { ... }`
block into the first, so no parsing is needed."""
import shutil
import subprocess
from pathlib import Path

from ..building.deploy import dom0less_fragment
from ..building.targets import Target, Xen
from ..core.errors import RunError, ToolError


def board_dtb(target: Target, memory_mib: int, work: Path) -> Path:
    """The DTB QEMU builds for the target's board (-machine ...,dumpdtb=FILE makes QEMU write it and exit)."""
    out = work / "board.dtb"
    q = target.qemu
    _run([q.binary, "-nodefaults", "-display", "none", "-machine", f"{q.machine},dumpdtb={out}", "-cpu", q.cpu,
          "-m", f"{memory_mib}M"], "QEMU cannot dump the board's device tree")
    return out


def domu_dtb(board: Path, out: Path, *, xen: Xen, kernel_size: int, guest_cmdline: str, memory_mib: int) -> Path:
    """`board` plus Xen's command line and one domU booted from the kernel module at the [xen] load address."""
    dtc = shutil.which("dtc")
    if dtc is None:
        raise ToolError("the Xen ARM rig needs dtc (the device-tree compiler) to add the domU to the board's DTB",
                        hint="apt-get install device-tree-compiler (scripts/install-host-deps does)")
    source = _run([dtc, "-q", "-I", "dtb", "-O", "dts", str(board)], "dtc cannot read the board's DTB")
    source += dom0less_fragment(app="guest", target="rig", kernel="the image", xen=xen, kernel_size=kernel_size,
                                memory_mib=memory_mib, cmdline=guest_cmdline, xen_bootargs=xen.args)
    src = out.with_suffix(".dts")
    src.write_text(source)
    _run([dtc, "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(src)], "dtc cannot compile the rig's DTB")
    return out


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RunError(f"{what}: {e}") from None
    if done.returncode != 0:
        raise RunError(f"{what}: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return done.stdout
