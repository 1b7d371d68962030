"""Builds the floor kernel (bench/floor/): the smallest PVH guest, for boot-time floors, runner tests and the KVM
probe of `uniforge doctor`. Outputs live in the build cache, keyed by everything that shapes them."""

from __future__ import annotations

import enum
import importlib.metadata
import subprocess
import sys
from pathlib import Path

from . import cache
from .paths import data_root

_SOURCES = ("floor.S", "floor.ld")


class Variant(enum.Enum):
    """What the kernel does before it exits (see the comment at the top of floor.S)."""

    EXIT = None
    HANG = "HANG"
    ECHO_CMDLINE = "ECHO_CMDLINE"
    FPU_PROBE = "FPU_PROBE"


def source_dir() -> Path:
    return data_root() / "bench" / "floor"


def build_floor(variant: Variant = Variant.EXIT, *, status: int = 0) -> Path:
    """The floor kernel ELF for `variant`, exiting with `status`; built on first use."""
    if not 0 <= status <= 127:
        raise ValueError(f"floor exit status {status} is outside 0..127 (what isa-debug-exit can carry)")
    defines = [f"-DSTATUS={status}"] + ([f"-D{variant.value}"] if variant.value else [])
    sources = source_dir()
    key = cache.digest(
        importlib.metadata.version("ziglang"), *defines, *((sources / name).read_bytes() for name in _SOURCES)
    )

    def build(out: Path) -> None:
        obj = out / "floor.o"
        _zig("cc", "-target", "x86_64-freestanding-none", *defines, "-c", str(sources / "floor.S"), "-o", str(obj))
        # ld.lld directly: the zig link driver ignores ENTRY() in the script.
        _zig("ld.lld", "-T", str(sources / "floor.ld"), "-o", str(out / "floor.elf"), str(obj))

    folder, _ = cache.entry("floor", key, build)
    return folder / "floor.elf"


def _zig(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "ziglang", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building the floor kernel failed: zig {' '.join(args)}\n{done.stderr.strip()}")
