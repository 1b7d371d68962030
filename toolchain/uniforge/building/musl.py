"""musl 1.2.x as the apps' C library, its syscalls turned into direct calls into the library OS.

The sources come from a pinned tarball (never committed), fetched once into the cache. Each libc is built once per
(arch, compiler, flags, set of syscalls the library OS implements) and cached with an index of every member's symbols,
which the resolver walks like an archive.
"""
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..core import cache
from ..core.errors import ToolError
from ..core.paths import libos_dir
from ..core.progress import step
from . import strictfp
from .compiler import COMMON_CFLAGS, CompileJob, Toolchain
from .elfsyms import object_symbols
from .generate import render

VERSION = "1.2.3"
SHA256 = "7d5b0b6062521e4627e099e4c9dc8248d32a30285e959b7eecaa780cf8cfd4a4"
UPSTREAM = f"https://musl.libc.org/releases/musl-{VERSION}.tar.gz"
# What DWARF calls the folders the libc is built from (no path of this machine in an image).
DWARF_NAMES = {"source": "musl", "glue": "libos/libc", "build": "musl-build", "headers": "musl-headers"}
HEADERS_NAME = DWARF_NAMES["headers"]

# musl's own flags (its Makefile and configure), minus what only suits a hosted Linux build; -ffp-contract=off is
# what gcc does in musl's ISO mode (-std=c99) and clang does not: without it clang fuses a*b+c on ARMv7's VFPv4,
# and libm's results differ from a gcc-built musl's (tgamma in libc-test: by 2 ulp).
CFLAGS = ("-std=c99", "-ffreestanding", "-Os", "-D_XOPEN_SOURCE=700", "-fexcess-precision=standard", "-frounding-math",
          "-ffp-contract=off", "-fno-strict-aliasing", "-Qunused-arguments", "-w")
