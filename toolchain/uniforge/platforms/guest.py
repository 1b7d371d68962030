"""A guest booted in the background (Way.boot): the caller's code runs while the guest does, reads its console as it
comes, reaches its published ports, sends QMP commands, and waits for its end.

A way gives the boot as a coroutine that runs the guest to its end (for QEMU ways, run.run_qemu) and tells its
BootControl when the guest runs; `Guest` runs that coroutine on an event loop of its own, in a thread of its own,
so the caller's code stays synchronous. Leaving the `with` block ends the guest on every path (an exception, a
failed assertion, Ctrl-C): the boot is asked to stop (QMP quit, then kill, as vm.QemuVM does), and if that does not
finish in time QEMU is killed by its pid. The thread that started QEMU is the one it dies with (PR_SET_PDEATHSIG),
so even a killed Python leaves no QEMU behind.
"""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import enum
import io
import os
import re
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, BinaryIO, TextIO, cast

from ..core.errors import GuestTimeout, RunError
from ..running.console import Console, SymbolizeFn, binary_of
from .run import BootControl, QmpFn, RunResult

# The boot coroutine of a way: (the console to feed, the control to tell) -> the guest's end.
BootFn = Callable[[Console, BootControl], Awaitable[RunResult]]

_STOP_WAIT = 15.0       # seconds for a polite stop (QMP quit, then vm.QemuVM's own kill) before the pid is killed
_QMP_WAIT = 30.0


class Stage(enum.Enum):
    """How far a boot got: what a timeout reports."""

    STARTING = "starting the machine (QEMU not up yet)"
    RUNNING = "the guest is running but has printed nothing"
    PRINTING = "the guest is running and printing"
    ENDED = "the guest has ended"


class ConsoleLog:
    """The guest's console as the runner shows it (crash backtraces annotated; lines end with \n): a buffer
    (`text`) and a stream (iterating yields its lines as they come, until the guest ends). Thread-safe: the boot's
    thread writes the bytes (`sink`: the binary stream running.console.Console shows them on), which also go on
    to `tee` as they came: to a binary stream, or a text one's buffer (sys.stdout), else decoded."""

    def __init__(self, tee: TextIO | BinaryIO | None = None):
        self.sink = _Sink(self)
        self._tee_bytes = binary_of(tee) if tee is not None else None
        self._tee_text = cast(TextIO, tee) if self._tee_bytes is None else None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._text = ""
        self._cr = ""
        self._closed = False
        self._changed = threading.Condition()

    @property
    def text(self) -> str:
        with self._changed:
            return self._text

    def __str__(self) -> str:
        return self.text

    @property
    def closed(self) -> bool:
        return self._closed

    def __iter__(self) -> Iterator[str]:
        """The lines so far and those to come (with their newline; the last may lack one), until the guest ends."""
        at = 0
        while True:
            with self._changed:
                self._changed.wait_for(lambda: "\n" in self._text[at:] or self._closed)
                end = self._text.find("\n", at)
                if end < 0:
                    rest = self._text[at:]
                    if rest:
                        yield rest
                    return
                line, at = self._text[at:end + 1], end + 1
            yield line

    def search(self, pattern: re.Pattern[str], start: int, deadline: float | None) -> re.Match[str] | None:
        """The first match of `pattern` in the text from `start` on, waiting for more text until `deadline`
        (time.monotonic) or the guest's end; None then."""
        with self._changed:
            while True:
                found = pattern.search(self._text, start)
                if found or self._closed:
                    return found
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._changed.wait(left)

    def write(self, data: bytes) -> int:
        text = self._decoder.decode(data)
        with self._changed:
            # \r\n read as \n, as a text file's lines are; a \r at the end waits for what follows it.
            read, self._cr = (self._cr + text).replace("\r\n", "\n"), ""
            if read.endswith("\r"):
                read, self._cr = read[:-1], "\r"
            self._text += read
            self._changed.notify_all()
        if self._tee_bytes is not None:
            self._tee_bytes.write(data)     # as it came
        elif self._tee_text is not None:
            self._tee_text.write(text)
        return len(data)

    def flush(self) -> None:
        if self._tee_bytes is not None:
            self._tee_bytes.flush()
        elif self._tee_text is not None:
            self._tee_text.flush()

    def close(self) -> None:
        with self._changed:
            if self._closed:
                return
            self._text, self._cr = self._text + self._cr + self._decoder.decode(b"", final=True), ""
            self._closed = True
            self._changed.notify_all()


class _Sink(io.RawIOBase):
    """A ConsoleLog as the binary stream running.console.Console writes to."""

    def __init__(self, log: ConsoleLog):
        super().__init__()
        self._log = log

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._log.write(bytes(data))

    def flush(self) -> None:
        self._log.flush()


