"""The xl rig: real Xen with a Linux dom0 and the xl toolstack under QEMU (TCG), where an image runs as a domU the
way it runs in production: `xl create` from the config `uniforge build` wrote, its console on xenconsoled, its
network through netback and dom0's bridge, its disks through blkback.

QEMU boots Xen (the target's [xen] package, as in xenrig.py) with Debian's kernel as dom0 and the initramfs of
xendom0.py. The host and dom0 share one folder (9p, `/share` in dom0) that holds everything that crosses: the
image and its config, disks (copied in, and back when the domain is gone: the real bytes), xenconsoled's log of
each guest (read live by the host: the guest's console), and the output of dom0 commands. Commands go to dom0 as
lines on a virtio-serial port ("ID SCRIPT", through a fifo); dom0 writes the output to /share/out/ID and the status to
/share/out/ID.status. dom0's NIC is on QEMU's user network and in dom0's bridge xenbr0, with each domU's vif: a
domU gets DHCP from QEMU's server through the bridge, and `-p` is QEMU's hostfwd to it.

A rig runs domains side by side, but one with a NIC at a time (a lock file: they share a MAC), and can outlive the
process that started it: `start()` leaves it running in a folder, other processes use it from there, `stop()` ends
it. `uniforge run` starts one per run, or with UNIFORGE_XL_RIG=FOLDER keeps one per target running in FOLDER (tests
and benchmarks: one boot a session). The process that keeps rigs in a folder says so (`keep_in`): they end when it
does, however it ends (running/lifetime.py), even if a child of it started them.
"""

from __future__ import annotations

import base64
import fcntl
import itertools
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..building import targets
from ..building.targets import Target
from ..core.errors import RunError
from ..running.devices import Disk, PortForward, escape
from ..running.lifetime import die_with_parent, tie
from . import xendom0, xenrig

RIG_ENV = "UNIFORGE_XL_RIG"
DOM0_MIB = 512
GUESTS_MIB = 1024           # what the rig keeps for domUs beside dom0 and Xen (the target's [xen] reserved_mib)
# Every domU gets this MAC, so QEMU's DHCP server gives it its first address, which `-p` forwards to.
GUEST_MAC = "00:16:3e:75:66:01"
GUEST_IP = "10.0.2.15"
_NETDEV = "n0"
_POLL = 0.05
# Command ids: a process's own count, from a random start (a pid is reused; the share's out/ folder is not emptied
# while a kept rig lives).
_IDS = itertools.count(int.from_bytes(os.urandom(3), "little"))
_ARM_DOM0_ADDR = 0x50000000


@dataclass(frozen=True)
class DomainEnd:
    """How a domain ended, from xl and from its console."""
    console: str                # everything the guest wrote on its console
    xl_output: str              # what `xl create -F` said (its shutdown reason)
    xl_status: int | None       # xl's exit status; None when the run timed out
    shutdown_reason: str | None  # "poweroff", "crash", ... as xl reported it
    boot_to_first_output: float | None  # seconds from `xl create` to the first console byte
    wall_time: float            # seconds from `xl create` to the domain's end


