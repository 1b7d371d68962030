"""The C++ runtime: LLVM's libc++, libc++abi and libunwind, whose sources ship in the pinned ziglang wheel, built once
per target against our musl's headers and cached like the libc (three archives with an index of every member's
symbols, which the resolver walks like the libc's). Linked only into an image with C++ objects.

Exceptions unwind with libunwind as on Linux: it finds the unwind tables through musl's dl_iterate_phdr, which reads
the program headers the process module passes as AT_PHDR (PT_GNU_EH_FRAME on x86_64, PT_ARM_EXIDX for ARM EHABI);
the linker script keeps those tables in an image with C++ (generate: `cxx`).

One configuration: libc++'s thread support on (std::thread, std::mutex, std::condition_variable, the per-thread
exception globals, locks in the locale and iostreams), for every C++ source and the runtime alike, whichever way it
is compiled (`uniforge build`'s sources, `uniforge c++` for a project's own build): a build system compiles each
source before anything knows what the program links, and objects compiled in one configuration link only with a
runtime built in the same one. A program that starts no thread pays a few KB for it: musl's mutexes and condition
variables under the runtime's locks and guards, and the clock their timed waits read (module time); what they wait
with (futex, gettid) is module process's, and std::thread's pthread_create alone links module thread, as in C.
"""
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..core import cache
from ..core.errors import CompileError, ToolError
from ..core.progress import step
from .compiler import COMMON_CFLAGS, CompileJob, Toolchain
from .elfsyms import section_symbols
from .generate import render
from .manifest import CXX_SUFFIXES

# The order the linker and the resolver take them in: each refers only to those after it (and the libc).
LIBRARIES = ("libc++", "libc++abi", "libunwind")
# How the index is made (elfsyms.section_symbols), in the cache key.
INDEX_FORMAT = "by section 1"

# libc++'s configuration (what its CMake build writes into __config_site; zig's copy of the headers takes it as
# -D flags instead), the same for the library and every app that includes its headers.
_CONFIG = ("-D_LIBCPP_ABI_VERSION=1", "-D_LIBCPP_ABI_NAMESPACE=__1", "-D_LIBCPP_HAS_MONOTONIC_CLOCK=1",
           "-D_LIBCPP_HAS_TERMINAL=1", "-D_LIBCPP_HAS_MUSL_LIBC=1", "-D_LIBCPP_DISABLE_VISIBILITY_ANNOTATIONS",
           "-D_LIBCXXABI_DISABLE_VISIBILITY_ANNOTATIONS", "-D_LIBCPP_HAS_VENDOR_AVAILABILITY_ANNOTATIONS=0",
           "-D_LIBCPP_HAS_FILESYSTEM=1", "-D_LIBCPP_HAS_RANDOM_DEVICE=1", "-D_LIBCPP_HAS_LOCALIZATION=1",
           "-D_LIBCPP_HAS_UNICODE=1", "-D_LIBCPP_HAS_WIDE_CHARACTERS=1", "-D_LIBCPP_HAS_NO_STD_MODULES",
           "-D_LIBCPP_HAS_TIME_ZONE_DATABASE=0", "-D_LIBCPP_PSTL_BACKEND_SERIAL",
           "-D_LIBCPP_HARDENING_MODE=_LIBCPP_HARDENING_MODE_NONE",
           "-D_LIBCPP_ASSERTION_SEMANTIC_DEFAULT=_LIBCPP_ASSERTION_SEMANTIC_IGNORE", "-D_LIBCPP_HAS_THREADS=1")
