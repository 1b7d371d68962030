"""One QEMU process under QMP control: launched paused, resumed, watched, and always ended.

QMP runs over an inherited socketpair (no socket path to race on or leave behind), and so does every other channel
the caller asks for (a QEMU chardev the command's devices write to). `QemuVM` is an async context manager:
whatever happens inside it (an error, a timeout, Ctrl-C), leaving it ends QEMU, politely first (QMP `quit`,
bounded wait), then by SIGKILL.
"""

from __future__ import annotations

import asyncio
import enum
import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable

from qemu.qmp import EventListener, QMPClient, QMPError, Runstate

from .devices import launched_in
from .lifetime import die_with_parent

_QUIT_WAIT = 3.0  # seconds QEMU gets to exit after `quit` before it is killed
_LAUNCH_WAIT = 10.0  # seconds from exec to the QMP greeting
# How often the console file is read while the guest is silent: from the first to the last, doubling.
_TAIL_WAITS = (0.001, 0.05)
# Run states in which QEMU stops the guest for good but keeps running itself (see `query-status`).
_HALTED_STATES = frozenset({"internal-error", "guest-panicked", "io-error", "shutdown"})


class LaunchError(Exception):
    """QEMU could not be started, or died before the guest ran; `QemuVM.stderr` has what it printed."""

    def __init__(self, message: str, command: list[str]):
        super().__init__(message)
        self.command = command


class State(enum.Enum):
    NEW = "new"
    PAUSED = "paused"  # QEMU up, QMP connected, guest not started (-S)
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"  # QEMU has exited and everything is closed


