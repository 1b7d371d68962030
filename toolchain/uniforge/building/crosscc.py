"""A cross toolchain for software with its own build system: `uniforge cc`, `c++`, `ar`, `ranlib` and the
environment `uniforge env` prints (CC, CFLAGS, a --host triple, a CMake toolchain file).

Compiling is `uniforge build`'s compile of an app's sources (pipeline.app_compile_args), whatever the folder.
Linking an executable makes two things: a static Linux executable for the host, linked from the same objects and
archives with the same libc.a an image links, Linux answering its direct syscalls (templates/host_syscalls.c.j2):
configure's test programs compile, link and run, and see the syscalls the library OS has; and a record of those
inputs beside it (linkrecord), from which the manifest's `link_from` links the image later.
"""
from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..core import cache
from ..core.errors import CompileError, LinkError, UniforgeError
from ..core.progress import step
from . import linkrecord, musl, runtime
from .cxx import build as cxx_runtime
from .compiler import Toolchain, zig_env
from .generate import render
from .manifest import Manifest
from .pipeline import abi, app_compile_args, app_libc, implemented_syscalls, library_os
from .targets import Target

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
# The qemu-user program that runs a target arch's Linux executables, and where the program goes beside the script
# that starts it (when the kernel cannot run it itself).
QEMU_USER = {"armv7": "qemu-arm", "x86_64": "qemu-x86_64"}
ELF_SUFFIX = ".uniforge.elf"
# Syscalls the library OS implements by refusing them with EPERM (module process: one process, no other program
# to run), which the host executable refuses too: configure learns that fork() fails.
REFUSED_SYSCALLS = ("fork", "vfork", "clone", "execve", "execveat")
# What the host links an executable with besides its inputs (musl's own start file is crt1).
HOST_LDFLAGS = ("-static", "-z", "noexecstack", "--build-id=none", "-z", "max-page-size=4096")


@dataclass(frozen=True)
class HostKit:
    """What a host executable links besides the program's inputs: musl's crt1, the image's libc.a, the Linux
    answers to its syscalls, the compiler's runtime."""
    crt1: Path
    answers: Path
    libc: Path
    compiler_rt: Path


