"""Plain QEMU (runner "qemu"): the image is QEMU's kernel (`-kernel`: PVH ELF, ARM ELF or zImage), on the machine,
accelerator and CPU of the target's [qemu] table, with the guest's NIC and disks from `uniforge run`'s flags."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

from ..building.targets import Target
from ..core.errors import RunError
from ..running.devices import NO_NETWORK, Disk, Network, check_tap, qemu_options
from .floor import Variant
from .run import STATUS_CHARDEV, Ending, kernel_cmdline
from .way import BootRequest, QemuProcessWay, Support

_PROBE_TIMEOUT = 10.0


def base_command(target: Target, memory: str, *, machine: str | None = None,
                 args: Sequence[str] | None = None) -> list[str]:
    """QEMU as the target's [qemu] table says (or on `machine`, with `args` instead of its own), `memory` of RAM,
    the serial console on stdout, nothing to boot yet; without the QMP control options that vm.QemuVM adds, so it
    also serves plain timing runs."""
    q = target.qemu
    return [q.binary, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-machine", machine or q.machine, "-accel", q.accel, "-cpu", q.cpu, "-m", memory, "-serial", "stdio",
            *(q.args if args is None else args)]


def build_qemu_command(target: Target, image: Path, *, args: Sequence[str] = (), cmdline: str = "",
                       memory: str | None = None, network: Network = NO_NETWORK, disks: Sequence[Disk] = (),
                       extra_qemu_args: Sequence[str] = (), status_chardev: str | None = None) -> list[str]:
    """The QEMU command line that boots `image` on `target` with the guest's command line, `network` and `disks`
    (the target's NIC and disk device models, devices.py), and the guest's status channel (the target's `status`
    options) on chardev STATUS_CHARDEV: the runner's (vm.QemuVM adds it), or one of backend `status_chardev`
    (e.g. "null" for a plain process, whose exit code then tells what the exit device alone carries)."""
    q = target.qemu
    chardev = ["-chardev", f"{status_chardev},id={STATUS_CHARDEV}"] if status_chardev and q.status else []
    return [*base_command(target, memory or q.memory), *chardev, *q.status, "-kernel", str(image),
            "-append", kernel_cmdline(cmdline, args),
            *qemu_options(q.nic_device, q.disk_device, network, disks), *extra_qemu_args]


class PlainQemu(QemuProcessWay):
    runner = "qemu"
    console_input = True

    def host_needs(self) -> Support:
        if self.target.qemu.accel == "kvm":
            return self._probe_kvm()
        return Support(True, "software emulation (TCG)")

    @property
    def host_check(self) -> tuple[str, str] | None:
        if self.target.qemu.accel == "kvm":
            return "KVM guests", "KVM targets cannot run here; TCG targets (qemu-*) still do"
        return None

    def _probe_kvm(self) -> Support:
        """Boots the null kernel variant that touches memory with SSE and x87 instructions after a UART write: some
        nested KVMs (kvm_pvm) freeze such guests with "KVM internal error. Suberror: 1" though they boot trivial
        ones."""
        if not os.path.exists("/dev/kvm"):
            return Support(False, "/dev/kvm does not exist: no KVM on this host (or the kvm module is not loaded)")
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            return Support(False, "no permission to use /dev/kvm")
        try:
            result = self.run(self.floor(Variant.FPU_PROBE), timeout=_PROBE_TIMEOUT, console=io.StringIO())
        except RunError as e:
            return Support(False, f"QEMU cannot start a KVM guest: {_qemu_complaint(str(e))}")
        if result.ending is Ending.EXITED and result.exit_code == 0:
            return Support(True, "KVM runs guests that use SSE and x87 after a VM exit")
        # The guest printed S before its SSE access and X before its x87 one.
        failed = "an x87" if "X" in result.console else "an SSE" if "S" in result.console else "the first"
        detail = _qemu_complaint(result.qemu_stderr) or result.message
        return Support(False, f"KVM stops guests at {failed} memory access after a VM exit: {detail}")

    def check(self, request: BootRequest) -> None:
        if request.network.mode == "tap":
            check_tap(request.network)

    def command(self, image: Path, request: BootRequest, work: Path) -> list[str]:
        return build_qemu_command(self.target, image, args=request.args, cmdline=request.cmdline,
                                  memory=self.memory(request), network=request.network, disks=request.disks,
                                  extra_qemu_args=request.extra_qemu_args)

    def check_bench(self) -> None:
        pass

    def bench_command(self, kernel: Path, *, cmdline: str = "", memory: str | None = None,
                      extra_qemu_args: Sequence[str] = ()) -> list[str]:
        return build_qemu_command(self.target, kernel, cmdline=cmdline, memory=memory,
                                  extra_qemu_args=extra_qemu_args, status_chardev="null")


def _qemu_complaint(text: str) -> str:
    """The line of QEMU's output (or of a RunError) that says what went wrong."""
    lines = [line.strip(" |") for line in text.splitlines() if line.strip(" |")]
    return next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
