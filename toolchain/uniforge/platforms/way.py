"""A way to boot an image: what every platform answers, one class per way (plain QEMU, Xen under QEMU as dom0 or as
a dom0less domU), chosen by the target file's `runner` key (platforms.way_for). Everything the driver knows about a
platform is the target's data and its way's class: nothing else tests a platform or an arch.

A way (Way) answers
- whether this host can boot the target's images, and why not (`host_support`; `host_check` names the check
  `uniforge doctor` reports it under);
- `boot`: boot an image in the background and hand back the running guest (guest.Guest: its console as it
  comes, its ports, QMP, its end, its exit status decoded; leaving its `with` block ends it); `run` boots and
  waits for the end (`check` refuses first what the way cannot give the guest);
- how `uniforge bench` boots it (`check_bench`, `bench_command`; `floor`, and the target's [bench] table names its
  floor and peer).
The deployment files a target's images need are build outputs: the target's `deploy` key names them and
building/deploy.py writes them; a way boots what the build wrote.

The ways so far run one QEMU process per boot (QemuProcessWay): they say its command line (`command`), whether
a hypervisor's console carries the guest's (`hypervisor_console`), and the target's `exit` says how the status
travels (run.decode_exit). Every way's `boot` hands guest.Guest a coroutine that runs the guest to its end and
tells its run.BootControl when the guest runs (and how to reach QMP, if a QEMU is the machine): Guest gives every
way the same console, waits, stop and cleanup. Besides the target's runner, what is booted chooses the way
(platforms.way_to_boot):
- a disk image (`uniforge build -f raw|qcow2|vmdk|vhdx|iso`) boots through firmware (firmware.py: SeaBIOS or OVMF
  and GRUB, U-Boot on ARM), a QemuProcessWay whose command boots the disk with the firmware the target's
  [firmware] table names;
- `--via libvirt` boots through libvirtd (libvirt.py: `virsh define` + `start` of the domain, the console from the
  log libvirt keeps of it).
A Xen domU under a Linux dom0 with xl (xl.py) is a rig that stays up across boots, so the way is a context manager
(`with way:` boots QEMU, Xen and dom0 once; leaving it stops them).
"""

from __future__ import annotations

import abc
import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, ClassVar, NamedTuple, TextIO

from ..building import image as images
from ..building.targets import Target
from ..core import sizes
from ..core.errors import BenchError, RunError, TargetError
from ..running.console import Console, SymbolizeFn
from ..running.devices import NO_NETWORK, Disk, Network
from .floor import Variant, build_floor
from .guest import Guest
from .run import BootControl, HypervisorConsoleFactory, Input, RunResult, run_qemu


class Support(NamedTuple):
    ok: bool
    why: str                        # what runs it, or what is missing


@dataclasses.dataclass(frozen=True)
class BootRequest:
    """What one boot asks for besides the image: `uniforge run`'s arguments and flags."""

    args: tuple[str, ...] = ()      # the guest's argv[1:]
    cmdline: str = ""               # library-OS options and environment
    memory: str | None = None       # the guest's RAM (e.g. 64M); None: the target's
    network: Network = NO_NETWORK
    disks: tuple[Disk, ...] = ()
    extra_qemu_args: tuple[str, ...] = ()   # last on QEMU's command line, so they can override the target's

    def __post_init__(self):
        if self.memory is not None:
            sizes.check(self.memory, "--mem", RunError)


