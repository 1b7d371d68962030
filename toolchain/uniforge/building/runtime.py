"""The compiler's runtime library (integer division helpers, soft-float conversions, __aeabi_* on ARM): zig's
compiler_rt from the same pinned wheel, built once per target and linked last, as an archive, so that the libc's
strong definitions (memcpy...) win over its weak ones."""
import json
from pathlib import Path

from ..core import cache
from ..core.progress import step
from .compiler import Toolchain
from .elfsyms import object_symbols


def build(toolchain: Toolchain) -> tuple[Path, dict[str, dict[str, list[str]]], bool]:
    """(libcompiler_rt.a, member index for the resolver, whether it came from the cache)."""
    key = cache.digest(toolchain.version, *toolchain.target_args())

    def make(tmp: Path) -> None:
        with step(f"building the compiler runtime for {toolchain.triple} (once per toolchain)"):
            obj = tmp / "compiler_rt.o"
            toolchain.build_runtime_object(obj)
            index = {"compiler_rt.o": object_symbols(obj)}
            toolchain.archive(tmp / "libcompiler_rt.a", [obj])
            obj.unlink()
        (tmp / "index.json").write_text(json.dumps(index, sort_keys=True))

    folder, cached = cache.entry("compiler-rt", key, make)
    return folder / "libcompiler_rt.a", json.loads((folder / "index.json").read_text()), cached