# The runtime's own flags: small code (as the libc), unwind tables in every function (the unwinder steps through
# its own frames and the personality routine's), and each library's build macros.
_RUNTIME_FLAGS = ("-Os", "-funwind-tables", "-fno-strict-aliasing", "-DNDEBUG", "-w")
_CXX_FLAGS = ("-std=c++23", "-faligned-allocation", "-fvisibility=hidden", "-fvisibility-inlines-hidden")
_LIBRARY_FLAGS = {
    "libc++": ("-D_LIBCPP_BUILDING_LIBRARY", "-DLIBCXX_BUILDING_LIBCXXABI",
               "-DLIBC_NAMESPACE=__llvm_libc_common_utils", "-D_LIBCPP_HAS_NO_PRAGMA_SYSTEM_HEADER"),
    "libc++abi": ("-D_LIBCPP_BUILDING_LIBRARY", "-D_LIBCXXABI_BUILDING_LIBRARY"),
    "libunwind": ("-D_LIBUNWIND_IS_NATIVE_ONLY", "-D_LIBUNWIND_HIDE_SYMBOLS"),
}
# The runtime's syscall() calls (futex, gettid) go to templates/cxx_syscall.c.j2, compiled into libc++abi.
_SYSCALL_FLAGS = ("-Dsyscall=uf_cxx_syscall",)
_LIBUNWIND_SOURCES = ("libunwind.cpp", "Unwind-EHABI.cpp", "UnwindLevel1.c", "UnwindLevel1-gcc-ext.c",
                      "UnwindRegistersSave.S", "UnwindRegistersRestore.S", "gcc_personality_v0.c")


def _lib(toolchain: Toolchain) -> Path:
    return toolchain.zig.parent / "lib"


def calls_runtime(undefined) -> bool:
    """Whether an object with these undefined symbols is C++ that needs the runtime: it calls a mangled name
    (libc++, operator new and delete) or the ABI's (__cxa_*, the personality routine). A C object calls neither."""
    return any(s.startswith(("_Z", "__cxa_", "__gxx_personality")) for s in undefined)


def app_include_dirs(toolchain: Toolchain) -> list[Path]:
    """libc++'s headers, then libc++abi's and libunwind's: before the libc's (libc++ wraps <stdlib.h>, <math.h>...)."""
    lib = _lib(toolchain)
    return [lib / "libcxx/include", lib / "libcxxabi/include", lib / "libunwind/include"]


def config_flags() -> list[str]:
    """libc++'s configuration, for the runtime and every C++ source of an app (with its C flags; exceptions and RTTI
    are on, clang's default for C++)."""
    return list(_CONFIG)


@dataclass(frozen=True)
class Runtime:
    archives: list[Path]                                   # in link order (LIBRARIES)
    indexes: list[tuple[str, dict[str, dict[str, list[str]]]]]   # (library, member -> symbols), for the resolver
    cached: bool = False


def sources(toolchain: Toolchain) -> dict[str, list[Path]]:
    """Every source of the three libraries a Linux build compiles (not the int128 helpers: compiler-rt has them)."""
    lib = _lib(toolchain)
    libcxx = lib / "libcxx/src"
    cxx = [p for p in [*sorted(libcxx.glob("*.cpp")), *sorted((libcxx / "filesystem").glob("*.cpp")),
                       *sorted((libcxx / "ryu").glob("*.cpp"))]
           if p.name != "int128_builtins.cpp"]
    abi = sorted((lib / "libcxxabi/src").glob("*.cpp"))
    unwind = [lib / "libunwind/src" / name for name in _LIBUNWIND_SOURCES]
    return {"libc++": cxx, "libc++abi": abi, "libunwind": unwind}


