"""Runs one QEMU process to the guest's end and says what the guest exited with: the part of booting that every way
to boot shares (platforms/way.py). `uniforge run`, the tests and the benchmarks come here through a target's way.

QEMU starts paused with QMP on an inherited socket (vm.py), the serial console streams to the caller as it comes
and the caller's input goes in (console.py), and the way QEMU ended (with what the guest said on its status channel)
is turned into the guest's own exit status in one place, `decode_exit`.
"""

from __future__ import annotations

import asyncio
import enum
import os
import shlex
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from ..core.errors import RunError, RunStatus
from ..running.backlog import widen_backlogs
from ..running.console import END_OF_INPUT, INPUT_WANTED, START_OF_INPUT, Console, encode_input
from ..running.devices import Network, explain_qemu_error
from ..running.vm import LaunchError, QemuVM, describe_returncode

# The QEMU chardev of the guest's status channel, which the target's [qemu] `status` options write to: where the
# guest says what its exit device cannot carry (libos/exit/include/uf/exit.h).
STATUS_CHARDEV = "uf-status"
_NEEDS_QUOTES = frozenset(' \t\n\v\f\r"\\')
# The guest's console input: bytes, or a binary file read to its end (a pipe, a file, a terminal).
Input = bytes | BinaryIO


class Ending(enum.Enum):
    EXITED = "exited"  # the guest reported its exit status
    CRASHED = "crashed"  # the guest reported a crash, or the hypervisor stopped it
    TIMED_OUT = "timed out"
    RESET = "reset"  # the guest reset (e.g. a triple fault) without reporting a status
    POWEROFF = "powered off"  # the guest powered off without reporting a status
    STOPPED = "stopped"  # the caller stopped it (BootControl.stop) before it ended


@dataclass(frozen=True)
class Outcome:
    ending: Ending
    exit_code: int  # what `uniforge run` exits with
    message: str  # one line for the user, e.g. "guest exited with status 3"


@dataclass(frozen=True)
class RunResult:
    ending: Ending
    exit_code: int
    message: str
    console: str  # everything the guest wrote to its serial console (decoded: `output` has the bytes)
    output: bytes  # the same, byte for byte
    qemu_stderr: str  # QEMU's warnings and error reports (a KVM internal error dumps registers here)
    wall_time: float  # seconds from starting QEMU to its exit


