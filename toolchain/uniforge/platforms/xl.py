"""A domU under a Linux dom0 with xl (runner "xen-xl"): the image runs on the xl rig (xlrig.py: real Xen, Debian's
Linux as dom0 with the xl toolstack, under QEMU TCG, made by xendom0.py) the way it runs in production: `xl create`
of the config `uniforge build` wrote beside it, its console from xenconsoled (the host's stdin goes in through the
console's pty in dom0), its NIC on dom0's bridge through netback, its disks through blkback. The target's [xen] table names the hypervisor and its command line, its [xl]
table the rig's dom0.

The rig stays up across boots: `with way:` boots it once and leaving the block stops it; a way not entered uses
the rig kept in UNIFORGE_XL_RIG=FOLDER if that is set (started there by the first run that needs it, for test and
benchmark sessions whose runs are separate processes), else starts one for the run. A rig boots in ~13 s on x86_64
and 20-40 s on ARMv7 under TCG and then holds 1.6 GiB, so `uniforge run` pays that once per run and leaves nothing
behind rather than keeping a rig the user would have to end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import BinaryIO, TextIO

from ..building import image as images
from ..core import sizes
from ..core.errors import BenchError, RunError, RunStatus, TargetError
from ..running.console import Console, SymbolizeFn
from . import xenrig
from .guest import Guest
from .run import BootControl, Ending, Input, RunResult, decode_exit, framed_input, kernel_cmdline
from .way import BootRequest, Support, Way, raw_form
from .xenconsole import XenConsole
from .xlrig import RIG_ENV, DomainEnd, Rig

# xl's shutdown reasons as QMP's, for decode_exit.
_XL_REASONS = {"poweroff": "guest-shutdown", "reboot": "guest-reset"}


class XenXl(Way):
    runner = "xen-xl"
    tables = ("xen", "xl")
    console_input = True        # through the console's pty in dom0 (Rig.run_domain)

    def __init__(self, target):
        super().__init__(target)
        if target.xl.bus not in ("pci", "mmio"):
            raise TargetError(f"{target.path} [xl]: key 'bus' must be pci or mmio")
        self._rig: Rig | None = None

    def __enter__(self) -> XenXl:
        self._rig = Rig.start(self.target, outlive=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._rig is not None:
            self._rig.stop()
            shutil.rmtree(self._rig.folder, ignore_errors=True)
            self._rig = None

    def host_support(self) -> Support:
        binary = self.target.qemu.binary
        if not shutil.which(binary):
            return Support(False, f"{binary} is not installed")
        package = self.target.xen.package
        if xenrig.cached(self.target):
            return Support(True, f"Xen under QEMU (TCG) with a Linux dom0 and xl: {package} fetched")
        ok, why = xenrig.fetchable(self.target)
        return Support(ok, f"Xen under QEMU (TCG) with a Linux dom0 and xl: {why}" if ok else why)

    @property
    def host_check(self) -> tuple[str, str]:
        return ("Xen hypervisors", "scripts/install-host-deps (adds the armhf architecture for the ARM "
                                   "hypervisor and dom0); xen-* targets cannot run until then")

    def check(self, request: BootRequest) -> None:
        if request.network.mode == "tap" or request.network.netns:
            raise RunError(f"--net {'tap' if request.network.mode == 'tap' else '--netns'}: the xl rig's domUs are "
                           "on dom0's bridge, behind QEMU's user network", hint="use -p HOSTPORT:GUESTPORT (or --net user)")
        if request.extra_qemu_args:
            raise RunError(f"{self.target.name}: QEMU runs the rig, not the guest: no extra QEMU arguments")

    def check_bench(self) -> None:
        raise BenchError(f"uniforge bench times QEMU targets; {self.target.name} boots under Xen",
                         hint="bench/xen_domu.py times domUs under xl; bench/xen_boot_time.py, "
                              "dom0 and dom0less boots")

    def boot(self, image: Path, request: BootRequest = BootRequest(), *, timeout: float | None = None,
             console: TextIO | BinaryIO | None = None, symbolizer: SymbolizeFn | None = None,
             stdin: Input | None = None) -> Guest:
        self.check(request)
        # The ELF or its raw form (a zImage) alike: the config is written beside the ELF.
        suffix = images.RAW_FORMS.get(self.target.boot)
        if suffix and image.name.endswith(suffix):
            image = image.with_name(image.name.removesuffix(suffix))
        config = image.with_name(image.name + ".xl.cfg")
        if not config.is_file():
            raise RunError(f"{config} not found: `uniforge build` writes it beside the image")
        name = f"{config.name.split('.')[0]}-{os.getpid()}"      # what a test looks the domain up by
        overrides = [f"memory={sizes.mib(request.memory)}"] if request.memory else []
        rigs: list[Rig] = []        # the rig the domain runs on, once known (to destroy it early)

        def run_domain(on_console) -> DomainEnd:
            def on(rig: Rig) -> DomainEnd:
                rigs.append(rig)
                return rig.run_domain(config, raw_form(image, self.target.boot, image.parent), name=name,
                                      cmdline=kernel_cmdline(request.cmdline, request.args), disks=request.disks,
                                      network=request.network.mode != "none", forwards=request.network.forwards,
                                      timeout=timeout, on_console=on_console, overrides=overrides,
                                      console_input=framed_input(b"" if stdin is None else stdin))
            if self._rig is not None:
                return on(self._rig)
            if folder := os.environ.get(RIG_ENV):
                return on(Rig.kept(self.target, Path(folder)))
            with XenXl(self.target) as way:
                return on(way._rig)

        async def boot(shown: Console, control: BootControl) -> RunResult:
            # The guest's console carries its status line, as on Xen's own console (xenconsole.py).
            filtered = XenConsole(shown.feed, lambda: None)
            control.running(None, None)
            domain = asyncio.ensure_future(asyncio.to_thread(run_domain, filtered.feed))
            stop = asyncio.ensure_future(control.stop.wait())
            try:
                await asyncio.wait({domain, stop}, return_when=asyncio.FIRST_COMPLETED)
                stopped = stop.done() and not domain.done()
                if stopped and rigs:
                    await asyncio.to_thread(rigs[0].run, f"xl destroy {name}")
                end = await domain
            finally:
                stop.cancel()
            filtered.close()
            shown.close()
            if stopped:
                return RunResult(Ending.STOPPED, RunStatus.INTERRUPTED, "guest stopped by its caller", shown.text,
                                 shown.output, end.xl_output, end.wall_time)
            if filtered.status is None and end.shutdown_reason == "crash":
                filtered.ending = "xl: the domain crashed"
            if end.xl_status not in (None, 0) and end.shutdown_reason is None and filtered.status is None:
                raise RunError("xl could not run the domain", hint="\n".join(end.xl_output.strip().splitlines()[-5:]))
            outcome = decode_exit(self.target.exit, 0, timeout=timeout if end.xl_status is None else None,
                                  crash=shown.crash, reported_status=filtered.status,
                                  hypervisor_ending=filtered.ending,
                                  shutdown_reason=_XL_REASONS.get(end.shutdown_reason or ""))
            return RunResult(outcome.ending, outcome.exit_code, outcome.message, shown.text, shown.output,
                             end.xl_output, end.wall_time)

        return Guest(boot, console=console, symbolizer=symbolizer).start()

