"""The guest's serial console as the runner shows it: streamed live, kept whole, crash backtraces symbolized.

The library OS reports a crash as one `uniforge: crash: WHAT` line, then `uniforge: backtrace: 0xADDR` lines, the
faulting pc first and return addresses after it. With a symbolizer, each backtrace line is followed by
`    #N 0xADDR in FUNCTION at FILE:LINE` on the live stream; the kept text is the guest's output unchanged.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import TextIO

CRASH_PREFIX = "uniforge: crash:"
_BACKTRACE = re.compile(r"uniforge: backtrace: 0x([0-9a-fA-F]+)\s*$")

# (address, is_return_address) -> "FUNCTION at FILE:LINE"; Symbolizer.format fits.
SymbolizeFn = Callable[[int, bool], str]


class Console:
    def __init__(self, out: TextIO, symbolize: SymbolizeFn | None = None):
        self._out = out
        self._symbolize = symbolize
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._line = ""  # the current line so far
        self._frame = 0  # number of the next backtrace line since the last crash line
        self.crash: str | None = None  # the first crash line, without its prefix
        self.backtrace: list[str] = []  # its frames as the stream shows them: "#N 0xADDR in FUNCTION at FILE:LINE"

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def feed(self, data: bytes) -> None:
        self._write(self._decoder.decode(data))

    def close(self) -> None:
        """Flushes a partial character at the end of the output."""
        self._write(self._decoder.decode(b"", final=True))

    def _write(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        # Line by line, so that an annotation follows its own line even when one chunk holds several.
        for piece in text.splitlines(keepends=True):
            self._out.write(piece)
            self._line += piece
            if self._line.endswith("\n"):
                self._end_line(self._line.rstrip("\r\n"))
                self._line = ""
        self._out.flush()

    def _end_line(self, line: str) -> None:
        if line.startswith(CRASH_PREFIX):
            self.crash = self.crash or line[len(CRASH_PREFIX):].strip()
            self._frame = 0
        elif self._symbolize and (match := _BACKTRACE.search(line)):
            addr = int(match.group(1), 16)
            try:
                where = self._symbolize(addr, self._frame > 0)
            except Exception as e:  # unusual debug info must not stop the console (QEMU would block on it)
                where = f"?? (symbolizer failed: {e})"
            frame = f"#{self._frame} {addr:#x} in {where}"
            if self.crash is not None and len(self.backtrace) == self._frame:
                self.backtrace.append(frame)
            self._out.write(f"    {frame}\n")
            self._frame += 1