def quote_guest_args(args: Sequence[str]) -> str:
    r"""Joins argv[1..] for the kernel command line so that the guest gets back exactly `args`.

    The guest's rule (uf_cmdline_split in libos/process/cmdline.c): outside double quotes, runs of spaces
    separate arguments; a double quote opens or closes a quoted part and is dropped; a backslash, inside quotes or
    not, makes the next character literal and is dropped (a backslash at the very end stays). So an argument that
    is empty or contains a space, `"` or `\` is written in double quotes with `"` and `\` preceded by a
    backslash; so is one with other whitespace (\t, \n, ...), which the guest keeps but is easier to read quoted.
    Other arguments are written as they are. Commas need no doubling: QEMU 10 passes -append to the guest
    verbatim (checked with `a,,b`). A NUL cannot be passed (the command line is a C string).
    """
    quoted = []
    for arg in args:
        if "\0" in arg:
            raise ValueError(f"guest argument {arg!r} contains a NUL byte")
        if arg and not any(c in _NEEDS_QUOTES for c in arg):
            quoted.append(arg)
        else:
            quoted.append('"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(quoted)


def kernel_cmdline(cmdline: str, args: Sequence[str]) -> str:
    """Library-OS options and environment, then `--`, then the guest's arguments."""
    return " ".join(part for part in (cmdline.strip(), "--", quote_guest_args(args)) if part)


def terminal_option(stdin: object, console: object) -> str:
    """`uf.tty=`: which sides of the guest's console are a terminal here (libos/fd/console_file.c): 0, the input,
    if `stdin` is one; 1, the output, if `console` writes to one; so that the guest's isatty() says what a Linux
    program's would."""
    return "uf.tty=" + "".join(side for side, stream in (("0", stdin), ("1", console)) if _is_terminal(stream))


def _is_terminal(stream: Any) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False        # bytes, StringIO, BytesIO


def decode_exit(
    method: str,
    returncode: int,
    *,
    shutdown_reason: str | None = None,
    halted_state: str | None = None,
    timeout: float | None = None,
    crash: str | None = None,
    status_channel: bytes = b"",
    reported_status: str | None = None,
    hypervisor_ending: str | None = None,
) -> Outcome:
    """Turns how QEMU ended into the guest's exit status: 0-255 exactly, a crash apart from all of them.

    `method` is the target's `exit`; `shutdown_reason` the reason of QMP's SHUTDOWN event, if any; `halted_state`
    the run state in which QEMU froze the guest, if it did (e.g. "internal-error"); `timeout` the seconds after
    which the runner gave up, if it did; `crash` the guest's crash line, if it printed one; `status_channel` the
    bytes the guest wrote to its status channel (STATUS_CHARDEV); `reported_status` what followed "uniforge: exit
    status " on its console (a number or "crash") and `hypervisor_ending` the hypervisor's line about the guest's
    end (xen-console).

    How each method carries a status (libos/exit/include/uf/exit.h):
    - isa-debug-exit: the guest writes its status byte to the status channel, then c to the device, which makes
      QEMU exit with (c << 1) | 1: an odd code. c is status & 0x7f, or 127 with no status byte for a crash.
      Without the channel's byte (a kernel of another kind, a run without the channel) the status is c.
    - semihosting: QEMU exits with the guest's status, whole; a crash writes a byte to the status channel (the
      semihosting console) first.
    - xen-console: the guest's status line, a number or "crash" (xenconsole.py); the runner then ended QEMU
      itself. Without one, Xen's word that it crashed or stopped the guest means CRASHED.
    - A crash: ending CRASHED, RunStatus.CRASHED (which a guest's own 127 shares: the ending tells them apart).
    - QEMU exit 0 after a guest reset or poweroff (SHUTDOWN guest-reset / guest-shutdown): the guest ended without
      a status (RunStatus.NO_STATUS), an error since Uniforge guests always report one.
    - Timed out: RunStatus.TIMED_OUT. A guest frozen by the hypervisor or panicked: RunStatus.CRASHED.
    Raises RunError when QEMU itself failed or was stopped by someone else.
    """
    if method == "xen-console":
        if reported_status is not None:
            return _crashed(crash) if reported_status == "crash" else _exited(int(reported_status) & 0xFF)
        if hypervisor_ending is not None:
            return Outcome(Ending.CRASHED, RunStatus.CRASHED, f"Xen ended the guest: {hypervisor_ending}")
    if timeout is not None:
        return Outcome(Ending.TIMED_OUT, RunStatus.TIMED_OUT, f"guest timed out after {timeout:g} s")
    if halted_state is not None:
        return Outcome(Ending.CRASHED, RunStatus.CRASHED, f"QEMU stopped the guest: {halted_state}")
    if shutdown_reason == "guest-panic":
        return Outcome(Ending.CRASHED, RunStatus.CRASHED, "guest panicked")
    if returncode < 0:
        raise RunError(f"QEMU was {describe_returncode(returncode)}")

    if method == "isa-debug-exit":
        if returncode & 1:
            code = returncode >> 1
            if status_channel:
                return _exited(status_channel[-1])
            return _crashed(crash) if code == 127 else _exited(code)
    elif method == "semihosting":
        if status_channel:
            return _crashed(crash)
        if shutdown_reason not in ("guest-reset", "guest-shutdown"):
            return _exited(returncode)
    elif method != "xen-console":       # QEMU's own ending says nothing about a Xen guest's status
        raise ValueError(f"unknown exit method {method!r}")

    if returncode == 0 and shutdown_reason == "guest-reset":
        return Outcome(Ending.RESET, RunStatus.NO_STATUS, "guest reset without an exit status (a triple fault?)")
    if returncode == 0 and shutdown_reason == "guest-shutdown":
        return Outcome(Ending.POWEROFF, RunStatus.NO_STATUS, "guest powered off without an exit status")
    if returncode == 0:
        raise RunError(f"QEMU was stopped from outside ({shutdown_reason or 'no shutdown event'})")
    raise RunError(f"QEMU failed while running ({describe_returncode(returncode)})")


def _exited(status: int) -> Outcome:
    return Outcome(Ending.EXITED, status, f"guest exited with status {status}")


def _crashed(crash: str | None) -> Outcome:
    return Outcome(Ending.CRASHED, RunStatus.CRASHED, f"guest crashed: {crash or 'no crash report'}")


class HypervisorConsole(Protocol):
    """A hypervisor's serial console with the guest's console inside it (e.g. xenconsole.XenConsole): it passes the
    guest's output on, keeps the hypervisor's own log, and reads how the guest ended (then it calls its `on_end`,
    since a hypervisor need not end QEMU when its guest ends)."""

    status: str | None              # the status the guest reported, if it did: a number, or "crash"
    ending: str | None              # the hypervisor's line about how the guest ended, if it said one
    log: list[str]                  # the hypervisor's own lines

    def feed(self, data: bytes) -> None: ...

    def close(self) -> None: ...


# (on_guest(bytes), on_end()) -> HypervisorConsole
HypervisorConsoleFactory = Callable[[Callable[[bytes], None], Callable[[], None]], HypervisorConsole]
# A QMP command and its arguments -> its answer (QemuVM.execute).
QmpFn = Callable[[str, "dict[str, Any] | None"], Awaitable[object]]


class BootControl:
    """Between a boot that runs in the background (platforms/guest.py) and the boot itself: the boot says when the
    guest runs (QEMU's pid, and how to send it QMP commands); `stop` asks the boot to end the guest now."""

    def __init__(self, on_running: Callable[[int | None, QmpFn | None], None]):
        self.stop = asyncio.Event()
        self._on_running = on_running

    def running(self, pid: int | None, qmp: QmpFn | None) -> None:
        self._on_running(pid, qmp)


async def run_qemu(command: list[str], method: str, timeout: float | None, console: Console, network: Network,
                   hypervisor: HypervisorConsoleFactory | None = None, control: BootControl | None = None,
                   stdin: Input | None = None, input_when_wanted: bool = False) -> RunResult:
    """Runs `command` (QEMU without its control options) to the guest's end or `timeout`, its serial output shown
    on `console` (through the hypervisor's console filter, if a hypervisor runs the guest); `method` is the
    target's `exit`; `control` hears when the guest runs and may stop it early (ending STOPPED). `stdin` is the
    guest's console input, sent escaped on the serial line (console.py) and ended when the source ends; None: none,
    not even its end (the serial line is not the guest's alone: a hypervisor's). `input_when_wanted`: the input is
    held until the app asks for it on its status channel (INPUT_WANTED), for a guest whose firmware and boot loader
    read the serial line first. The guest's status channel is QEMU chardev STATUS_CHARDEV. QEMU never outlives this call, also on Ctrl-C (KeyboardInterrupt is re-raised) or when
    the task is cancelled."""
    started = time.monotonic()
    ended = asyncio.Event()
    filtered = hypervisor(console.feed, ended.set) if hypervisor else None
    status = bytearray()
    guest_stdin = None
    sender: threading.Thread | None = None
    if stdin is not None:
        guest_stdin, ours = os.pipe()
        sender = threading.Thread(target=_send_input, args=(stdin, ours), name="uniforge-stdin", daemon=True)
        if not input_when_wanted:
            sender.start()

    def on_status(data: bytes) -> None:
        status.extend(data)
        if sender is not None and sender.ident is None and status.startswith(INPUT_WANTED):
            sender.start()          # once: a thread starts once

    vm = QemuVM(command, filtered.feed if filtered else console.feed, stdin=guest_stdin,
                channels={STATUS_CHARDEV: on_status}, netns=network.netns)
    try:
        async with vm:
            if network.mode == "user" and vm.pid:
                widen_backlogs(vm.pid, network.forwards)    # before the guest runs: clients may come at once
            await vm.start()
            if control:
                control.running(vm.pid, vm.execute)
            finished = await _wait(vm, timeout, ended, control.stop if control else None)
    except LaunchError as e:
        if explained := explain_qemu_error(vm.stderr, network):
            raise RunError(explained) from e
        raise RunError(_with_details(str(e), e.command, vm.stderr), hint="`uniforge doctor` checks QEMU") from e
    finally:
        if guest_stdin is not None:
            os.close(guest_stdin)   # QEMU had its own copy: the input's writer sees EPIPE once QEMU is gone
        if sender is not None and sender.ident is None:
            os.close(ours)          # the app never asked for its input
    wall_time = time.monotonic() - started
    if filtered:
        filtered.close()
    console.close()
    if finished is None:
        return RunResult(Ending.STOPPED, RunStatus.INTERRUPTED, "guest stopped by its caller", console.text,
                         console.output, vm.stderr, wall_time)
    assert vm.returncode is not None, "QEMU has ended once its `async with` is left"
    try:
        outcome = decode_exit(
            method,
            vm.returncode,
            shutdown_reason=vm.shutdown_reason,
            halted_state=vm.halted_state,
            timeout=None if finished else timeout,
            crash=console.crash,
            status_channel=bytes(status).removeprefix(INPUT_WANTED),
            reported_status=filtered.status if filtered else None,
            hypervisor_ending=filtered.ending if filtered else None,
        )
    except RunError as e:
        # What the hypervisor said last: why it stopped, when QEMU's own output is silent about it.
        said = "\n".join([vm.stderr.rstrip(), *(filtered.log[-20:] if filtered else [])])
        raise RunError(_with_details(str(e), command, said)) from e
    return RunResult(outcome.ending, outcome.exit_code, outcome.message, console.text, console.output, vm.stderr,
                     wall_time)


def framed_input(source: Input) -> Iterator[bytes]:
    """The guest's console input as module stdin decodes it, in pieces as the source gives them (blocking reads: it
    may be a terminal): the header, the source's bytes escaped, then the end of the input."""
    yield START_OF_INPUT
    if isinstance(source, bytes):
        yield encode_input(source)
    else:
        read = _reader(source)
        while read and (chunk := read()):
            yield encode_input(chunk)
    yield END_OF_INPUT


def _send_input(source: Input, fd: int) -> None:
    """The guest's console input through QEMU's serial line (a thread); stops when QEMU is gone."""
    try:
        for piece in framed_input(source):
            _write_all(fd, piece)
    except OSError:
        pass        # QEMU has exited (EPIPE), or the source failed: the guest is past its input either way
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _reader(source: BinaryIO) -> Callable[[], bytes] | None:
    """A function returning the next bytes of source, b"" at its end; None for a terminal of which this process is
    not in the foreground (reading would stop it: SIGTTIN)."""
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):
        return lambda: source.read(65536)
    if os.isatty(fd) and os.tcgetpgrp(fd) != os.getpgrp():
        return None
    return lambda: os.read(fd, 65536)


async def _wait(vm: QemuVM, timeout: float | None, ended: asyncio.Event, stop: asyncio.Event | None) -> bool | None:
    """Until QEMU ends, or the guest's end was read from the console (`ended`); False after `timeout` s, None if
    `stop` was set first."""
    qemu = asyncio.create_task(vm.wait(timeout))
    guest = asyncio.create_task(ended.wait())
    stopped = asyncio.create_task(stop.wait()) if stop else None
    try:
        done, _ = await asyncio.wait({qemu, guest} | ({stopped} if stopped else set()),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (guest, qemu, stopped):
            if task:
                task.cancel()
    if guest in done or (qemu in done and qemu.result()):
        return True
    return None if stopped in done else False


def _with_details(message: str, command: list[str], stderr: str) -> str:
    """The message, the command to reproduce it, and what QEMU said."""
    lines = [message, f"  command: {shlex.join(command)}"]
    lines += [f"  | {line}" for line in stderr.rstrip().splitlines()]
    return "\n".join(lines)