class Way(abc.ABC):
    runner: ClassVar[str]           # the target file's `runner` value that chooses this class
    tables: ClassVar[tuple[str, ...]] = ()      # the target's optional tables it reads (e.g. "xen")
    # Whether the guest's console is a line of its own (a serial line, a Xen PV console): `run` passes its `stdin`
    # in (else the guest reads end of file) and the guest's bytes come out as they are.
    console_input: ClassVar[bool] = False
    # Whether the input waits until the app asks for it (the firmware and boot loader read the serial line first).
    input_when_wanted: ClassVar[bool] = False

    def __init__(self, target: Target):
        self.target = target
        for table in {*self.tables, *_runner_tables()}:
            if (getattr(target, table) is not None) != (table in self.tables):
                needs = "needs" if table in self.tables else "does not read"
                raise TargetError(f"{target.path}: runner '{self.runner}' {needs} a [{table}] table")

    def __enter__(self) -> Way:
        """Brings up what stays up across boots (nothing, for the ways that start everything per boot)."""
        return self

    def __exit__(self, *exc) -> None:
        pass

    # -- this host

    @abc.abstractmethod
    def host_support(self) -> Support:
        """Whether this host can boot the target's images, and why not."""

    @property
    def host_check(self) -> tuple[str, str] | None:
        """(name, fix) of the `uniforge doctor` check that reports `host_support` for this way's targets, when it
        needs more than QEMU (which doctor checks on its own)."""
        return None

    # -- one boot

    def memory(self, request: BootRequest) -> str:
        return request.memory or self.target.qemu.memory

    def check(self, request: BootRequest) -> None:
        """RunError, before anything starts, for what this way cannot give the guest."""

    @abc.abstractmethod
    def boot(self, image: Path, request: BootRequest = BootRequest(), *, timeout: float | None = None,
             console: TextIO | BinaryIO | None = None, symbolizer: SymbolizeFn | None = None,
             stdin: Input | None = None) -> Guest:
        """Boots `image` and returns once the guest runs, in the background (guest.Guest, a context manager whose
        exit ends it): its console streams to `console` (bytes as they come to a binary stream, or a text one's
        buffer; else decoded) and into Guest.console; after `timeout` seconds from its start the guest is stopped
        (ending TIMED_OUT); `symbolizer(address, is_return_address)` annotates crash backtraces; `stdin` is the
        guest's console input where the way can pass it (console_input; None: end of input at once). Raises
        RunError if the guest cannot be started; one line when it is about the network or the disks."""

    def run(self, image: Path, request: BootRequest = BootRequest(), *, timeout: float | None = None,
            console: TextIO | BinaryIO = sys.stdout, symbolizer: SymbolizeFn | None = None,
            stdin: Input | None = None) -> RunResult:
        """Boots `image` (`boot`) and waits for the guest to end."""
        with self.boot(image, request, timeout=timeout, console=console, symbolizer=symbolizer,
                       stdin=stdin) as guest:
            return guest.wait()

    # -- benchmarks

    def check_bench(self) -> None:
        """BenchError if `uniforge bench` cannot time this way's boots (plain processes, from spawn to exit)."""
        raise BenchError(f"uniforge bench times plain QEMU boots; {self.target.name} boots with runner "
                         f"'{self.runner}'")

    def bench_command(self, kernel: Path, *, cmdline: str = "", memory: str | None = None,
                      extra_qemu_args: Sequence[str] = ()) -> list[str]:
        """A plain QEMU process that boots `kernel` and ends with the guest: its exit status is QEMU's (decoded by
        run.decode_exit with the target's `exit`), its console on stdout."""
        self.check_bench()
        raise NotImplementedError(f"{type(self).__name__} can be timed but has no bench command")

    def floor(self, variant: Variant = Variant.EXIT, *, status: int = 0) -> Path:
        """The null kernel this target is measured against (the target's bench.floor)."""
        return build_floor(self.target, variant, status=status)


class QemuProcessWay(Way):
    """A way that boots each image in a QEMU process of its own, under QMP (running/vm.py)."""

    # Makes a filter for QEMU's serial output when a hypervisor's console carries the guest's.
    hypervisor_console: ClassVar[HypervisorConsoleFactory | None] = None

    def host_support(self) -> Support:
        binary = self.target.qemu.binary
        if not shutil.which(binary):
            return Support(False, f"{binary} is not installed")
        return self.host_needs()

    @abc.abstractmethod
    def host_needs(self) -> Support:
        """Whether this host has what the way needs besides the target's QEMU."""

    @abc.abstractmethod
    def command(self, image: Path, request: BootRequest, work: Path) -> list[str]:
        """The QEMU command line that boots `image`: serial console on stdout, no QMP (vm.QemuVM adds it).
        `work` is a folder for generated files, removed after the run."""

    def boot(self, image: Path, request: BootRequest = BootRequest(), *, timeout: float | None = None,
             console: TextIO | BinaryIO | None = None, symbolizer: SymbolizeFn | None = None,
             stdin: Input | None = None) -> Guest:
        self.check(request)
        guest_input = (b"" if stdin is None else stdin) if self.console_input else None
        work = tempfile.TemporaryDirectory(prefix="uniforge-run-")
        try:
            command = self.command(image, request, Path(work.name))
        except BaseException:
            work.cleanup()
            raise

        async def boot(shown: Console, control: BootControl) -> RunResult:
            try:
                return await run_qemu(command, self.target.exit, timeout, shown, request.network,
                                      self.hypervisor_console, control, guest_input, self.input_when_wanted)
            finally:
                work.cleanup()

        return Guest(boot, console=console, symbolizer=symbolizer).start()


def _runner_tables() -> list[str]:
    """The target's optional tables that belong to one runner ([firmware] is read whatever the runner: a disk
    image boots through firmware)."""
    return [f.name for f in dataclasses.fields(Target) if f.default is None and f.name != "firmware"]


def raw_form(image: Path, protocol: str, work: Path) -> Path:
    """The flat form of an image, for loaders that take one (a zImage, for ARM's boot protocol): the image itself if
    the protocol has none or it is that form already, else the one `uniforge build` wrote beside it, else one made
    in `work` (e.g. from a floor kernel)."""
    suffix = images.RAW_FORMS.get(protocol)
    if suffix is None or image.name.endswith(suffix):
        return image
    beside = image.with_name(image.name + suffix)
    if beside.is_file():
        return beside
    return images.package(image, protocol, work / (image.name + suffix))
