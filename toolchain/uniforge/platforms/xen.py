"""Xen under QEMU (runners "xen-dom0" and "xen-dom0less"): the real Xen hypervisor (Debian's, xenrig.py) booted by
QEMU (TCG) on the machine of the target's [qemu] table, with the image on it as dom0 or as a dom0less domU; where
and how is the target's [xen] table.

Xen owns the serial console: the guest's console comes through it and the guest reports its status there
(xenconsole.py), since Xen's shutdown carries a reason, not a number. Xen does not end QEMU for a domU, nor for a
dom0 that powers off, so the runner ends QEMU once the guest has reported its status.
"""

from __future__ import annotations

from pathlib import Path

from ..core import sizes
from ..core.errors import BenchError, RunError, TargetError
from ..running.devices import escape
from . import xenrig
from .dom0less import board_dtb, domu_dtb
from .qemu import base_command
from .run import kernel_cmdline
from .way import BootRequest, QemuProcessWay, Support, raw_form
from .xenconsole import XenConsole


class XenUnderQemu(QemuProcessWay):
    """What both Xen ways share: the hypervisor, the board's RAM, the console, and what the rig cannot do yet."""

    tables = ("xen",)
    hypervisor_console = XenConsole

    def host_needs(self) -> Support:
        package = self.target.xen.package
        if xenrig.cached(self.target):
            return Support(True, f"Xen under QEMU (TCG): {package} fetched")
        ok, why = xenrig.fetchable(self.target)
        return Support(ok, f"Xen under QEMU (TCG): {why}" if ok else why)

    @property
    def host_check(self) -> tuple[str, str]:
        return ("Xen hypervisors", "scripts/install-host-deps (adds the armhf architecture for the ARM "
                                   "hypervisor); xen-* targets cannot run until then")

    def check(self, request: BootRequest) -> None:
        if request.network.mode != "none" or request.disks:
            raise RunError(f"{self.target.name} has no network or disk devices (no dom0 toolstack, no backends)",
                           hint="run without -p/--net/--disk, or pick xen-x86_64/xen-armv7 (domUs under xl)")

    def check_bench(self) -> None:
        raise BenchError(f"uniforge bench times QEMU targets; {self.target.name} boots under Xen",
                         hint="bench/xen_boot_time.py times hello and the floor under Xen as dom0 or dom0less; "
                              "bench/xen_domu.py, domUs under xl")

    def guest_mib(self, request: BootRequest) -> int:
        return sizes.mib(self.memory(request))

    def board_mib(self, request: BootRequest) -> int:
        """The board's RAM: the guest's and what Xen keeps beside it."""
        xen = self.target.xen
        return max(xen.min_board_mib, self.guest_mib(request) + xen.reserved_mib)

    def kernel(self, image: Path, work: Path) -> Path:
        """The form of the image Xen loads: the raw one where the boot protocol has one (a zImage on ARM)."""
        return raw_form(image, self.target.boot, work)


class XenDom0(XenUnderQemu):
    """The image as Xen's dom0 (the hardware domain), handed to Xen by QEMU as the [xen] dom0_loader says."""

    runner = "xen-dom0"

    def __init__(self, target):
        super().__init__(target)
        if target.xen.dom0_loader not in _DOM0_LOADERS:
            raise TargetError(f"{target.path} [xen]: key 'dom0_loader' must be one of {', '.join(_DOM0_LOADERS)}")

    def command(self, image: Path, request: BootRequest, work: Path) -> list[str]:
        xen = self.target.xen
        loader = _DOM0_LOADERS[xen.dom0_loader]
        return [*base_command(self.target, f"{self.board_mib(request)}M"),
                "-kernel", str(xenrig.hypervisor(self.target)),
                "-append", f"{xen.args} dom0_mem={self.guest_mib(request)}M",
                *loader(self, self.kernel(image, work), kernel_cmdline(request.cmdline, request.args), work),
                *request.extra_qemu_args]

    def _multiboot(self, kernel: Path, cmdline: str, work: Path) -> list[str]:
        """QEMU's multiboot loader starts Xen with the image as its first module. The module's command line is
        "file args": Xen drops the first word, so the file is named by a link without spaces; -initrd splits
        modules at commas."""
        link = work / "kernel"
        link.symlink_to(kernel.resolve())
        return ["-initrd", escape(f"{link} {cmdline}")]

    def _guest_loader(self, kernel: Path, cmdline: str, work: Path) -> list[str]:
        """QEMU's guest-loader device names the image to Xen as dom0's kernel, with its command line; Xen maps
        dom0's RAM wherever it finds room (the image must be position independent)."""
        return ["-device", f"guest-loader,addr={self.target.xen.load_address:#x},kernel={escape(kernel)},"
                           f"bootargs={escape(cmdline)}"]


_DOM0_LOADERS = {"multiboot": XenDom0._multiboot, "guest-loader": XenDom0._guest_loader}


class XenDom0less(XenUnderQemu):
    """The image as a dom0less domU: a `multiboot,kernel` module at the [xen] load address, named by a `xen,domain`
    node added to the board's device tree (the same nodes `uniforge build` writes as dom0less.dtsi)."""

    runner = "xen-dom0less"

    def command(self, image: Path, request: BootRequest, work: Path) -> list[str]:
        xen = self.target.xen
        kernel = self.kernel(image, work)
        board = self.board_mib(request)
        dtb = domu_dtb(board_dtb(self.target, board, work), work / "xen.dtb", xen=xen,
                       kernel_size=kernel.stat().st_size, guest_cmdline=kernel_cmdline(request.cmdline, request.args),
                       memory_mib=self.guest_mib(request))
        return [*base_command(self.target, f"{board}M"), "-dtb", str(dtb),
                "-kernel", str(xenrig.hypervisor(self.target)),
                "-device", f"loader,file={escape(kernel)},addr={xen.load_address:#x},force-raw=on",
                *request.extra_qemu_args]
