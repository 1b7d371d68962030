"""One timed boot for `uniforge bench`: a plain QEMU process (no QMP: its start would add 5-8 ms), its console read
as it comes, with host-side times from the spawn to the first console byte, to a marker line, and to the exit."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import tempfile
import time
from dataclasses import dataclass

# What module process prints with `uf.bench=1`, just before main (libos/process/start.c).
GUEST_LINE = re.compile(rb"uniforge: bench: entry=(\d+) main=(\d+) hz=(\d+)")


@dataclass(frozen=True)
class GuestTicks:
    entry: int      # the CPU's counter at the image's first instructions
    main: int       # and just before main
    hz: int         # its rate as the guest knows it; 0 if only a calibration could tell


@dataclass(frozen=True)
class Boot:
    returncode: int | None          # None: killed after the timeout
    console: str
    first_byte_s: float | None      # seconds from the spawn; None if it never came
    marker_s: float | None          # when the marker's line was complete
    exit_s: float
    guest: GuestTicks | None


def timed_boot(command: list[str], *, marker: bytes | None, timeout: float) -> Boot:
    """Runs `command` (QEMU with its serial console on stdout) to its end, or kills it after `timeout` seconds."""
    with tempfile.TemporaryFile() as stderr:       # a file, not a pipe: a chatty QEMU must not block on it
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        out = bytearray()
        first = mark = None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = start + timeout
            while (left := deadline - time.perf_counter()) > 0 and sel.select(left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                now = time.perf_counter()
                if not chunk:
                    break
                out += chunk
                first = first if first is not None else now - start
                if marker and mark is None and _line_done(out, marker):
                    mark = now - start
        try:
            returncode = proc.wait(timeout=max(deadline - time.perf_counter(), 0))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            returncode = None
        end = time.perf_counter() - start
        proc.stdout.close()
    found = GUEST_LINE.search(out)
    guest = GuestTicks(*(int(g) for g in found.groups())) if found else None
    return Boot(returncode, out.decode(errors="replace"), first, mark, end, guest)


def _line_done(out: bytearray, marker: bytes) -> bool:
    at = out.find(marker)
    return at >= 0 and out.find(b"\n", at) >= 0