class CrossToolchain:
    """The cross toolchain of one target."""

    def __init__(self, target: Target):
        self.target = target
        self.hosted = Toolchain.for_target(target, hosted=True)
        self.freestanding = Toolchain.for_target(target)

    @cached_property
    def headers(self) -> Path:
        return musl.headers(self.target.libc.arch)

    @property
    def host_triple(self) -> str:
        """The --host triple for configure: the app triple with a vendor (config.sub wants four parts' worth)."""
        arch, rest = self.hosted.triple.split("-", 1)
        return f"{arch}-unknown-{rest}"

    def compiler(self, cxx: bool = False) -> list[str]:
        """The compiler and the flags `uniforge build` compiles an app's sources with, but for where they are: the
        working folder, "." in DWARF as the app's folder is for `uniforge build` (FOLDER_MAP, first: the more
        specific maps that follow win)."""
        return [str(self.hosted.zig), "clang", *(["--driver-mode=g++"] if cxx else []),
                *app_compile_args(self.hosted, self.headers, cxxflags=() if cxx else None)]

    def compile_command(self, cxx: bool = False) -> list[str]:
        return [*self.compiler(cxx)[:2], FOLDER_MAP.format(folder=Path.cwd()), *self.compiler(cxx)[2:]]

    # -- uniforge cc / c++ --------------------------------------------------------------------------------------

    def cc(self, args: list[str], cxx: bool = False) -> int:
        """Run as a compiler driver would: compile (and preprocess, and answer -dumpmachine...) as clang does;
        link an executable as described above. Returns the exit status."""
        if not args or NOT_LINKING & set(args) or not _inputs(args):
            return self._run([*self.compile_command(cxx), *args])
        self.link(args, cxx)
        return 0

    @staticmethod
    def _run(cmd: list[str]) -> int:
        return subprocess.run(cmd, env=zig_env()).returncode

    def link(self, args: list[str], cxx: bool = False) -> Path:
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
                record.append((linkrecord.OBJECT, self._compile_for_link(value, flags, cxx)))
            elif kind == "-l":
                if value not in LIBC_LIBRARIES:
                    record.append((linkrecord.ARCHIVE, _find_library(value, lib_dirs)))
            elif not Path(value).is_file():
                raise LinkError(f"{value}: no such file")
            else:
                record.append((kind, Path(value).resolve()))
        # A C++ program's host executable links the image's C++ runtime too (the image links it when its objects
        # call into it: pipeline).
        runtime_archives = cxx_runtime(self.hosted, self.headers, musl.HEADERS_NAME).archives if cxx else []
        self._link_host(output, [*(path for _, path in record), *runtime_archives], _static_ldflags(ldflags))
        linkrecord.write(output, linkrecord.LinkRecord(abi(self.hosted), tuple(record)))
        return output

    def _compile_for_link(self, source: str, flags: list[str], cxx: bool) -> Path:
        """A source named on a link command line, compiled as with -c into the cache (named by its content): the
        image is linked from it later."""
        with tempfile.TemporaryDirectory(prefix="uniforge-cc-") as tmp:
            obj = Path(tmp) / (Path(source).stem + ".o")
            status = self._run([*self.compile_command(cxx), *flags, "-c", source, "-o", str(obj)])
            if status != 0:
                raise CompileError(f"compiling {source} failed (the compiler's messages are above)")
            data = obj.read_bytes()
            folder, _ = cache.entry(linkrecord.COMPILED_KIND, cache.digest(data),
                                    lambda d: (d / obj.name).write_bytes(data))
        return folder / obj.name

    def _link_host(self, output: Path, inputs: list[Path], ldflags: list[str]) -> None:
        """The host executable at output; where only qemu-user runs it, the program is EXE.uniforge.elf and EXE a
        script that starts it there (the kernel would refuse it, and configure would take its cross answers)."""
        kit = self.host_kit()
        program = output.with_name(output.name + ELF_SUFFIX) if self.emulator else output
        cmd = [str(self.hosted.zig), "ld.lld", *HOST_LDFLAGS, str(kit.crt1), str(kit.answers), *map(str, inputs),
               str(kit.libc), str(kit.compiler_rt), *ldflags, "-o", str(program)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=zig_env())
        if proc.returncode == 0:
            if self.emulator:
                output.unlink(missing_ok=True)
                output.write_text(f'#!/bin/sh\nexec {shlex.quote(self.emulator)} -0 "$0" "$0{ELF_SUFFIX}" "$@"\n')
                output.chmod(0o755)
            return
        sys.stderr.write(proc.stderr)           # configure keeps the linker's own words in config.log
        missing = sorted({line.split("undefined symbol: ", 1)[1].strip() for line in proc.stderr.splitlines()
                          if "undefined symbol: " in line})
        if missing:
            raise LinkError(f"linking {output} failed: undefined symbol{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)}: not in the app's objects, musl {musl.VERSION} or the libraries "
                            f"given")
        first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip())
        raise LinkError(f"linking {output} failed: {first.strip()}")

    def host_kit(self) -> HostKit:
        """Cached per libc: crt1 and the Linux answers compiled, the libc and compiler-rt of the image."""
        libos = library_os(self.target, self.freestanding)
        libc = app_libc(self.target, self.hosted, libos)
        compiler_rt, _, _ = runtime.build(self.freestanding)
        syscalls = implemented_syscalls(libos)
        answered = {"uf_signal_syscall_return", "uf_arch_set_thread_pointer", "uf_sys_enosys", "uf_thread_clone",
                    "uf_thread_unmap_exit"}
        defined = {s for member in libc.index.values() for s in member["defined"]}
        glue = sorted({s for member in libc.index.values() for s in member["undefined"]
                       if s.startswith("uf_") and not s.startswith("uf_sys_") and s not in answered | defined})
        source = render("host_syscalls.c.j2", syscalls=syscalls, names=musl.syscall_names(self.headers),
                        refused=REFUSED_SYSCALLS, cancellable=[s.removeprefix("uf_cp_") for s in glue
                                                               if s.startswith("uf_cp_")],
                        others=[s for s in glue if not s.startswith("uf_cp_")])
        args = app_compile_args(self.hosted, self.headers)
        src = musl.source_tree()
        crt_args = self.hosted.compile_args(
            include_dirs=[src / f"arch/{self.target.libc.arch}", src / "arch/generic", src / "src/include",
                          src / "src/internal", self.headers],
            defines=["CRT"], flags=[*musl.CFLAGS, *self.hosted.cflags], prefix_map=[(src, "musl")])

        def make(tmp: Path) -> None:
            (tmp / "answers.c").write_text(source)
            for name, path, flags in (("answers", tmp / "answers.c", args), ("crt1", src / "crt/crt1.c", crt_args)):
                proc = subprocess.run([str(self.hosted.zig), "clang", *flags, "-c", str(path), "-o",
                                       str(tmp / f"{name}.o")], capture_output=True, text=True, env=zig_env(),
                                      cwd=tmp)
                if proc.returncode != 0:
                    raise CompileError(f"compiling the host executables' {name} failed:\n{proc.stderr.rstrip()}")

        folder, _ = cache.entry("cc-host", cache.digest(libc.key, source, *args, *crt_args), make)
        return HostKit(folder / "crt1.o", folder / "answers.o", libc.archive, compiler_rt)

    # -- uniforge ar / ranlib -----------------------------------------------------------------------------------

    def archiver(self, tool: str) -> list[str]:
        """`ar` or `ranlib`: llvm's (zig's), deterministic by default: no timestamps, owners or modes."""
        return [str(self.hosted.zig), tool]

    def ar(self, args: list[str]) -> int:
        return self._run([*self.archiver("ar"), *args])

    def ranlib(self, args: list[str]) -> int:
        return self._run([*self.archiver("ranlib"), *args])

    # -- uniforge env -------------------------------------------------------------------------------------------

    def runs_natively(self) -> bool:
        """Whether this host's kernel runs the target's Linux executables: the same arch, or a binfmt_misc entry
        for it (Debian's qemu-user-binfmt)."""
        machine = {"x86_64": "x86_64", "amd64": "x86_64", "armv7l": "armv7"}.get(platform.machine())
        if machine == self.target.arch and sys.platform == "linux":
            return True
        try:
            return (Path("/proc/sys/fs/binfmt_misc") / QEMU_USER[self.target.arch]).read_text().startswith("enabled")
        except OSError:
            return False

    @cached_property
    def emulator(self) -> str | None:
        """qemu-user for the target's executables when the kernel cannot run them itself (and it is installed)."""
        return None if self.runs_natively() else shutil.which(QEMU_USER[self.target.arch])

    def tools(self) -> Path:
        """Folder of small scripts that run `uniforge cc -t TARGET` etc. with this Python (CMake wants one file
        per tool), and the CMake toolchain file naming them, in the cache."""
        uniforge = f"{shlex.quote(sys.executable)} -m uniforge"
        scripts = {f"uniforge-{tool}": render("cc-tool.sh.j2", tool=tool, uniforge=uniforge, target=self.target.name,
                                              direct=_words(self.archiver(tool)))
                   for tool in ("ar", "ranlib")}
        scripts |= {f"uniforge-{tool}": render("cc-tool.sh.j2", tool=tool, uniforge=uniforge, target=self.target.name,
                                               direct=_words(self.compiler(tool == "c++")[:2]),
                                               flags=_words(self.compiler(tool == "c++")[2:]),
                                               folder_map=FOLDER_MAP.format(folder="$PWD"),
                                               not_linking=sorted(NOT_LINKING))
                    for tool in ("cc", "c++")}
        native, emulator = self.runs_natively(), self.emulator
        cmake = render("toolchain.cmake.j2", bin="@BIN@", target=self.target.name, native=native, emulator=emulator,
                       processor={"x86_64": "x86_64", "armv7": "arm"}[self.target.arch])
        site = render("config.site.j2", target=self.target.name)
        key = cache.digest(*scripts, *scripts.values(), cmake, site)
        final = cache.cache_root() / "cc-tools" / key[:32]

        def make(tmp: Path) -> None:
            for name, text in scripts.items():
                (tmp / name).write_text(text)
                (tmp / name).chmod(0o755)
            (tmp / "toolchain.cmake").write_text(cmake.replace("@BIN@", str(final)))
            (tmp / "config.site").write_text(site)

        folder, _ = cache.entry("cc-tools", key, make)
        return folder

    def env(self) -> dict[str, str]:
        """The environment for a project's build (`uniforge env`, the manifest's `build` commands)."""
        tools = self.tools()
        return {"CC": str(tools / "uniforge-cc"), "CXX": str(tools / "uniforge-c++"), "AR": str(tools / "uniforge-ar"),
                "RANLIB": str(tools / "uniforge-ranlib"), "CFLAGS": "-O2", "CXXFLAGS": "-O2", "LDFLAGS": "-static",
                "UNIFORGE_TARGET": self.target.name, "UNIFORGE_HOST": self.host_triple,
                "CMAKE_TOOLCHAIN_FILE": str(tools / "toolchain.cmake"), "CONFIG_SITE": str(tools / "config.site")}

    def env_notes(self) -> list[str]:
        """What `uniforge env` says about configure's test programs on this host (as comments)."""
        if self.runs_natively():
            return [f"configure's test programs for {self.target.name} run on this host: checks get true answers"]
        if self.emulator:
            return [f"configure's test programs for {self.target.name} run through {self.emulator}: each "
                    "executable is a script that starts it on EXE.uniforge.elf (the program itself)"]
        return [f"this host cannot run {self.target.name}'s executables: configure takes its cross-compiling "
                "answers (set ac_cv_* variables to give others)",
                f"to run them, install {QEMU_USER[self.target.arch]} (Debian's qemu-user)"]