class QemuVM:
    """Runs `command` (a QEMU command line without its control options) with `on_console` fed the bytes that
    QEMU writes to its stdout (the serial console). QEMU's stdout is an unlinked regular file that this reads as it
    grows, not a pipe: QEMU makes its stdout non-blocking, and its UARTs drop bytes the pipe has no room for (after
    a few retries), so a reader that falls behind (a loaded machine, a paused terminal) lost output. `stdin`: a file descriptor QEMU reads as its stdin (the serial
    console's input; else nothing). `channels`: chardev id -> what is fed the bytes QEMU writes to that chardev,
    which this adds (the command's devices name it). `netns`: the network namespace QEMU runs in (empty: ours)."""

    def __init__(self, command: list[str], on_console: Callable[[bytes], None], *, stdin: int | None = None,
                 channels: dict[str, Callable[[bytes], None]] | None = None, netns: str = ""):
        self._command = command
        self._netns = netns
        self._on_console = on_console
        self._stdin = stdin
        self._channels = channels or {}
        self.state = State.NEW
        self.returncode: int | None = None
        self.shutdown_reason: str | None = None  # from QMP SHUTDOWN: guest-shutdown, guest-reset, host-qmp-quit...
        self.halted_state: str | None = None  # a run state from _HALTED_STATES that QEMU stopped the guest in
        self._proc: asyncio.subprocess.Process | None = None
        self._qmp = QMPClient("uniforge")
        self._events = EventListener(("SHUTDOWN", "STOP"))
        self._halted = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._outputs = 0  # how many of the tasks are output pumps (the rest is cancelled at the end)
        self._socket: socket.socket | None = None  # our end of the QMP socketpair
        self._channel_sockets: list[socket.socket] = []  # our ends of the channels' socketpairs
        self._stderr = bytearray()
        self._console_file = None  # QEMU's stdout (see the class's comment)

    @property
    def stderr(self) -> str:
        """What QEMU wrote to its stderr: warnings, errors, and register dumps of a KVM internal error."""
        return self._stderr.decode(errors="replace")

    async def __aenter__(self) -> QemuVM:
        self._require(State.NEW)
        self._socket, theirs = socket.socketpair()
        pairs = {name: socket.socketpair() for name in self._channels}
        self._console_file = tempfile.TemporaryFile(prefix="uniforge-console-")
        try:
            command = self._command + [
                "-S",
                "-chardev", f"socket,id=qmp,fd={theirs.fileno()}",
                "-mon", "chardev=qmp,mode=control",
            ]
            for name, (_, end) in pairs.items():
                command += ["-chardev", f"socket,id={name},fd={end.fileno()}"]
            try:
                with launched_in(self._netns, die_with_parent()) as preexec:
                    self._proc = await asyncio.create_subprocess_exec(
                        *command,
                        stdin=subprocess.DEVNULL if self._stdin is None else self._stdin,
                        stdout=self._console_file,
                        stderr=subprocess.PIPE,
                        pass_fds=[theirs.fileno(), *(end.fileno() for _, end in pairs.values())],
                        # Its own session: a terminal's Ctrl-C reaches us, and we end QEMU in order.
                        start_new_session=True,
                        preexec_fn=preexec,
                    )
            except (OSError, subprocess.SubprocessError) as e:
                for ours, _ in pairs.values():
                    ours.close()
                why = e.strerror if isinstance(e, OSError) else str(e)
                raise LaunchError(f"cannot run {command[0]}: {why}", command) from e
        finally:
            theirs.close()
            for _, end in pairs.values():
                end.close()
        self._channel_sockets = [ours for ours, _ in pairs.values()]
        self._tasks = [
            asyncio.create_task(self._tail(self._console_file.fileno(), self._on_console)),
            asyncio.create_task(self._pump(self._proc.stderr, self._stderr.extend)),
            *[asyncio.create_task(self._pump_socket(ours, self._channels[name])) for name, (ours, _) in pairs.items()],
        ]
        self._outputs = len(self._tasks)    # the tasks that end at EOF once QEMU is gone
        try:
            self._qmp.register_listener(self._events)
            await asyncio.wait_for(self._qmp.connect(self._socket), _LAUNCH_WAIT)
            self._tasks.append(asyncio.create_task(self._watch_events()))
        except BaseException as e:
            await self._stop()
            if isinstance(e, (QMPError, OSError, asyncio.TimeoutError)):
                raise LaunchError(f"QEMU failed to start ({describe_returncode(self.returncode)})", command) from e
            raise
        self.state = State.PAUSED
        return self

    async def __aexit__(self, *exc) -> None:
        await self._stop()

    async def start(self) -> None:
        """Lets the guest run (QEMU was started with -S)."""
        self._require(State.PAUSED)
        try:
            await self._qmp.execute("cont")
        except QMPError as e:
            # A guest that exits at once can end QEMU before the reply to `cont` is sent: that is a run, not an
            # error, when QEMU has in fact exited.
            try:
                await asyncio.wait_for(self._proc.wait(), 1.0)
                self.state = State.RUNNING
                return
            except asyncio.TimeoutError:
                pass
            await self._stop()
            raise LaunchError(f"QEMU failed as the guest started ({describe_returncode(self.returncode)})",
                              self._command) from e
        self.state = State.RUNNING

    async def wait(self, timeout: float | None) -> bool:
        """Waits until QEMU exits or halts the guest; False if `timeout` seconds passed first."""
        self._require(State.RUNNING)
        exited = asyncio.create_task(self._proc.wait())
        halted = asyncio.create_task(self._halted.wait())
        try:
            done, _ = await asyncio.wait({exited, halted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
            halted.cancel()
        return bool(done)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def execute(self, command: str, arguments: dict | None = None) -> object:
        """A QMP command for the running guest (e.g. query-status), for callers that control it further."""
        self._require(State.RUNNING)
        return await self._qmp.execute(command, arguments)

    def _require(self, state: State) -> None:
        if self.state is not state:
            raise RuntimeError(f"QemuVM is {self.state.value}, needs to be {state.value}")

    async def _stop(self) -> None:
        """Ends QEMU (quit, then kill) and closes everything; safe to call in any state."""
        if self.state is State.STOPPED:
            return
        self.state = State.STOPPING
        try:
            if self._proc is not None and self._proc.returncode is None:
                try:
                    await asyncio.wait_for(self._quit(), _QUIT_WAIT)
                except (QMPError, OSError, asyncio.TimeoutError):
                    pass
                if self._proc.returncode is None:
                    self._proc.kill()
                    await self._proc.wait()
        finally:
            if self._proc is not None and self._proc.returncode is None:
                self._proc.kill()  # interrupted while stopping: at least never leave QEMU running
            await self._close()
            self.state = State.STOPPED

    async def _quit(self) -> None:
        if self._qmp.runstate is Runstate.RUNNING:
            try:
                await self._qmp.execute("quit")
            except QMPError:
                pass  # QEMU may close the connection before it replies
        await self._proc.wait()

    async def _close(self) -> None:
        if self._proc is not None:
            # Console and stderr end at EOF once QEMU is gone: drain them so no output is lost.
            self.returncode = await self._proc.wait()
            await asyncio.gather(*self._tasks[:self._outputs], return_exceptions=True)
        for task in self._tasks[self._outputs:]:
            task.cancel()
        await asyncio.gather(*self._tasks[self._outputs:], return_exceptions=True)
        for ours in self._channel_sockets:
            ours.close()
        if self._console_file is not None:
            self._console_file.close()
        try:
            await self._qmp.disconnect()
        except (QMPError, OSError, EOFError):
            pass  # the connection died with QEMU; nothing to report
        if self._socket is not None:
            self._socket.close()  # usually closed by the disconnect already; not if QMP never connected

    async def _pump(self, stream: asyncio.StreamReader, sink: Callable[[bytes], None]) -> None:
        while chunk := await stream.read(65536):
            sink(chunk)

    async def _tail(self, fd: int, sink: Callable[[bytes], None]) -> None:
        """Feeds `sink` what QEMU appends to the file `fd`, until QEMU has exited and all of it is read."""
        offset, wait = 0, _TAIL_WAITS[0]
        while True:
            exited = self._proc.returncode is not None  # before the read: what QEMU wrote before exiting is in it
            if chunk := os.pread(fd, 65536, offset):
                offset += len(chunk)
                sink(chunk)
                wait = _TAIL_WAITS[0]
            elif exited:
                return
            else:
                await asyncio.sleep(wait)
                wait = min(wait * 2, _TAIL_WAITS[1])

    async def _pump_socket(self, ours: socket.socket, sink: Callable[[bytes], None]) -> None:
        ours.setblocking(False)
        loop = asyncio.get_running_loop()
        while chunk := await loop.sock_recv(ours, 65536):
            sink(chunk)

    async def _watch_events(self) -> None:
        async for event in self._events:
            if event["event"] == "SHUTDOWN":
                self.shutdown_reason = event["data"]["reason"]
            elif self.shutdown_reason is None and self.state is State.RUNNING:
                # A STOP we did not ask for: QEMU keeps running with the guest frozen (e.g. a KVM internal error).
                status = (await self._qmp.execute("query-status"))["status"]
                if status in _HALTED_STATES:
                    self.halted_state = status
                    self._halted.set()


def describe_returncode(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"