# The math library's members (musl's and the overlay's) are compiled with strict floating point (strictfp.py: on
# ARM too), so that they raise the exceptions C names and no others, in any rounding mode: without it, clang for
# ARM folds 0/0.0 away (no INVALID) and computes both sides of a select (fdim's x-y raising INEXACT where it
# returns 0).
STRICT_FP_FOLDERS = ("src/math/",)
# The folders musl's configure compiles for speed by default (--enable-optimize: internal, malloc and string, each
# without its subfolders, so mallocng stays -Os; at -O3 it measured no faster), the rest for size. Redis's pipelined
# requests: +14-17% (the string functions); hello: +944 bytes on x86_64.
SPEED_FOLDERS = ("src/internal", "src/malloc", "src/string")
SPEED_CFLAGS = ("-O3",)
# Fixes to musl's sources, (file, text, replacement), compiled from a fixed copy: where a musl function gives a
# wrong answer and the fix is a line. exp2's path for results below 2^-1022 raises UNDERFLOW by hand (its last
# step is exact, so the rounding before it raised none); an integer x gives an exact power of two there, for which
# C wants no UNDERFLOW: its polynomial part `tmp` is then 0. pow and powf first ask pow_exact.c (the overlay's)
# for the results that are exact and known without a logarithm (x^1, powers of two), which their log and exp would
# round, with INEXACT and UNDERFLOW or OVERFLOW, in the rounding mode's direction. erfc and erf from 1.25 on
# compute their exp(-x^2 - 0.5625 + R/S) / x in erfc_tail.c (the overlay's), at most 1.8 ulp instead of 2.6.
SOURCE_FIXES = (
    ("src/math/exp2.c", "\t\tfp_force_eval(fp_barrier(0x1p-1022) * 0x1p-1022);",
     "\t\tif (tmp != 0)\n\t\t\tfp_force_eval(fp_barrier(0x1p-1022) * 0x1p-1022);"),
    ("src/math/erf.c", "\treturn exp(-z*z-0.5625)*exp((z-x)*(z+x)+R/S)/x;",
     "\treturn __erfc_tail(x, R/S);"),
    ("src/math/erf.c", "static double erfc2(", "hidden double __erfc_tail(double, double);\n\nstatic double erfc2("),
    ("src/math/pow.c", "double pow(double x, double y)\n{\n",
     "hidden int __pow_exact(double, double, double *);\n\ndouble pow(double x, double y)\n{\n"
     "\tdouble exact;\n\tif (__pow_exact(x, y, &exact))\n\t\treturn exact;\n"),
    ("src/math/powf.c", "float powf(float x, float y)\n{\n",
     "hidden int __powf_exact(float, float, float *);\n\nfloat powf(float x, float y)\n{\n"
     "\tfloat exact;\n\tif (__powf_exact(x, y, &exact))\n\t\treturn exact;\n"),
)
# Left out on every arch: __syscall_cp.c would define the function our syscall_arch.h makes inline. Left out on
# x86_64: remquol.c reads the quotient from fprem1's status bits, which QEMU's x87 emulation leaves clear (its
# floatx80_modrem computes the quotient for fprem only; QEMU 10.0.2, also as qemu-user): the generic C remquol,
# right everywhere, takes its place.
EXCLUDED = ("src/thread/__syscall_cp.c", "src/math/x86_64/remquol.c")
# Syscalls a member names only on a path the library OS never takes, left out of its switch (they fold to ENOSYS)
# so that the member does not pull in their modules: __init_libc polls and reopens descriptors 0-2 on /dev/null
# only for a set-uid start (AT_SECURE or uid != euid), and module process starts with AT_SECURE 0 and uid 0.
UNREACHABLE_SYSCALLS = {"src/env/__libc_start_main.c": ("open", "poll")}
# Syscalls a member makes only when the library OS has them: weak references (-ENOSYS when absent), so the member
# pulls in no module for them. __map_file reads the time zone file TZ names (default /etc/localtime): localtime()
# in an app without files is UTC, in one with files it reads TZ=/path (or /etc/localtime, absent: UTC).
OPTIONAL_SYSCALLS = {"src/time/__map_file.c": ("open",)}
# Members with a function nothing calls whose variable syscall number would name every syscall (the switch of
# syscall_arch.h), so that the member would pull in every module: musl's generic cancellation point __syscall_cp_c
# in pthread_cancel.c (the library OS's are uf_cp_NAME, libos/libc/src/thread/uf_syscall_cp.c). Compiled with
# UF_CONSTANT_SYSCALLS: a number that is not a constant there is -ENOSYS.
CONSTANT_SYSCALLS = ("src/thread/pthread_cancel.c",)
# Members whose file use is the system's own files (/etc, /dev): user and group look-ups, the resolver's hosts,
# services and resolv.conf, /etc/shells, syslog's /dev/log. An app whose only file use is theirs is served by the
# VFS's own /etc and /dev, and gets no disk (module fat's `app_uses`).
SYSTEM_FILE_MEMBERS = ("src/passwd/", "src/network/", "src/legacy/getusershell.o", "src/misc/syslog.o")
# Arch assembly that traps into a kernel (`syscall`, `svc`) is left out: musl's generic C of the same name stays
# (vfork.c, __unmapself.c: their syscalls are direct calls), or the library OS's overlay replaces it (OVERLAY).
RAW_SYSCALL = re.compile(r"^\s*(syscall|svc|swi)\b", re.MULTILINE)


# The library OS's replacements for musl sources: a tree with musl's src/ layout (libos/libc/src/), whose file takes
# the place of musl's file of that name in that folder, on every arch, or on one in a subfolder named after musl's
# arch (src/signal/x86_64/restore.s).
OVERLAY = "src"


def cached_tarball() -> Path:
    """Where the pinned tarball lives once fetched (it may not exist yet)."""
    return cache.cache_root() / "musl" / f"musl-{VERSION}.tar.gz"