class Guest:
    """One guest running in the background. Made by Way.boot; a context manager whose exit ends the guest."""

    def __init__(self, boot: BootFn, *, console: TextIO | BinaryIO | None = None,
                 symbolizer: SymbolizeFn | None = None):
        self.console = ConsoleLog(console)
        self._shown = Console(cast(BinaryIO, self.console.sink), symbolizer)
        self._boot = boot
        self._stage = Stage.STARTING
        self._pid: int | None = None
        self._qmp: QmpFn | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._control: BootControl | None = None
        self._stop_asked = False
        self._running = threading.Event()
        self._done: concurrent.futures.Future[RunResult] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._thread_main, name="uniforge-guest", daemon=True)

    def start(self) -> Guest:
        """Starts the boot and returns once the guest runs; RunError (after cleaning up) if it cannot start."""
        try:
            self._thread.start()
            while not self._running.wait(0.1):
                if self._done.done():
                    self._done.result()         # raises the boot's error
                    break
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> Guest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the caller sees

    @property
    def stage(self) -> Stage:
        return Stage.ENDED if self._done.done() else self.reached

    @property
    def reached(self) -> Stage:
        """How far the boot got before the guest ended (while it runs: the stage now)."""
        if self._stage is Stage.RUNNING and self.console.text:
            return Stage.PRINTING
        return self._stage

    @property
    def crash(self) -> tuple[str, list[str]] | None:
        """The guest's crash line and its backtrace's frames so far, once it printed one."""
        return (self._shown.crash, list(self._shown.backtrace)) if self._shown.crash is not None else None

    def expect(self, pattern: str | re.Pattern[str], timeout: float | None = 30.0, *, start: int = 0) -> re.Match[str]:
        """The first match of `pattern` in the console from offset `start`, waiting up to `timeout` seconds for
        it; GuestTimeout (the guest left running) if it does not come, RunError if the guest ended without it."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = None if timeout is None else time.monotonic() + timeout
        found = self.console.search(regex, start, deadline)
        if found:
            return found
        if self.console.closed:
            result = self._done.result() if self._done.done() else None
            ended = result.message if result else "the guest ended"
            raise RunError(f"{ended} before its console showed {regex.pattern!r}" + self._last_line())
        raise self._timeout(f"no {regex.pattern!r} on the console after {timeout:g} s")

    def wait(self, timeout: float | None = None) -> RunResult:
        """Waits for the guest's end; GuestTimeout (the guest left running) after `timeout` seconds."""
        try:
            return self._done.result(timeout)
        except concurrent.futures.TimeoutError:
            raise self._timeout(f"the guest did not end within {timeout:g} s") from None

    def qmp(self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float = _QMP_WAIT) -> Any:
        """A QMP command to the machine (e.g. "query-status", "system_powerdown"), its answer."""
        if self._qmp is None or self._loop is None or self._done.done():
            raise RunError(f"QMP command {command}: the guest is not running ({self.stage.value})")
        call: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(
            self._qmp(command, arguments), self._loop)  # type: ignore[arg-type]
        return call.result(timeout)

    def stop(self) -> RunResult:
        """Ends the guest now (its result's ending is STOPPED unless it had ended already)."""
        self._stop_asked = True         # for a boot whose loop is not up yet: it stops as soon as it is
        if not self._done.done() and self._loop is not None and self._control is not None:
            try:
                self._loop.call_soon_threadsafe(self._control.stop.set)
            except RuntimeError:
                pass            # the loop closed meanwhile: the boot has ended
        return self._done.result(_STOP_WAIT)

    def close(self) -> None:
        """Ends the guest on every path: politely, then by its pid; waits for the boot's thread."""
        try:
            if self._thread.is_alive():
                self.stop()
        except Exception:  # noqa: BLE001 - a boot that failed has said so to whoever waited for it
            pass
        finally:
            if not self._done.done():
                self._kill()
            if self._thread.is_alive():
                self._thread.join(_STOP_WAIT)
            self.console.close()

    # -- the boot's thread

    def _thread_main(self) -> None:
        try:
            result = asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            self._done.set_exception(e)
        else:
            self._done.set_result(result)
        finally:
            self.console.close()

    async def _main(self) -> RunResult:
        self._loop = asyncio.get_running_loop()
        self._control = BootControl(self._on_running)
        if self._stop_asked:
            self._control.stop.set()
        try:
            return await self._boot(self._shown, self._control)
        finally:
            self._shown.close()

    def _on_running(self, pid: int | None, qmp: QmpFn | None) -> None:
        self._pid, self._qmp = pid, qmp
        self._stage = Stage.RUNNING
        self._running.set()

    # --

    def _kill(self) -> None:
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _timeout(self, what: str) -> GuestTimeout:
        return GuestTimeout(f"{what}; boot stage reached: {self.stage.value}" + self._last_line(),
                            stage=self.stage.name.lower(), console=self.console.text)

    def _last_line(self) -> str:
        lines = self.console.text.rstrip().splitlines()
        return f"; its last line: {lines[-1]!r}" if lines else ""