def _words(cmd: list[str]) -> str:
    return " ".join(map(shlex.quote, cmd))


def _inputs(args: list[str]) -> bool:
    """Whether a command line names any input (file, -l library): without one, clang answers alone."""
    words = iter(args)
    for word in words:
        if word in TAKES_VALUE:
            if word == "-l":
                return True
            next(words, None)
        elif word.startswith("-l") or not word.startswith("-") or word == "-":
            return True
    return False


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


def run_build(app: Manifest, target: Target, log: Path) -> None:
    """The manifest's `build` commands, in the app's folder, each with the cross toolchain's environment;
    their output goes to `log`. The first that fails is an error naming it."""
    if not app.build:
        return
    toolchain = CrossToolchain(target)
    env = {**os.environ, **toolchain.env()}
    toolchain.host_kit()            # the libc built here, where its progress shows, not inside configure's first check
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        for command in app.build:
            with step(f"running `{command if len(command) <= 72 else command[:69] + '...'}`"):
                out.write(f"$ {command}\n".encode())
                out.flush()
                status = subprocess.run(command, shell=True, cwd=app.root, env=env, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
            if status != 0:
                raise CompileError(f"{app.path}: key 'build': `{command}` failed with status {status}",
                                   hint=f"its output is in {log}")


def load_target(name: str | None) -> Target:
    """-t TARGET, else UNIFORGE_TARGET."""
    from . import targets
    name = name or os.environ.get("UNIFORGE_TARGET")
    if not name:
        raise UniforgeError("no target: give -t TARGET or set UNIFORGE_TARGET",
                            hint=f"targets: {', '.join(targets.names())}")
    return targets.load(name)