def tarball() -> Path:
    """The pinned musl tarball in the cache, fetched on first use."""
    path = cached_tarball()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tried = []
    for source in (_from_env, _from_apt, _from_upstream):
        try:
            data = source()
        except (OSError, subprocess.SubprocessError) as e:
            tried.append(f"{source.__doc__}: {e}")
            continue
        if data is None:
            continue
        digest = cache.hashlib.sha256(data).hexdigest()
        if digest != SHA256:
            tried.append(f"{source.__doc__}: SHA-256 {digest} is not the pinned {SHA256}")
            continue
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path
    raise ToolError(f"could not fetch musl {VERSION} sources:\n  " + "\n  ".join(tried or ["no source available"]),
                    hint="set UNIFORGE_MUSL_SOURCE=/path/to/musl-1.2.3.tar.gz, or enable deb-src and install "
                         "dpkg-dev (scripts/install-host-deps does both)")


def _from_env() -> bytes | None:
    """UNIFORGE_MUSL_SOURCE"""
    env = os.environ.get("UNIFORGE_MUSL_SOURCE")
    return Path(env).read_bytes() if env else None


def _from_apt() -> bytes | None:
    """the distribution's source package (apt-get source musl)"""
    if not shutil.which("apt-get"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "source", "--download-only", "musl"], cwd=tmp, check=True,
                       capture_output=True, timeout=300)
        found = list(Path(tmp).glob(f"musl_{VERSION}.orig.tar.gz"))
        return found[0].read_bytes() if found else None


def _from_upstream() -> bytes:
    """the upstream release"""
    with urllib.request.urlopen(UPSTREAM, timeout=10) as response:
        return response.read()


def source_tree() -> Path:
    """The unpacked musl tree (shared by every arch)."""
    def unpack(tmp: Path) -> None:
        with tarfile.open(tarball()) as tar:
            tar.extractall(tmp, filter="data")
    folder, _ = cache.entry("musl-src", cache.digest(SHA256), unpack)
    return folder / f"musl-{VERSION}"


# Fixes to musl's installed headers, (file, text, replacement): what a program compiled with them needs.
# CMSG_NXTHDR compares a size_t with a pointer difference: clang's -Wsign-compare fires in every program that
# walks control messages, and with -Werror (nginx's configure sets it for clang) the program does not build. The
# cast is the conversion C makes there anyway (same rank: the signed operand becomes unsigned).
HEADER_FIXES = (("sys/socket.h", "__MHDR_END(mhdr) - (unsigned char *)(cmsg) ",
                 "(size_t)(__MHDR_END(mhdr) - (unsigned char *)(cmsg)) "),)


def headers(musl_arch: str) -> Path:
    """musl's installed-form headers for one arch (what `make install-headers` would produce, with
    HEADER_FIXES)."""
    def install(tmp: Path) -> None:
        src = source_tree()
        inc = tmp / "include"
        shutil.copytree(src / "include", inc)
        shutil.copytree(src / "arch/generic/bits", inc / "bits", dirs_exist_ok=True)
        shutil.copytree(src / f"arch/{musl_arch}/bits", inc / "bits", dirs_exist_ok=True)
        _generate_bits(src, musl_arch, inc / "bits")
        for template in [*inc.glob("bits/*.in"), inc / "alltypes.h.in"]:
            template.unlink()
        for name, text, fixed in HEADER_FIXES:
            header = inc / name
            if text not in header.read_text():
                raise ToolError(f"musl {VERSION}'s {name} has no '{text.strip()}' to fix")
            header.write_text(header.read_text().replace(text, fixed))
    folder, _ = cache.entry("musl-headers", cache.digest(SHA256, musl_arch, repr(HEADER_FIXES)), install)
    return folder / "include"


def _generate_bits(src: Path, musl_arch: str, bits: Path) -> None:
    """alltypes.h and syscall.h, as musl's Makefile makes them (its sed script, run by sed)."""
    arch_bits = src / f"arch/{musl_arch}/bits"
    with open(bits / "alltypes.h", "w") as out:
        subprocess.run(["sed", "-f", src / "tools/mkalltypes.sed", arch_bits / "alltypes.h.in",
                        src / "include/alltypes.h.in"], stdout=out, check=True)
    numbers = (arch_bits / "syscall.h.in").read_text()
    (bits / "syscall.h").write_text(numbers + numbers.replace("__NR_", "SYS_"))


