"""The C toolchain as an object that answers with argument lists (stage code never spells out a flag).

The default and only backend is the pinned `ziglang` wheel: clang + lld at one version on every host, so images are
bit-identical across machines. The library OS is compiled freestanding (`zig cc`); apps and the libc are compiled
as for Linux with musl (`Toolchain.hosted`), since the library OS implements the Linux syscall ABI: they see what
a Linux/musl program sees.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import CompileError, LinkError, ToolError

if TYPE_CHECKING:
    from .targets import Target

# Flags every object shares: deterministic output, sections the linker can collect, frame pointers for backtraces.
COMMON_CFLAGS = (
    "-fno-pic", "-fno-pie", "-fno-omit-frame-pointer", "-ffunction-sections", "-fdata-sections",
    "-fno-sanitize=all", "-fno-asynchronous-unwind-tables", "-g", "-gdwarf-4", "-nostdinc",
    "-fdebug-compilation-dir=.",       # no build folder in DWARF: objects are the same wherever they are built
)
# A position-independent image: compiled PIC, linked as a static PIE (no interpreter) that applies its own
# relocations where it is loaded, text relocations allowed (its code is never shared).
PIC_CFLAGS = ("-fPIC", "-fPIE")
PIE_LDFLAGS = ("-pie", "--no-dynamic-linker", "-z", "notext")
# What clang 16+ rejects in old C and gcc 12 (the compiler Debian 12 builds its packages with) only warns about:
# apps get gcc's verdict, so code that builds on a Linux distribution builds here.
OLD_C_WARNINGS = tuple(f"-Wno-error={name}" for name in (
    "implicit-function-declaration", "implicit-int", "int-conversion", "incompatible-pointer-types",
    "incompatible-function-pointer-types", "return-mismatch"))
# clang (up to 22 at least: LLVM issue 63142) takes these allocating libc calls for builtins that touch no memory the
# caller can see, errno included: it drops the read of errno after them, so a program that prints strerror(errno) when
# malloc returns NULL says "Success" where POSIX and gcc's code (Debian's) have ENOMEM. In apps they are plain
# calls: clang no longer assumes the block aliases nothing, nor drops a block that is only freed.
ERRNO_SETTING_ALLOCATORS = tuple(f"-fno-builtin-{name}" for name in (
    "malloc", "calloc", "realloc", "reallocarray", "aligned_alloc", "memalign", "valloc", "strdup", "strndup"))
# zig's folders of Linux UAPI headers (linux/, asm/, asm-generic/...), by the triple's architecture.
_UAPI_ARCH = {"x86_64": "x86", "arm": "arm"}


@dataclass(frozen=True)
class CompileJob:
    source: Path
    output: Path
    args: tuple[str, ...]       # everything but the input and output
    # Compiled in two steps, front end to LLVM IR then back end, with this change to the IR between them.
    ir_rewrite: Callable[[str], str] | None = None


class Toolchain:
    """The compiler for one target triple and CPU; `cflags` (every object of an image, and for a hosted toolchain the
    target's `app_cflags` after them), `libos_cflags` (the library OS's objects) and `ldflags` are the target's
    own. `hosted`: compile as a Linux program (the triple names Linux and musl), with musl's headers (given as
    system_include_dirs) before the compiler's own, then Linux's UAPI headers, as musl's own compiler wrapper orders
    them; clang is then driven directly (`zig cc` would put its own libc headers first)."""

    def __init__(self, target_triple: str, cpu: str | None = None, *, cflags: tuple[str, ...] = (),
                 libos_cflags: tuple[str, ...] = (), ldflags: tuple[str, ...] = (),
                 position_independent: bool = False, hosted: bool = False):
        self.triple = target_triple
        self.cpu = cpu
        self.hosted = hosted
        self.position_independent = position_independent
        self.cflags = (*cflags, *(PIC_CFLAGS if position_independent else ()))
        self.libos_cflags = libos_cflags
        self.ldflags = (*(PIE_LDFLAGS if position_independent else ()), *ldflags)

    @classmethod
    def for_target(cls, target: Target, *, hosted: bool = False) -> Toolchain:
        """The toolchain a target's [compiler] table describes: for the library OS (freestanding), or `hosted`
        for the app and the libc (its `app_target`)."""
        c = target.compiler
        cflags = (*c.cflags, *(c.app_cflags if hosted else ()))
        return cls(c.app_target if hosted else c.target, c.cpu, cflags=cflags, libos_cflags=c.libos_cflags,
                   ldflags=c.ldflags, position_independent=c.position_independent, hosted=hosted)

    @cached_property
    def zig(self) -> Path:
        try:
            import ziglang
        except ImportError as e:
            raise ToolError("the ziglang package is not installed", hint="pip install ziglang") from e
        path = Path(ziglang.__file__).parent / "zig"
        if not path.exists():
            raise ToolError(f"the ziglang package has no compiler at {path}", hint="pip install --force-reinstall ziglang")
        return path

    @cached_property
    def version(self) -> str:
        """Identifies the compiler in cache keys and image manifests."""
        from importlib.metadata import version as dist_version
        return f"zig {dist_version('ziglang')}"

    def target_args(self) -> list[str]:
        args = ["-target", self.triple]
        if self.cpu:
            # zig spells CPU names with '_' where clang has '-' (cortex_a15).
            args.append(f"-mcpu={self.cpu.replace('_', '-') if self.hosted else self.cpu}")
        return args

    def hosted_include_dirs(self) -> list[Path]:
        """After musl's headers: the compiler's own (stddef.h, stdarg.h, intrinsics), then the Linux UAPI headers
        that programs include where musl has none (linux/, asm/), from the same pinned wheel."""
        libc_include = self.zig.parent / "lib" / "libc" / "include"
        return [self.zig.parent / "lib" / "include", libc_include / f"{_UAPI_ARCH[self.triple.split('-')[0]]}-linux-any",
                libc_include / "any-linux-any"]

    def stack_protector_args(self) -> list[str]:
        """-fstack-protector-strong, said to clang directly: the zig driver refuses it for freestanding targets.
        The canary is then the global __stack_chk_guard, which musl seeds from AT_RANDOM."""
        return ["-Xclang", "-stack-protector", "-Xclang", "2"]

    def compile_args(self, *, include_dirs=(), system_include_dirs=(), defines=(), flags=(), prefix_map=()) -> list[str]:
        args = self.target_args() + list(COMMON_CFLAGS)
        # Paths in DWARF are relative to a named root, never where things happen to be on this machine.
        prefix_map = [*prefix_map, (self.zig.parent, "zig")]
        args += [f"-ffile-prefix-map={src}={dst}" for src, dst in prefix_map]
        if self.hosted:
            system_include_dirs = [*system_include_dirs, *self.hosted_include_dirs()]
        args += [f"-isystem{d}" for d in system_include_dirs]
        args += [f"-I{d}" for d in include_dirs]
        args += [f"-D{d}" for d in defines]
        return args + list(flags)

    def compile(self, job: CompileJob) -> None:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        if job.ir_rewrite is None:
            self._clang(job, [*job.args, "-c", str(job.source)], job.output)
            return
        ir = job.output.with_suffix(".ll")
        self._clang(job, [*job.args, "-S", "-emit-llvm", str(job.source)], ir)
        ir.write_text(job.ir_rewrite(ir.read_text()))
        # The IR is optimized already: only the back end runs on it.
        self._clang(job, [*job.args, "-Xclang", "-disable-llvm-passes", "-c", str(ir)], job.output)
        ir.unlink()

    def _clang(self, job: CompileJob, args: list[str], output: Path) -> None:
        cmd = [str(self.zig), "clang" if self.hosted else "cc", *args, "-o", str(output)]
        # In the output's folder: zig names its own headers relative to the working folder when they are below it
        # (a build run from the folder holding the venv), and DWARF would then depend on where the build was run.
        proc = subprocess.run(cmd, capture_output=True, text=True, env=zig_env(), cwd=job.output.parent)
        if proc.returncode != 0:
            raise CompileError(f"compiling {job.source} failed:\n{proc.stderr.rstrip()}")

    def compile_all(self, jobs: list[CompileJob], progress=None) -> None:
        """Compile in parallel (one process per core); all errors are reported together."""
        from concurrent.futures import ThreadPoolExecutor
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            futures = [pool.submit(self.compile, job) for job in jobs]
            for future in futures:
                try:
                    future.result()
                except CompileError as e:
                    errors.append(e.message)
                if progress:
                    progress()
        if errors:
            raise CompileError("\n".join(errors))

    def build_runtime_object(self, output: Path) -> None:
        """zig's compiler_rt for this target, one object with a section per function."""
        source = self.zig.parent / "lib" / "compiler_rt.zig"
        cpu = [f"-mcpu={self.cpu}"] if self.cpu else []
        self._run([str(self.zig), "build-obj", "-target", self.triple, *cpu, "-O", "ReleaseSmall",
                   "-ffunction-sections", str(source), f"-femit-bin={output}"], CompileError,
                  "building compiler_rt failed")

    def archive(self, output: Path, objects: list[Path]) -> None:
        output.unlink(missing_ok=True)
        # 'D': deterministic (zero timestamps and owners) so archives are reproducible.
        self._run([str(self.zig), "ar", "rcsD", str(output), *map(str, objects)], LinkError, "archiving failed")

    def link(self, output: Path, args: list[str]) -> None:
        """ld.lld directly: the zig cc link driver ignores ENTRY() and would add its own runtime."""
        self._run([str(self.zig), "ld.lld", *args, "-o", str(output)], LinkError, f"linking {output.name} failed")

    @staticmethod
    def _run(cmd: list[str], error, what: str) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=zig_env())
        if proc.returncode != 0:
            raise error(f"{what}:\n{(proc.stderr or proc.stdout).rstrip()}")


def zig_env() -> dict[str, str]:
    """The environment zig runs in (imported by cclink too: this module stays light)."""
    # zig keeps a cache of its own (of `zig cc` objects, among others): inside ours, not under $HOME, which may be
    # unusable (CI sandboxes) and may hold objects that an older uniforge compiled from another working folder
    # (zig's key does not cover it, and its paths in DWARF did).
    from ..core.paths import cache_root
    env = dict(os.environ)
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", str(cache_root() / "zig"))
    return env
