"""libvirt (`uniforge run --via libvirt`): the domain the build writes (packaging/libvirt.py) defined and started
through a real libvirtd (qemu:///system, TCG domains), the image or the disk copied into libvirt's storage pool
first, the console read from the log libvirt keeps of it, the domain undefined and the copy removed afterwards.

The app ends the machine with the exit device, which stops the domain; libvirt reports that it stopped, not the
app's exit status, so the domain also gets the target's status channel (as `uniforge run` gives QEMU) written to a
file beside the image: its last byte is the app's exit status (a crash or a timeout as with QEMU)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import BinaryIO, TextIO

from .. import packaging
from ..building.targets import Target
from ..core.errors import RunError, RunStatus
from ..packaging import libvirt as domains
from ..running.console import INPUT_WANTED, Console, SymbolizeFn
from .guest import Guest
from .run import STATUS_CHARDEV, BootControl, Ending, Input, RunResult, kernel_cmdline
from .way import BootRequest, Support, Way

URI = "qemu:///system"
_POLL = 0.1
_VIRSH_TIMEOUT = 120


class LibvirtBoot(Way):
    runner = "libvirt"

    def __init__(self, target: Target, *, firmware: str | None = None, machine: str | None = None):
        super().__init__(target)
        domains.check(target)
        self.firmware = firmware or "bios"
        if self.firmware not in ("bios", "uefi"):
            raise RunError(f"libvirt boots disks with firmware bios or uefi, not '{self.firmware}'")
        self.machine = machine

    def host_support(self) -> Support:
        if not shutil.which("virsh"):
            return Support(False, "virsh is not installed: install Debian's libvirt-clients and "
                                  "libvirt-daemon-system")
        proc = _virsh("version", check=False)
        if proc.returncode != 0:
            return Support(False, f"libvirtd does not answer at {URI}: {_complaint(proc)}")
        return Support(True, f"libvirt at {URI}")

    def check(self, request: BootRequest) -> None:
        if request.network.mode != "none" or request.disks or request.extra_qemu_args:
            raise RunError("--via libvirt boots the domain the build writes: no -p, --net, --disk",
                           hint="run without --via libvirt for those")

    def boot(self, image: Path, request: BootRequest = BootRequest(), *, timeout: float | None = None,
             console: TextIO | BinaryIO | None = None, symbolizer: SymbolizeFn | None = None,
             stdin: Input | None = None) -> Guest:
        self.check(request)
        supported, why = self.host_support()
        if not supported:
            raise RunError(why, hint="scripts/install-host-deps installs libvirt; start it with libvirtd -d")
        if not image.is_file():
            raise RunError(f"{image}: no such file")
        # Unique on the host, and naming the process that owns it (its pid): concurrent runs never share a domain,
        # and one left by a process that was killed says whose it was.
        name = f"uniforge-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        pool = domains.IMAGES / name
        log = domains.LOGS / f"{name}.console.log"
        status_file = pool / "status"
        xml = domains.domain(self.target, image.name, memory=self.memory(request),
                             disk_format=packaging.disk_format(image),
                             cmdline=kernel_cmdline(request.cmdline, request.args), images=pool, name=name,
                             console_log=log, firmware=self.firmware, machine=self.machine,
                             status_channel=(STATUS_CHARDEV, status_file))
        status = bytearray()

        def run_domain(shown: Console, stop: threading.Event) -> tuple[bool, float]:
            """Defines and starts the domain, streams its console until it stops, and leaves nothing behind:
            (whether it stopped by itself, seconds from its start)."""
            started = time.monotonic()
            try:
                pool.mkdir(parents=True)
                pool.chmod(0o755)
                shutil.copyfile(image, pool / image.name)
                # QEMU runs as libvirt's user, which may write this file only: made here, empty.
                status_file.touch()
                status_file.chmod(0o666)
                with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
                    f.write(xml)
                    f.flush()
                    _virsh("define", f.name)
                _virsh("start", name)
                stopped = self._follow(name, log, shown, timeout, stop)
                status.extend(status_file.read_bytes())
                return stopped, time.monotonic() - started
            finally:
                _virsh("destroy", name, check=False)
                _virsh("undefine", name, "--nvram", check=False)
                shutil.rmtree(pool, ignore_errors=True)
                log.unlink(missing_ok=True)

        async def boot(shown: Console, control: BootControl) -> RunResult:
            control.running(None, None)
            stop = threading.Event()
            domain = asyncio.ensure_future(asyncio.to_thread(run_domain, shown, stop))
            asked = asyncio.ensure_future(control.stop.wait())
            try:
                await asyncio.wait({domain, asked}, return_when=asyncio.FIRST_COMPLETED)
                if asked.done():
                    stop.set()
                finished, wall = await domain
            finally:
                asked.cancel()
            shown.close()
            code: int       # the app's own status, or one of those the runner reserves
            if stop.is_set():
                ending, code, message = Ending.STOPPED, RunStatus.INTERRUPTED, "guest stopped by its caller"
            elif shown.crash:
                ending, code, message = Ending.CRASHED, RunStatus.CRASHED, f"guest crashed: {shown.crash}"
            elif not finished:
                ending, code = Ending.TIMED_OUT, RunStatus.TIMED_OUT
                message = f"guest timed out after {timeout:g} s"
            elif status.removeprefix(INPUT_WANTED):
                ending, code = Ending.EXITED, status[-1]
                message = f"guest exited with status {code}"
            else:
                ending, code = Ending.POWEROFF, RunStatus.NO_STATUS
                message = "the domain stopped without the guest's exit status on its status channel"
            return RunResult(ending, code, message, shown.text, shown.output, "", wall)

        return Guest(boot, console=console, symbolizer=symbolizer).start()

    @staticmethod
    def _follow(name: str, log: Path, out: Console, timeout: float | None, stop: threading.Event) -> bool:
        """Streams the console log until the domain stops (True), or `timeout` passes or `stop` is set (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        shown = 0
        while True:
            running = _virsh("domstate", name, check=False).stdout.strip() not in ("shut off", "crashed")
            if log.exists():
                data = log.read_bytes()
                out.feed(data[shown:])
                shown = len(data)
            if not running:
                return True
            if stop.wait(_POLL) or (deadline is not None and time.monotonic() > deadline):
                return False


def _virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True, timeout=_VIRSH_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RunError("virsh is not installed: install Debian's libvirt-clients") from None
    if check and proc.returncode != 0:
        raise RunError(f"virsh {args[0]} failed: {_complaint(proc)}")
    return proc


def _complaint(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stderr or proc.stdout).split()) or f"exit status {proc.returncode}"
