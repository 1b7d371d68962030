"""Builds the null kernel (bench/null/<the target's bench.floor>.S), the floor: the smallest guest of a target, for
`uniforge bench`, the runner tests and the KVM probe of `uniforge doctor`. Outputs live in the build cache, keyed
by everything that shapes them."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING

from ..building.compiler import CompileJob, Toolchain
from ..core import cache
from ..core.paths import data_root

if TYPE_CHECKING:
    from ..building.targets import Target


class Variant(enum.Enum):
    """What the kernel does before it exits (see the comment at the top of null-<arch>.S; x86_64 has them all,
    other arches only EXIT)."""

    EXIT = None
    HANG = "HANG"
    ECHO_CMDLINE = "ECHO_CMDLINE"
    FPU_PROBE = "FPU_PROBE"


def source_dir() -> Path:
    return data_root() / "bench" / "null"


def build_floor(target: Target, variant: Variant = Variant.EXIT, *, status: int = 0) -> Path:
    """The target's floor kernel ELF (bench/null/<its bench.floor>.S) as `variant`, exiting with `status`; built
    on first use."""
    if not 0 <= status <= 127:
        raise ValueError(f"floor exit status {status} is outside 0..127 (what isa-debug-exit can carry)")
    defines = [f"STATUS={status}"] + ([variant.value] if variant.value else [])
    source, script = (source_dir() / f"{target.bench.floor}{ext}" for ext in (".S", ".ld"))
    toolchain = Toolchain.for_target(target)
    key = cache.digest(toolchain.version, target.arch, *defines, source.read_bytes(), script.read_bytes())

    def build(out: Path) -> None:
        obj = out / "floor.o"
        toolchain.compile(CompileJob(source, obj, tuple(toolchain.target_args() + [f"-D{d}" for d in defines])))
        toolchain.link(out / "floor.elf", ["-T", str(script), str(obj)])

    folder, _ = cache.entry("floor", key, build)
    return folder / "floor.elf"