class Rig:
    """A running rig in `folder` (its QEMU's pid, control socket, share, lock). `start` makes one."""

    def __init__(self, folder: Path, target_name: str):
        self.folder = folder
        self.share = folder / "share"
        self.target_name = target_name

    # -- life --------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, target: Target, folder: Path | None = None, timeout: float = 600, outlive: bool = True,
              owner: int | None = None) -> Rig:
        """Boots a rig for `target` in `folder` (a new temporary one by default) and waits until dom0 is ready.
        outlive=False: the kernel ends QEMU if this process dies without stopping it; `owner`: QEMU ends when that
        process does."""
        dom0 = xendom0.dom0(target.xl.apt_arch, target.xl.dom0_kernel)
        xen = xenrig.hypervisor(target)
        folder = Path(folder or tempfile.mkdtemp(prefix="uniforge-xl-rig-"))
        (folder / "share").mkdir(parents=True, exist_ok=True)
        for old in ("out", "console", "run"):
            shutil.rmtree(folder / "share" / old, ignore_errors=True)
        (folder / "target").write_text(target.name)
        for fifo in ("control.in", "control.out"):
            if not (folder / fifo).exists():
                os.mkfifo(folder / fifo)
        command = _qemu_command(target, xen, dom0, folder)
        with (folder / "serial.log").open("wb") as log:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=None if outlive else die_with_parent())
        if outlive and owner is not None:
            tie(proc.pid, owner)
        (folder / "pid").write_text(str(proc.pid))
        rig = cls(folder, target.name)
        deadline = time.monotonic() + timeout
        while not (rig.share / "out" / "ready").exists():
            if proc.poll() is not None:
                raise RunError(f"the xl rig's QEMU ended while dom0 booted ({proc.returncode})",
                               hint=f"its console: {folder / 'serial.log'}\n" + rig.serial_tail())
            if time.monotonic() > deadline:
                rig.stop()
                raise RunError(f"the xl rig's dom0 was not ready after {timeout:g} s", hint=rig.serial_tail())
            time.sleep(0.2)
        return rig

    @staticmethod
    def keep_in(folder: Path) -> None:
        """Rigs kept in `folder` from now on (by this process or its children, through UNIFORGE_XL_RIG) belong to
        this process: they end at `stop_kept`, or when it ends, however it ends."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "owner").write_text(str(os.getpid()))

    @classmethod
    def kept(cls, target: Target, folder: Path) -> Rig:
        """The rig for `target` kept running in `folder`/TARGET: started on first use, left running for the next
        (by this process or another) until `stop_kept`, or the end of the folder's owner (`keep_in`)."""
        folder.mkdir(parents=True, exist_ok=True)
        with _Lock(folder / f"{target.name}.lock"):
            own = folder / target.name
            if _pid_alive(own):
                return cls(own, target.name)
            shutil.rmtree(own, ignore_errors=True)
            return cls.start(target, own, owner=_owner(folder))

    @staticmethod
    def stop_kept(folder: Path) -> None:
        for pid in folder.glob("*/pid"):
            Rig(pid.parent, pid.parent.name).stop()

    def stop(self) -> None:
        """Ends QEMU (dom0 needs no clean shutdown: nothing of it is kept)."""
        try:
            pid = int((self.folder / "pid").read_text())
            os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def alive(self) -> bool:
        return _pid_alive(self.folder)

    def serial_tail(self, lines: int = 30) -> str:
        try:
            text = (self.folder / "serial.log").read_bytes().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def inject_socket(self) -> tuple[Path, Path]:
        """(ours, QEMU's): bind a datagram socket to ours and send Ethernet frames to QEMU's, and they enter dom0's
        bridge as if from a wire."""
        return self.folder / "inject-host.sock", self.folder / "inject.sock"

    def network_lock(self):
        """Held while a domain with a NIC runs: one at a time per rig (they all get GUEST_MAC, and its address)."""
        return _Lock(self.folder / "network.lock")

    # -- commands in dom0 ----------------------------------------------------------------------------------

    def spawn(self, command: str) -> str:
        """Starts `command` (a shell script) in dom0; returns its id for `result`/`wait`."""
        ident = f"c{os.getpid()}-{next(_IDS)}"      # unique among the processes (and Rig objects) sharing the rig
        self._send(f"{ident} {base64.b64encode(command.encode()).decode()}\n")
        return ident

    def result(self, ident: str) -> tuple[int, str] | None:
        """(status, output) once the command has ended, else None."""
        status = self.share / "out" / f"{ident}.status"
        if not status.exists():
            return None
        text = status.read_text().strip()
        if not text:
            return None
        output = (self.share / "out" / ident).read_bytes().decode(errors="replace")
        for done in (status, self.share / "out" / ident):
            done.unlink(missing_ok=True)
        return int(text), output

    def wait(self, ident: str, timeout: float) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while (done := self.result(ident)) is None:
            if time.monotonic() > deadline:
                raise RunError(f"a command in the xl rig's dom0 took over {timeout:g} s")
            if not self.alive():
                raise RunError("the xl rig stopped", hint=self.serial_tail())
            time.sleep(_POLL)
        return done

    def run(self, command: str, timeout: float = 120) -> tuple[int, str]:
        """Runs `command` in dom0; (status, output)."""
        return self.wait(self.spawn(command), timeout)

    def _send(self, line: str) -> None:
        # One write of less than PIPE_BUF bytes: lines from several processes never mix.
        data = line.encode()
        if len(data) > 4096:
            raise RunError("a command for the xl rig's dom0 is longer than 3 KiB")
        try:
            fd = os.open(self.folder / "control.in", os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as e:
            raise RunError(f"cannot reach the xl rig's dom0: {e}") from None

    # -- the host's network ----------------------------------------------------------------------------------

    def forward(self, forwards: Sequence[PortForward]) -> None:
        """Forwards host ports to the domU's address (QEMU's hostfwd_add, through the monitor)."""
        for f in forwards:
            # A run that was killed leaves its forward behind: one domain with a NIC at a time, so it goes.
            self._monitor(f"hostfwd_remove {_NETDEV} {f.protocol}:{f.address}:{f.host_port}")
            said = self._monitor(f"hostfwd_add {_NETDEV} {f.protocol}:{f.address}:{f.host_port}-{GUEST_IP}:"
                                 f"{f.guest_port}")
            if said.strip():
                raise RunError(f"-p {f.host_port}:{f.guest_port}: {said.strip().splitlines()[-1]}",
                               hint="is the host port in use?")

    def unforward(self, forwards: Sequence[PortForward]) -> None:
        for f in forwards:
            self._monitor(f"hostfwd_remove {_NETDEV} {f.protocol}:{f.address}:{f.host_port}")

    def _monitor(self, command: str) -> str:
        """One human-monitor command; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.folder / "monitor.sock"))
            _read_until(s, b"(qemu) ")
            s.sendall(command.encode() + b"\n")
            answer = _read_until(s, b"(qemu) ").decode(errors="replace")
        # The monitor echoes the command (with terminal escapes) before the answer.
        return answer.split("\n", 1)[1].removesuffix("(qemu) ") if "\n" in answer else ""

    # -- domains ---------------------------------------------------------------------------------------------

    def run_domain(self, config: Path, kernel: Path, *, name: str, cmdline: str, disks: Sequence[Disk] = (),
                   network: bool = False, forwards: Sequence[PortForward] = (), timeout: float | None = None,
                   on_console: Callable[[bytes], None] = lambda data: None, overrides: Sequence[str] = (),
                   on_created: Callable[[], None] = lambda: None, files: Sequence[Path] = (),
                   console_input: Iterable[bytes] | None = None) -> DomainEnd:
        """`xl create -F` of `config` (written by `uniforge build`) with `kernel` (and `files`, e.g. a ramdisk the
        config names) beside it, with these name, command line, vif and disks (and `overrides`, more xl settings);
        streams the guest's console to on_console until the domain is gone, then copies the disks back.
        `console_input` (pieces as run.framed_input makes them, read as they come) goes to the console's pty in
        dom0, which xenconsoled reads into the guest's input ring; None: nothing does."""
        if not network:
            return self._run_domain(config, kernel, name, cmdline, disks, network, forwards, timeout, on_console,
                                    overrides, on_created, files, console_input)
        with self.network_lock():
            return self._run_domain(config, kernel, name, cmdline, disks, network, forwards, timeout, on_console,
                                    overrides, on_created, files, console_input)

    def _run_domain(self, config, kernel, name, cmdline, disks, network, forwards, timeout, on_console,
                    more, on_created, files, console_input) -> DomainEnd:
        run = self.share / "run" / name
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir(parents=True)
        for file in (config, kernel, *files):
            shutil.copyfile(file, run / file.name)
        for i, disk in enumerate(disks):
            shutil.copyfile(disk.path, run / f"disk{i}.img")
        log = self.share / "console" / f"guest-{name}.log"
        log.unlink(missing_ok=True)
        overrides = [f"name={_xl_string(name)}", f"cmdline={_xl_string(cmdline)}",
                     "vif=[" + (_xl_string(f"bridge=xenbr0,mac={GUEST_MAC}") if network else "") + "]",
                     "disk=[" + ", ".join(_xl_string(f"format=raw, vdev=xvd{chr(ord('a') + i)}, "
                                                     f"access={'ro' if d.read_only else 'rw'}, "
                                                     "script=uniforge-block, "
                                                     f"target=/share/run/{name}/disk{i}.img")
                                          for i, d in enumerate(disks)) + "]",
                     *targets.load(self.target_name).xl.domain_settings, *more]
        feeder = ""
        if console_input is not None:
            (run / "input").mkdir()
            threading.Thread(target=_write_input, args=(run / "input", console_input), name="uniforge-stdin",
                             daemon=True).start()
            feeder = f"({_FEEDER.format(domain=shlex.quote(name))}) </dev/null >/dev/null 2>&1 &\n"
        command = "".join(f"xl destroy {stale}\n" for stale in self._stale_domains()) + \
                  f"cd /share/run/{name} || exit\n{feeder}exec xl create -F {shlex.quote(config.name)} " + \
                  " ".join(shlex.quote(o) for o in overrides)
        self.forward(forwards)
        try:
            return self._follow(command, name, log, timeout, on_console, on_created, run, disks)
        finally:
            self.unforward(forwards)

    def _stale_domains(self) -> list[str]:
        """Domains whose runner is gone (killed before it could destroy them): named NAME-PID by run_image, with
        PID a process on this host that no longer runs."""
        status, listed = self.run("xl list")
        stale = []
        for line in listed.splitlines()[2:] if status == 0 else []:
            name = line.split()[0] if line.split() else ""
            pid = name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _process_alive(int(pid)):
                stale.append(name)
        return stale

    def _follow(self, command, name, log, timeout, on_console, on_created, run, disks) -> DomainEnd:
        started = time.monotonic()
        ident = self.spawn(command)
        on_created()
        console = bytearray()
        first = None
        offset = 0
        done = None
        try:
            while True:
                done = self.result(ident)
                data = _read_from(log, offset)
                if data:
                    first = first or time.monotonic() - started
                    offset += len(data)
                    console += data
                    on_console(data)
                if done is not None:
                    break
                if timeout is not None and time.monotonic() - started > timeout:
                    break
                if not self.alive():
                    raise RunError("the xl rig stopped while the domain ran", hint=self.serial_tail())
                time.sleep(_POLL)
        finally:
            wall = time.monotonic() - started
            if done is None:
                # Timed out or interrupted: the domain goes, its disks come back as they are.
                self.run(f"xl destroy {name} 2>/dev/null; true", timeout=60)
                self.wait(ident, 60)
            for i, disk in enumerate(disks):
                if not disk.read_only:
                    shutil.copyfile(run / f"disk{i}.img", disk.path)
        tail = _read_from(log, offset)
        if tail:
            console += tail
            on_console(tail)
        output = done[1] if done else ""
        shutil.rmtree(run, ignore_errors=True)
        return DomainEnd(console.decode(errors="replace"), output, done[0] if done else None,
                         _shutdown_reason(output), first, wall)


# dom0's side of the console's input: once xenconsoled has made the domain's pty (its path in xenstore), copies the
# files _write_input makes to it, in order, until the last; gives up when the run's folder is gone (the domain ended).
# xenconsoled keeps the pty raw (no echo, no line editing): the bytes go through as they are.
_FEEDER = """
while [ -d input ] && ! {{ tty=$(xenstore-read "/local/domain/$(xl domid {domain})/console/tty") && [ -n "$tty" ]; }}
do sleep 0.1; done
i=0
while [ -d input ] && {{ [ ! -e input/end ] || [ -e input/$i ]; }}; do
    if [ -e input/$i ]; then cat input/$i; i=$((i + 1)); else sleep 0.1; fi
done >"$tty"
"""


def _write_input(folder: Path, pieces: Iterable[bytes]) -> None:
    """The console's input as files in `folder` for _FEEDER: 0, 1, ... (each written whole before it gets its
    name), then `end`; stops when the folder is gone (the domain ended) or the source fails."""
    try:
        for i, piece in enumerate(pieces):
            part = folder / f".{i}"
            part.write_bytes(piece)
            part.rename(folder / str(i))
        (folder / "end").touch()
    except OSError:
        pass


_REASONS = {0: "poweroff", 1: "reboot", 2: "suspend", 3: "crash", 4: "watchdog", 5: "soft_reset"}


def _process_alive(pid: int) -> bool:
    """Whether pid runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _owner(folder: Path) -> int | None:
    try:
        return int((folder / "owner").read_text())
    except (OSError, ValueError):
        return None


def _pid_alive(folder: Path) -> bool:
    try:
        return _process_alive(int((folder / "pid").read_text()))
    except (OSError, ValueError):
        return False


def _shutdown_reason(xl_output: str) -> str | None:
    """xl -F says "Domain N has shut down, reason code R 0x..." (xl_vmcontrol.c)."""
    for line in xl_output.splitlines():
        if "has shut down, reason code" in line:
            code = line.split("reason code", 1)[1].split()[0]
            return _REASONS.get(int(code), code) if code.isdigit() else code
    return None


def _xl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b""


def _read_until(s: socket.socket, marker: bytes) -> bytes:
    data = b""
    while not data.endswith(marker):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class _Lock:
    def __init__(self, path: Path):
        self._path = path

    def __enter__(self):
        self._file = self._path.open("a")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


def _qemu_command(target: Target, xen: Path, dom0: xendom0.Dom0, folder: Path) -> list[str]:
    """QEMU with Xen, dom0 (kernel, initramfs), and dom0's devices: the NIC, the command port, the share."""
    q = target.qemu
    bus = "pci" if target.xl.bus == "pci" else "device"
    memory = DOM0_MIB + GUESTS_MIB + target.xen.reserved_mib
    xen_args = f"{target.xen.args} dom0_mem={DOM0_MIB}M,max:{DOM0_MIB}M dom0_max_vcpus=1"
    dom0_args = "console=hvc0 quiet"
    command = [q.binary, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
               "-machine", q.machine, "-accel", q.accel, "-cpu", q.cpu, "-smp", "2",
               "-m", f"{memory}M", "-serial", "stdio", "-kernel", str(xen), "-append", xen_args]
    if bus == "pci":
        # Multiboot modules: the kernel with its command line, then the initramfs (commas split modules).
        command += ["-initrd", f"{escape(dom0.kernel)} {dom0_args},{escape(dom0.initrd)}"]
    else:
        # QEMU's guest-loader names dom0's kernel and initramfs to Xen in the device tree; both clear of QEMU's
        # DTB (at 0x48000000).
        command += ["-device", f"guest-loader,addr={_ARM_DOM0_ADDR:#x},kernel={escape(dom0.kernel)},"
                               f"bootargs={escape(dom0_args)}",
                    "-device", f"guest-loader,addr={_ARM_DOM0_ADDR + (16 << 20):#x},initrd={escape(dom0.initrd)}"]
    command += [
        "-netdev", f"user,id={_NETDEV}", "-device", f"virtio-net-{bus},netdev={_NETDEV}",
        # A second NIC on dom0's bridge whose frames come from a datagram socket: tests send raw frames through it
        # to the domUs (Rig.inject_socket); what dom0's bridge floods to it goes to inject-host.sock, if bound.
        "-netdev", f"dgram,id=inject,local.type=unix,local.path={folder / 'inject.sock'},"
                   f"remote.type=unix,remote.path={folder / 'inject-host.sock'}",
        "-device", f"virtio-net-{bus},netdev=inject",
        "-device", f"virtio-serial-{bus}",
        # A pipe chardev (control.in/.out, opened read-write by QEMU): the port stays connected for dom0, and
        # any process may write a command line into control.in.
        "-chardev", f"pipe,id=control,path={folder / 'control'}",
        "-device", "virtserialport,chardev=control,name=uniforge",
        "-fsdev", f"local,id=share,path={folder / 'share'},security_model=none",
        "-device", f"virtio-9p-{bus},fsdev=share,mount_tag=share",
        "-monitor", f"unix:{folder / 'monitor.sock'},server=on,wait=off",
    ]
    return command