def syscall_names(headers_dir: Path) -> list[str]:
    """Syscall names indexed by number, from the arch's bits/syscall.h ("" where a number is unused)."""
    numbers = {}
    for line in (headers_dir / "bits/syscall.h").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("SYS_") and parts[2].isdigit():
            numbers[int(parts[2])] = parts[1][4:]
    return [numbers.get(n, "") for n in range(max(numbers) + 1)] if numbers else []


@dataclass(frozen=True)
class Libc:
    archive: Path
    index: dict[str, dict[str, list[str]]]      # member -> {"defined", "undefined"}
    key: str
    cached: bool = False                        # it came from the cache


def build(toolchain: Toolchain, musl_arch: str, arch: str, cflags: list[str], syscalls: list[str]) -> Libc:
    """libc.a for the arch whose syscall switch calls exactly the given uf_sys_* implementations."""
    glue = libos_dir() / "libc"
    glue_key = cache.hash_files([p for p in glue.rglob("*") if p.is_file()], glue)
    key = cache.digest(SHA256, toolchain.version, musl_arch, " ".join([*toolchain.target_args(), *COMMON_CFLAGS,
                                                                      *CFLAGS, *cflags]),
                       json.dumps(DWARF_NAMES, sort_keys=True), " ".join(syscalls), glue_key, " ".join(EXCLUDED),
                       render("syscall_arch.h.j2", syscalls=syscalls),
                       json.dumps([UNREACHABLE_SYSCALLS, OPTIONAL_SYSCALLS, CONSTANT_SYSCALLS], sort_keys=True),
                       " ".join(STRICT_FP_FOLDERS), repr((SPEED_FOLDERS, SPEED_CFLAGS)),
                       Path(strictfp.__file__).read_text(), repr(SOURCE_FIXES),
                       *[" ".join(compat) for compat in [compat_dirs(source_tree(), musl_arch)] if compat])

    def make(tmp: Path) -> None:
        _build_into(tmp, toolchain, musl_arch, arch, cflags, syscalls)

    folder, cached = cache.entry("libc", key, make)
    index = json.loads((folder / "index.json").read_text())
    return Libc(folder / "libc.a", index, key, cached)


def _build_into(out: Path, toolchain: Toolchain, musl_arch: str, arch: str, cflags: list[str],
                syscalls: list[str]) -> None:
    src = source_tree()
    generated = out / "include"
    generated.mkdir()
    (generated / "syscall_arch.h").write_text(render("syscall_arch.h.j2", syscalls=syscalls))
    (out / "version.h").write_text(f'#define VERSION "{VERSION}"\n')
    glue = libos_dir() / "libc"
    include_dirs = [generated, glue / arch, glue / "include", src / f"arch/{musl_arch}", src / "arch/generic", out,
                    src / "src/include", src / "src/internal", headers(musl_arch)]
    args = toolchain.compile_args(include_dirs=include_dirs, flags=[*CFLAGS, *cflags],
                                  prefix_map=[(src, DWARF_NAMES["source"]), (glue, DWARF_NAMES["glue"]),
                                              (out, DWARF_NAMES["build"]), (headers(musl_arch), HEADERS_NAME)])
    sources = select_sources(src, musl_arch, glue / OVERLAY)
    fixes = {file: [(text, fixed) for f, text, fixed in SOURCE_FIXES if f == file] for file, _, _ in SOURCE_FIXES}
    jobs = []
    for path in sources:
        rel = path.relative_to(glue.parent.parent if path.is_relative_to(glue) else src)
        layout = str(path.relative_to(glue if path.is_relative_to(glue) else src))     # src/math/acosh.c
        folded = [f"-DUF_UNREACHABLE_SYS_{name}" for name in UNREACHABLE_SYSCALLS.get(str(rel), ())]
        folded += [f"-DUF_OPTIONAL_SYS_{name}" for name in OPTIONAL_SYSCALLS.get(str(rel), ())]
        folded += ["-DUF_CONSTANT_SYSCALLS"] if str(rel) in CONSTANT_SYSCALLS else []
        folded += SPEED_CFLAGS if str(Path(layout).parent) in SPEED_FOLDERS and path.suffix == ".c" else []
        if str(rel) in fixes:
            path = fixed_copy(path, str(rel), fixes[str(rel)], out / "fixed")
            folded.append(f"-iquote{src / rel.parent}")
        if layout.startswith(STRICT_FP_FOLDERS) and path.suffix == ".c":
            jobs.append(CompileJob(path, out / "obj" / rel.with_suffix(".o"), (*args, *folded, *strictfp.FLAGS),
                                   strictfp.rewrite))
        else:
            jobs.append(CompileJob(path, out / "obj" / rel.with_suffix(".o"), (*args, *folded)))
    with step(f"building musl {VERSION} for {musl_arch} ({len(jobs)} files, once per toolchain)", total=len(jobs)) as tick:
        toolchain.compile_all(jobs, progress=tick)
    # Member names must be unique in an archive index we key by name: use the path below obj/.
    objects = [job.output for job in jobs]
    toolchain.archive(out / "libc.a", objects)
    index = {str(o.relative_to(out / "obj")): object_symbols(o) for o in objects}
    (out / "index.json").write_text(json.dumps(index, sort_keys=True))
    shutil.rmtree(out / "obj")
    shutil.rmtree(out / "fixed", ignore_errors=True)


