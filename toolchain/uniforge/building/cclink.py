"""`uniforge cc` and `c++` once their target is resolved into a Kit (crosscc.CrossToolchain.kit): a compile goes to
clang as it is; linking an executable makes a static Linux executable for the host from the same objects and
archives and the image's own libc.a, whose direct syscalls Linux answers (templates/host_syscalls.c.j2), and records
those inputs beside it (linkrecord), from which the manifest's `link_from` links the image later.

`uniforge env` writes the kit beside the CC it names, whose links run this module alone: `python -m
uniforge.building.cclink KIT.json [--c++] ARGS` resolves no target, module or libc and imports little more than the
standard library, so that a configure check's link costs about what clang and lld take.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core import cache
from ..core.errors import CompileError, LinkError, ToolError, UniforgeError
from . import linkrecord
from .compiler import zig_env

# What musl's libc.a holds whole: -lm, -lpthread... name no other archive.
LIBC_LIBRARIES = {"c", "m", "pthread", "rt", "dl", "util", "xnet", "crypt", "resolv"}
SOURCE_SUFFIXES = {".c", ".i", ".s", ".S", ".sx", ".cc", ".cp", ".cpp", ".cxx", ".c++", ".C", ".ii"}
# A command line with one of these makes no executable: it goes to the compiler as it is (so does one without
# inputs: --version, -dumpmachine, -print-prog-name=ld...).
NOT_LINKING = {"-c", "-S", "-E", "-M", "-MM", "-fsyntax-only"}
# Options whose value is the next word.
TAKES_VALUE = {"-o", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-idirafter", "-iquote", "-iprefix",
               "-iwithprefix", "-isysroot", "--sysroot", "-MF", "-MT", "-MQ", "-x", "-L", "-l", "-Xlinker",
               "-Xclang", "-Xpreprocessor", "-Xassembler", "-T", "-z", "-u", "-e", "--param", "-aux-info"}
# Link options that say what a static executable already is.
LINK_NOOPS = {"-static", "-rdynamic", "-s", "-no-pie", "-pie", "-static-pie", "-static-libgcc", "-static-libstdc++",
              "-pthread", "-shared-libgcc"}
# How a compile names the folder it runs in, in DWARF (clang: the last matching map wins).
FOLDER_MAP = "-ffile-prefix-map={folder}=."
# Where the program goes beside the script that starts it under qemu-user (when the kernel cannot run it itself).
ELF_SUFFIX = ".uniforge.elf"
# What the host links an executable with besides its inputs (musl's own start file is crt1).
HOST_LDFLAGS = ("-static", "-z", "noexecstack", "--build-id=none", "-z", "max-page-size=4096")


@dataclass(frozen=True)
class Kit:
    """What one target's `uniforge cc` compiles and links with, as strings (it is kept as JSON)."""
    target: str                 # its name: a C++ link resolves the C++ runtime through it
    zig: str
    cflags: tuple[str, ...]     # clang's words for a C source (pipeline.app_compile_args)
    cxxflags: tuple[str, ...]   # for C++ (g++'s driver mode, libc++'s headers first)
    crt1: str                   # musl's start file, compiled for the host executables
    answers: str                # the Linux answers to the libc's direct syscalls
    libc: str                   # the image's libc.a
    compiler_rt: str
    abi: str                    # what its objects are compiled for (pipeline.abi), in the link record
    emulator: str | None        # qemu-user, where the kernel cannot run the target's executables itself

    def compiler(self, cxx: bool = False) -> list[str]:
        return compile_command(self.zig, self.cxxflags if cxx else self.cflags)

    def text(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def load(cls, path: Path) -> Kit:
        """The kit `uniforge env` wrote; one this uniforge cannot read (gone, or written by another version) is an
        error that says what to do."""
        try:
            document = json.loads(path.read_text())
            return cls(**{**document, "cflags": tuple(document["cflags"]), "cxxflags": tuple(document["cxxflags"])})
        except (OSError, ValueError, TypeError, KeyError):
            raise ToolError(f"{path}: not a toolchain this uniforge can read (from an older `uniforge env`?)",
                            hint='run `eval "$(uniforge env)"` again, and configure the project again') from None


def compile_command(zig: str, flags: tuple[str, ...] | list[str]) -> list[str]:
    """The compiler with `flags`, for where it runs: the working folder is "." in DWARF, as the app's folder is for
    `uniforge build` (FOLDER_MAP, first: the more specific maps that follow win)."""
    return [zig, "clang", FOLDER_MAP.format(folder=Path.cwd()), *flags]


def links(args: list[str]) -> bool:
    """Whether a command line links an executable: it names an input (file, -l library) and no option that stops
    before the link. Any other goes to the compiler as it is."""
    if not args or NOT_LINKING & set(args):
        return False
    words = iter(args)
    for word in words:
        if word in TAKES_VALUE:
            if word == "-l":
                return True
            next(words, None)
        elif word.startswith("-l") or not word.startswith("-") or word == "-":
            return True
    return False


def run(cmd: list[str]) -> int:
    return subprocess.run(cmd, env=zig_env()).returncode


def link(kit: Kit, args: list[str], cxx: bool = False) -> Path:
    """Compile the sources among args, link the host executable, record its inputs. Returns its path."""
    output, inputs, lib_dirs, ldflags, flags = Path("a.out"), [], [], [], []
    words = iter(args)
    for word in words:
        value = next(words, None) if word in TAKES_VALUE else None
        if word in TAKES_VALUE and value is None:
            raise CompileError(f"option {word} needs a value")
        if word == "-o":
            output = Path(value)
        elif word.startswith("-l"):
            inputs.append(("-l", value or word[2:]))
        elif word.startswith("-L"):
            lib_dirs.append(Path(value or word[2:]))
        elif word.startswith("-Wl,"):
            ldflags += word[4:].split(",")
        elif word in ("-Xlinker", "-T", "-z", "-u", "-e"):
            ldflags += [value] if word == "-Xlinker" else [word, value]
        elif word in ("-shared", "-r"):
            raise LinkError(f"cannot link with {word}: an image links everything statically",
                            hint="configure the project with --disable-shared (libtool) or build static libraries")
        elif word in LINK_NOOPS:
            flags += ["-pthread"] if word == "-pthread" else []
        elif word.startswith("-"):
            flags += [word] if value is None else [word, value]
        elif Path(word).suffix in SOURCE_SUFFIXES:
            inputs.append(("source", word))
        else:
            inputs.append((linkrecord.ARCHIVE if word.endswith(".a") else linkrecord.OBJECT, word))
    record = []
    for kind, value in inputs:
        if kind == "source":
            record.append((linkrecord.OBJECT, _compile_for_link(kit, value, flags, cxx)))
        elif kind == "-l":
            if value not in LIBC_LIBRARIES:
                record.append((linkrecord.ARCHIVE, _find_library(value, lib_dirs)))
        elif not Path(value).is_file():
            raise LinkError(f"{value}: no such file")
        else:
            record.append((kind, Path(value).resolve()))
    # A C++ program's host executable links the image's C++ runtime too (the image links it when its objects call
    # into it: pipeline). Resolving it reads libc++'s sources: only a C++ link pays for it.
    runtime_archives = []
    if cxx:
        from . import cxx as cxx_runtime
        runtime_archives = cxx_runtime.for_target(kit.target).archives
    _link_host(kit, output, [*(path for _, path in record), *runtime_archives], _static_ldflags(ldflags))
    linkrecord.write(output, linkrecord.LinkRecord(kit.abi, tuple(record)))
    return output


def _compile_for_link(kit: Kit, source: str, flags: list[str], cxx: bool) -> Path:
    """A source named on a link command line, compiled as with -c into the cache (named by its content): the
    image is linked from it later."""
    with tempfile.TemporaryDirectory(prefix="uniforge-cc-") as tmp:
        obj = Path(tmp) / (Path(source).stem + ".o")
        if run([*kit.compiler(cxx), *flags, "-c", source, "-o", str(obj)]) != 0:
            raise CompileError(f"compiling {source} failed (the compiler's messages are above)")
        data = obj.read_bytes()
        folder, _ = cache.entry(linkrecord.COMPILED_KIND, cache.digest(data),
                                lambda d: (d / obj.name).write_bytes(data))
    return folder / obj.name


def program_of(output: Path) -> Path:
    """The program itself that `uniforge cc -o output` linked: output, or beside it when output is the script that
    starts it under qemu-user (a foreign arch's)."""
    beside = output.with_name(output.name + ELF_SUFFIX)
    return beside if beside.is_file() else output


def _link_host(kit: Kit, output: Path, inputs: list[Path], ldflags: list[str]) -> None:
    """The host executable at output; where only qemu-user runs it, the program is EXE.uniforge.elf and EXE a
    script that starts it there (the kernel would refuse it, and configure would take its cross answers)."""
    missing = [path for path in (kit.crt1, kit.answers, kit.libc, kit.compiler_rt) if not Path(path).is_file()]
    if missing:
        raise LinkError(f"{missing[0]} is gone from the cache: the CC of an older `uniforge env` links with it",
                        hint='run `eval "$(uniforge env)"` again, and configure the project again')
    program = output.with_name(output.name + ELF_SUFFIX) if kit.emulator else output
    cmd = [kit.zig, "ld.lld", *HOST_LDFLAGS, kit.crt1, kit.answers, *map(str, inputs), kit.libc, kit.compiler_rt,
           *ldflags, "-o", str(program)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=zig_env())
    if proc.returncode == 0:
        if kit.emulator:
            output.unlink(missing_ok=True)
            output.write_text(f'#!/bin/sh\nexec {shlex.quote(kit.emulator)} -0 "$0" "$0{ELF_SUFFIX}" "$@"\n')
            output.chmod(0o755)
        return
    sys.stderr.write(proc.stderr)           # configure keeps the linker's own words in config.log
    undefined = sorted({line.split("undefined symbol: ", 1)[1].strip() for line in proc.stderr.splitlines()
                        if "undefined symbol: " in line})
    if undefined:
        raise LinkError(f"linking {output} failed: undefined symbol{'s' if len(undefined) > 1 else ''} "
                        f"{', '.join(undefined)}: not in the app's objects, musl's libc or the libraries given")
    first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip())
    raise LinkError(f"linking {output} failed: {first.strip()}")


