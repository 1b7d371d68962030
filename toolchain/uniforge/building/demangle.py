"""C++ names as their source spells them (`_ZNK6Circle4areaEv` -> `Circle::area() const`), for backtraces.

The host's own C++ runtime demangles: libstdc++'s `__cxa_demangle` (Itanium ABI, the mangling of both our arches),
through ctypes. Every Debian and Ubuntu host has it (apt itself links it); on a host without it, names stay
mangled, which is what they were before.
"""

from __future__ import annotations

import ctypes
import functools

_RUNTIMES = ("libstdc++.so.6", "libc++abi.so.1", "libc++.so.1")


@functools.cache
def _cxa_demangle():
    for soname in _RUNTIMES:
        try:
            function = ctypes.CDLL(soname).__cxa_demangle
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_void_p     # malloc'd: freed below, so not a c_char_p
        function.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
        return function
    return None


@functools.cache
def _free():
    free = ctypes.CDLL(None).free
    free.argtypes = [ctypes.c_void_p]
    free.restype = None
    return free


@functools.lru_cache(maxsize=4096)
def demangle(name: str) -> str:
    """`name` demangled if it is a mangled C++ name the host can demangle, else `name` itself."""
    if not name.startswith("_Z") or (function := _cxa_demangle()) is None:
        return name
    status = ctypes.c_int(-1)
    text = function(name.encode(), None, None, ctypes.byref(status))
    if not text:
        return name
    try:
        return ctypes.string_at(text).decode(errors="replace") if status.value == 0 else name
    finally:
        _free()(text)
