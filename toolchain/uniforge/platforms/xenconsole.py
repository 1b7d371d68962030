"""The serial console of a Xen rig, turned back into the guest's own console.

Xen owns the UART: its log lines start with "(XEN) ", dom0's console_io text comes through as written, a domU's a
line at a time as "(dN) text". The filter passes the guest's lines (prefix removed) on to the runner's Console,
keeps Xen's log for error reports, and watches for how the guest ended: the library OS's status line
("uniforge: exit status N" or "... crash", libos/exit/xen.c), or Xen saying that it crashed or stopped the domain. Either one
sets `ended`, since Xen does not end QEMU for a domU (nor for a dom0 that powers off).
"""

from __future__ import annotations

import re
from collections.abc import Callable

STATUS_PREFIX = b"uniforge: exit status "
STATUS_LINE = re.compile(STATUS_PREFIX.decode() + r"(\d+|crash)\s*$")
_DOMU_PREFIX = re.compile(r"^\(d\d+\) ")
_XEN_PREFIX = "(XEN) "
# Xen's own words when it takes a guest down (xen/common/shutdown.c, domain.c, arch/*/traps.c).
_XEN_ENDINGS = re.compile(r"Hardware Dom0 (crashed|halted|shutdown)|Domain \d+ \(vcpu#\d+\) crashed|"
                          r"domain_crash called|Triple fault")
_XEN_PANIC = re.compile(r"Panic on CPU \d+:")     # the reason follows on the next line


class XenConsole:
    """`feed` takes QEMU's serial bytes; `on_guest(bytes)` receives the guest's own output."""

    def __init__(self, on_guest: Callable[[bytes], None], on_end: Callable[[], None]):
        self._on_guest = on_guest
        self._on_end = on_end
        self._pending = b""
        self.log: list[str] = []
        self.status: str | None = None      # from the guest's status line: a number, or "crash"
        self.ending: str | None = None  # Xen's line about the end of the guest, if it said one
        self._panic = False                 # Xen said it panics: the next line of its log says why

    def feed(self, data: bytes) -> None:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._line(line + b"\n")

    def close(self) -> None:
        """The last, unterminated line."""
        if self._pending:
            self._line(self._pending)
            self._pending = b""

    def _line(self, raw: bytes) -> None:
        text = raw.decode(errors="replace").rstrip("\r\n")
        if text.startswith(_XEN_PREFIX):
            self.log.append(text)
            said = text[len(_XEN_PREFIX):].strip()
            if self.ending is not None or not said:
                return
            if self._panic:
                self.ending = f"panic: {said}"
                self._on_end()
            elif _XEN_PANIC.search(said):
                self._panic = True
            elif _XEN_ENDINGS.search(said):
                self.ending = said
                self._on_end()
            return
        prefix = _DOMU_PREFIX.match(text)
        if prefix:
            raw = raw[prefix.end():]
            text = text[prefix.end():]
        status = STATUS_LINE.search(text)
        if status and self.status is None:
            # Output without a final newline ends up in front of the status line: it is the guest's.
            if status.start():
                self._on_guest(raw[:raw.rindex(STATUS_PREFIX)])
            self.status = status.group(1)
            self._on_end()
            return
        self._on_guest(raw)
