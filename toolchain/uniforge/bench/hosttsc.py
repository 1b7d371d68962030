"""The host's TSC rate, measured: under QEMU's TCG on an x86_64 host the guest's TSC is the host's (QEMU reads
it with rdtsc), and no CPUID leaf tells the guest its rate. A few bytes of machine code called through ctypes
read it; Python's monotonic clock times it."""

from __future__ import annotations

import ctypes
import mmap
import platform
import statistics
import time
from functools import cache

# rdtsc; shl $32, %rdx; or %rdx, %rax; ret
_RDTSC = bytes.fromhex("0f31" "48c1e220" "4809d0" "c3")


@cache
def host_tsc_hz() -> int | None:
    """The host TSC's rate in Hz (median of five 20 ms windows), or None on a host that is not x86_64."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    code = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(_RDTSC)
    address = ctypes.addressof(ctypes.c_char.from_buffer(code))
    rdtsc = ctypes.CFUNCTYPE(ctypes.c_uint64)(address)
    rates = []
    for _ in range(5):
        t0, c0 = time.perf_counter_ns(), rdtsc()
        time.sleep(0.02)
        t1, c1 = time.perf_counter_ns(), rdtsc()
        rates.append((c1 - c0) * 1_000_000_000 / (t1 - t0))
    return round(statistics.median(rates))