def _static_ldflags(ldflags: list[str]) -> list[str]:
    """The linker options that mean something for a static executable: a version script (Debian's builds give
    libraries one, and executables linked against them) names dynamic symbols, which it has none of."""
    kept, words = [], iter(ldflags)
    for word in words:
        if word in ("--version-script", "--dynamic-list"):
            next(words, None)
        elif not word.startswith(("--version-script=", "--dynamic-list=")):
            kept.append(word)
    return kept


def _find_library(name: str, lib_dirs: list[Path]) -> Path:
    for folder in lib_dirs:
        if (folder / f"lib{name}.a").is_file():
            return (folder / f"lib{name}.a").resolve()
    raise LinkError(f"cannot find -l{name}: no lib{name}.a in "
                    f"{', '.join(map(str, lib_dirs)) or 'any -L folder'} (an image links static archives only)")


def main(argv: list[str]) -> int:
    """KIT.json [--c++] ARGS: what the CC (and CXX) of `uniforge env` runs for anything but a compile."""
    cxx = argv[1:2] == ["--c++"]
    args = argv[2:] if cxx else argv[1:]
    try:
        kit = Kit.load(Path(argv[0]))
        if not links(args):
            return run([*kit.compiler(cxx), *args])
        link(kit, args, cxx)
        return 0
    except UniforgeError as e:
        e.show()
        return e.exit_code
    except KeyboardInterrupt:
        print("uniforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
