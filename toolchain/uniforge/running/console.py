"""The guest's serial console as the runner shows it: streamed live, 8-bit clean, kept whole, crash backtraces
symbolized; and the host's input on its way in.

Every byte the guest writes reaches the output unchanged (to a text stream, as UTF-8 with U+FFFD for what is not
UTF-8, since text has no other way). The library OS reports a crash as one `uniforge: crash: WHAT` line, then
`uniforge: backtrace: 0xADDR` lines, the faulting pc first and return addresses after it. With a symbolizer, each
backtrace line is followed by `    #N 0xADDR in FUNCTION at FILE:LINE` on the live stream; the kept output is the
guest's own.

Input goes in with 0xff as an escape (module stdin decodes it): 0xff 0xff is the byte 0xff, 0xff 0x04 ends the
input; every other byte is itself. Text never contains 0xff (UTF-8 has no such byte), so typed text goes in as is.
It starts with the header 0xff 0x01, whose first byte the guest may lose: the UART holds one received byte until
the guest turns its FIFOs on, which drops it; a lone 0x01 first is the rest of the header.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable
from typing import BinaryIO, TextIO

CRASH_PREFIX = "uniforge: crash:"
_BACKTRACE = re.compile(r"uniforge: backtrace: 0x([0-9a-fA-F]+)\s*$")
INPUT_ESCAPE = b"\xff"
START_OF_INPUT = INPUT_ESCAPE + b"\x01"
END_OF_INPUT = INPUT_ESCAPE + b"\x04"
# What the guest writes on its status channel, before any status, when the app first reads the console
# (uf_exit_want_input in libos/exit/include/uf/exit.h).
INPUT_WANTED = b"\xff\x01"

# (address, is_return_address) -> "FUNCTION at FILE:LINE"; Symbolizer.format fits.
SymbolizeFn = Callable[[int, bool], str]


def encode_input(data: bytes) -> bytes:
    """Host input as the guest's console reads it (after START_OF_INPUT; END_OF_INPUT follows the last of it)."""
    return data.replace(INPUT_ESCAPE, INPUT_ESCAPE * 2)


class Console:
    """`feed` takes the bytes the guest wrote; `out` shows them: a binary stream gets them as they are, a text stream
    with a binary buffer (sys.stdout) gets them through it, any other text stream decoded."""

    def __init__(self, out: TextIO | BinaryIO, symbolize: SymbolizeFn | None = None):
        self._out = out
        self._symbolize = symbolize
        self._binary = binary_of(out)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._output = bytearray()
        self._line = bytearray()  # the current line so far
        self._frame = 0  # number of the next backtrace line since the last crash line
        self.crash: str | None = None  # the first crash line, without its prefix
        self.backtrace: list[str] = []  # its frames as the stream shows them: "#N 0xADDR in FUNCTION at FILE:LINE"

    @property
    def output(self) -> bytes:
        """Everything the guest wrote, unchanged."""
        return bytes(self._output)

    @property
    def text(self) -> str:
        return self._output.decode(errors="replace")

    def feed(self, data: bytes) -> None:
        self._output += data
        # Line by line, so that an annotation follows its own line even when one chunk holds several.
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end + 1
            piece = data[start:end]
            self._show(piece)
            self._line += piece
            if piece.endswith(b"\n"):
                self._end_line(self._line.decode(errors="replace").rstrip("\r\n"))
                self._line.clear()
            start = end
        self._out.flush()

    def close(self) -> None:
        """Flushes a partial character at the end of the output."""
        if self._binary is None:
            self._out.write(self._decoder.decode(b"", final=True))
        self._out.flush()

    def _show(self, data: bytes) -> None:
        if self._binary is not None:
            self._binary.write(data)
        else:
            self._out.write(self._decoder.decode(data))

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
            self._show(f"    {frame}\n".encode())
            self._frame += 1


def binary_of(out) -> BinaryIO | None:
    """The binary stream under `out`, if it has one (its text layer flushed first), else None."""
    if isinstance(out, (io.RawIOBase, io.BufferedIOBase)):
        return out
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        out.flush()
        return buffer
    return None