def fixed_copy(path: Path, rel: str, fixes: list[tuple[str, str]], folder: Path) -> Path:
    """A copy of musl's source `rel` with SOURCE_FIXES applied (its own folder stays on the quoted include path)."""
    text = path.read_text()
    for old, fixed in fixes:
        if text.count(old) != 1:
            raise ToolError(f"musl {VERSION}'s {rel} has no single '{old.strip()}' to fix")
        text = text.replace(old, fixed)
    copy = folder / rel
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text)
    return copy


def compat_dirs(src: Path, musl_arch: str) -> list[str]:
    """The arch's COMPAT_SRC_DIRS (its arch.mak): compat/time32 on 32-bit archs, the symbols of the time32 ABI
    (`clock_gettime` beside `__clock_gettime64`), which a link-only check such as autoconf's looks for."""
    mak = src / f"arch/{musl_arch}/arch.mak"
    for line in mak.read_text().splitlines() if mak.exists() else ():
        name, _, value = line.partition("=")
        if name.strip() == "COMPAT_SRC_DIRS":
            return value.split()
    return []


def select_sources(src: Path, musl_arch: str, overlay: Path | None = None) -> list[Path]:
    """musl's Makefile rule over every src/*/*.c (and mallocng, and the arch's compat folders), with the overlay
    (same layout) on top: for each folder and file name, the overlay's file for the arch, else the overlay's, else
    musl's for the arch unless it traps into a kernel, else musl's generic one."""
    dirs = [d for d in sorted((src / "src").iterdir()) if d.is_dir() and d.name not in ("include", "internal")]
    dirs += [src / "src/internal", src / "src/malloc/mallocng", *(src / d for d in compat_dirs(src, musl_arch))]
    excluded = {src / rel for rel in EXCLUDED}
    chosen: dict[tuple[Path, str], Path] = {}
    for d in dirs:
        arch = [p for p in sorted((d / musl_arch).glob("*.[csS]"))
                if not (p.suffix in (".s", ".S") and RAW_SYSCALL.search(p.read_text()))]
        mirror = overlay / d.relative_to(src / "src") if overlay and d.is_relative_to(src / "src") else None
        theirs = [*sorted(mirror.glob("*.[csS]")), *sorted((mirror / musl_arch).glob("*.[csS]"))] if mirror else []
        for path in [*sorted(d.glob("*.c")), *arch, *theirs]:
            if path not in excluded:
                chosen[(d, path.stem)] = path
    return list(chosen.values())
