"""Builds the floor kernel (bench/floor/): the smallest PVH guest, for boot-time floors, runner tests and the KVM
probe of `uniforge doctor`. Outputs go to a cache, keyed by everything that shapes them; nothing is committed."""

from __future__ import annotations

import enum
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# bench/ beside toolchain/ in a checkout.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "bench" / "floor"
_SOURCES = ("floor.S", "floor.ld")
_ZIG = [sys.executable, "-m", "ziglang"]


class Variant(enum.Enum):
    """What the kernel does before it exits (see the comment at the top of floor.S)."""

    EXIT = None
    HANG = "HANG"
    ECHO_CMDLINE = "ECHO_CMDLINE"
    FPU_PROBE = "FPU_PROBE"


def build_floor(variant: Variant = Variant.EXIT, *, status: int = 0, cache_dir: Path | None = None) -> Path:
    """Returns the path of the floor kernel ELF for `variant`, exiting with `status`; builds it on first use."""
    if not 0 <= status <= 127:
        raise ValueError(f"floor exit status {status} is outside 0..127 (what isa-debug-exit can carry)")
    defines = [f"-DSTATUS={status}"] + ([f"-D{variant.value}"] if variant.value else [])
    key = hashlib.sha256(importlib.metadata.version("ziglang").encode())
    key.update(" ".join(defines).encode())
    for name in _SOURCES:
        key.update((SOURCE_DIR / name).read_bytes())
    out_dir = cache_dir or _default_cache_dir()
    image = out_dir / f"floor-{variant.name.lower()}-{status}-{key.hexdigest()[:16]}.elf"
    if image.exists():
        return image

    out_dir.mkdir(parents=True, exist_ok=True)
    # Build in a private directory and rename into place: concurrent test workers may build the same variant.
    with tempfile.TemporaryDirectory(dir=out_dir) as work:
        obj, elf = Path(work) / "floor.o", Path(work) / "floor.elf"
        _zig("cc", "-target", "x86_64-freestanding-none", *defines, "-c", str(SOURCE_DIR / "floor.S"), "-o", str(obj))
        # ld.lld directly: the zig link driver ignores ENTRY() in the script.
        _zig("ld.lld", "-T", str(SOURCE_DIR / "floor.ld"), "-o", str(elf), str(obj))
        os.replace(elf, image)
    return image


def _zig(*args: str) -> None:
    done = subprocess.run([*_ZIG, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building the floor kernel failed: zig {' '.join(args)}\n{done.stderr.strip()}")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "uniforge" / "floor"