def build(toolchain: Toolchain, musl_headers: Path, headers_name: str) -> Runtime:
    """The three archives for the hosted toolchain's target, against musl's headers (named `headers_name` in DWARF)."""
    lib = _lib(toolchain)
    if not (lib / "libcxx/src").is_dir():
        raise ToolError(f"C++ needs libc++'s sources, and the ziglang package has none ({lib / 'libcxx/src'})",
                        hint="pip install --force-reinstall ziglang")
    by_library = sources(toolchain)
    key = cache.digest(toolchain.version, " ".join([*toolchain.target_args(), *toolchain.cflags, *COMMON_CFLAGS,
                                                    *config_flags(), *_RUNTIME_FLAGS, *_CXX_FLAGS, *_SYSCALL_FLAGS]),
                       json.dumps(_LIBRARY_FLAGS, sort_keys=True), INDEX_FORMAT, render("cxx_syscall.c.j2"),
                       cache.hash_files([p for ps in by_library.values() for p in ps], lib),
                       cache.hash_files(musl_headers.rglob("*.h"), musl_headers))

    def make(tmp: Path) -> None:
        jobs: dict[str, list[CompileJob]] = {}
        include_dirs = [lib / "libcxx/src", lib / "libcxx/libc", *app_include_dirs(toolchain)]
        for name, paths in by_library.items():
            args = toolchain.compile_args(include_dirs=include_dirs, system_include_dirs=[musl_headers],
                                          prefix_map=[(musl_headers, headers_name)],
                                          flags=[*config_flags(), *_LIBRARY_FLAGS[name], *_SYSCALL_FLAGS,
                                                 *_RUNTIME_FLAGS, *toolchain.cflags])
            jobs[name] = [CompileJob(p, tmp / name / p.relative_to(lib).with_suffix(".o"),
                                     (*args, *_language_flags(name, p))) for p in paths]
        syscalls = tmp / "uf_cxx_syscall.c"
        syscalls.write_text(render("cxx_syscall.c.j2"))
        jobs["libc++abi"].append(CompileJob(syscalls, tmp / "libc++abi" / "uf_cxx_syscall.o", (
            *toolchain.compile_args(system_include_dirs=[musl_headers],
                                    prefix_map=[(musl_headers, headers_name), (tmp, "c++-runtime")],
                                    flags=[*_RUNTIME_FLAGS, *toolchain.cflags]), "-std=c99")))
        every = [job for js in jobs.values() for job in js]
        with step(f"building the C++ runtime (libc++, libc++abi, libunwind) for {toolchain.triple} "
                  f"({len(every)} files, once per toolchain)", total=len(every)) as tick:
            toolchain.compile_all(every, progress=tick)
        index = {}
        for name, js in jobs.items():
            objects = [job.output for job in js]
            toolchain.archive(tmp / f"{name}.a", objects)
            # By section, not by member: libc++'s members are large (one defines both std::cin and std::ifstream).
            index[name] = {unit: symbols for o in objects
                           for unit, symbols in section_symbols(o, str(o.relative_to(tmp / name))).items()}
        (tmp / "index.json").write_text(json.dumps(index, sort_keys=True))
        for name in jobs:
            shutil.rmtree(tmp / name)

    try:
        folder, cached = cache.entry("cxx-runtime", key, make)
    except CompileError as e:
        # One line: the compiler's first error, not the output of every file that failed.
        lines = e.message.splitlines()
        first = next((line.strip() for line in lines if "error:" in line), lines[0] if lines else "")
        raise CompileError(f"the C++ runtime does not build for {toolchain.triple}: {first}",
                           hint="C++ sources need it; check that the ziglang package is the pinned one "
                                "(uniforge doctor)") from None
    index = json.loads((folder / "index.json").read_text())
    return Runtime([folder / f"{name}.a" for name in LIBRARIES], [(name, index[name]) for name in LIBRARIES], cached)


def for_target(target_name: str) -> Runtime:
    """The runtime a target's images link, for a C++ program's host executable (`uniforge c++`'s link)."""
    from . import musl, targets
    target = targets.load(target_name)
    return build(Toolchain.for_target(target, hosted=True), musl.headers(target.libc.arch), musl.HEADERS_NAME)


def _language_flags(library: str, source: Path) -> tuple[str, ...]:
    """libunwind's C++ is built without exceptions and RTTI (it is what implements them), its C with exceptions
    (the _Unwind_* entry points are called from frames that are being unwound)."""
    if source.suffix == ".c":
        return ("-std=c99", "-fexceptions")
    if source.suffix == ".cpp":
        return (*_CXX_FLAGS, *(("-fno-exceptions", "-fno-rtti") if library == "libunwind" else ()))
    return ()


def is_source(path: Path) -> bool:
    return path.suffix in CXX_SUFFIXES
