"""libvirt (`uniforge run --via libvirt`): the domain the build writes (packaging/libvirt.py) defined and started
through a real libvirtd (qemu:///system, TCG domains), the image or the disk copied into libvirt's storage pool
first, the console read from the log libvirt keeps of it, the domain undefined and the copy removed afterwards.

The app ends the machine with the exit device, which stops the domain; libvirt reports that it stopped, not the
app's exit status, so the run ends with RunStatus.NO_STATUS (a crash or a timeout as with QEMU)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TextIO

from .. import packaging
from ..building.targets import Target
from ..core.errors import RunError, RunStatus
from ..packaging import libvirt as domains
from ..running.console import Console, SymbolizeFn
from .run import Ending, RunResult, kernel_cmdline
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

    def run(self, image: Path, request: BootRequest = BootRequest(), *, timeout: float | None = None,
            console: TextIO = sys.stdout, symbolizer: SymbolizeFn | None = None) -> RunResult:
        self.check(request)
        supported, why = self.host_support()
        if not supported:
            raise RunError(why, hint="scripts/install-host-deps installs libvirt; start it with libvirtd -d")
        if not image.is_file():
            raise RunError(f"{image}: no such file")
        name = f"uniforge-{uuid.uuid4().hex[:12]}"
        pool = domains.IMAGES / name
        log = domains.LOGS / f"{name}.console.log"
        fmt = packaging.disk_format(image)
        xml = domains.domain(self.target, image.name, memory=self.memory(request), disk_format=fmt,
                             cmdline=kernel_cmdline(request.cmdline, request.args), images=pool, name=name,
                             console_log=log, firmware=self.firmware, machine=self.machine)
        out = Console(console, symbolizer)
        started = time.monotonic()
        try:
            pool.mkdir(parents=True)
            pool.chmod(0o755)
            shutil.copyfile(image, pool / image.name)
            with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
                f.write(xml)
                f.flush()
                _virsh("define", f.name)
            _virsh("start", name)
            finished = self._follow(name, log, out, timeout)
        finally:
            _virsh("destroy", name, check=False)
            _virsh("undefine", name, "--nvram", check=False)
            shutil.rmtree(pool, ignore_errors=True)
            text = log.read_bytes() if log.exists() else b""
            log.unlink(missing_ok=True)
        out.close()
        wall = time.monotonic() - started
        if out.crash:
            ending, status, message = Ending.CRASHED, RunStatus.CRASHED, f"guest crashed: {out.crash}"
        elif not finished:
            ending, status, message = Ending.TIMED_OUT, RunStatus.TIMED_OUT, f"guest timed out after {timeout:g} s"
        else:
            ending, status = Ending.POWEROFF, RunStatus.NO_STATUS
            message = "the domain stopped (libvirt does not pass on the guest's exit status)"
        return RunResult(ending, status, message, out.text or text.decode(errors="replace"), "", wall)

    @staticmethod
    def _follow(name: str, log: Path, out: Console, timeout: float | None) -> bool:
        """Streams the console log until the domain stops (True) or `timeout` passes (False)."""
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
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(_POLL)


def _virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True, timeout=_VIRSH_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RunError("virsh is not installed: install Debian's libvirt-clients") from None
    if check and proc.returncode != 0:
        raise RunError(f"virsh {args[0]} failed: {_complaint(proc)}")
    return proc


def _complaint(proc: subprocess.CompletedProcess) -> str:
    return " ".join((proc.stderr or proc.stdout).split()) or f"exit status {proc.returncode}"
