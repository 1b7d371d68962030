"""A cross toolchain for software with its own build system: `uniforge cc`, `c++`, `ar`, `ranlib` and the
environment `uniforge env` prints (CC, CFLAGS, a --host triple, a CMake toolchain file).

Compiling is `uniforge build`'s compile of an app's sources (pipeline.app_compile_args), whatever the folder.
Linking an executable makes two things (cclink.py): a static Linux executable for the host, linked from the same
objects and archives with the same libc.a an image links, Linux answering its direct syscalls
(templates/host_syscalls.c.j2): configure's test programs compile, link and run, and see the syscalls the library OS
has; and a record of those inputs beside it (linkrecord), from which the manifest's `link_from` links the image
later. This module resolves a target into what that takes (cclink.Kit); `uniforge env` writes it beside its CC, which
then compiles without Python and links without resolving anything again.
"""
from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache as memoized, cached_property
from pathlib import Path

from ..core import cache
from ..core.errors import CompileError, UniforgeError
from ..core.progress import step
from . import cclink, musl, runtime
from .compiler import Toolchain, zig_env
from .generate import render
from .manifest import Manifest
from .pipeline import abi, app_compile_args, app_libc, implemented_syscalls, library_os
from .targets import Target

# The qemu-user program that runs a target arch's Linux executables.
QEMU_USER = {"armv7": "qemu-arm", "x86_64": "qemu-x86_64"}
# Syscalls the library OS implements by refusing them with EPERM (module process: one process, no other program
# to run), which the host executable refuses too: configure learns that fork() fails.
REFUSED_SYSCALLS = ("fork", "vfork", "clone", "execve", "execveat")
# The file beside the CC of `uniforge env` that its links run with (cclink.Kit).
KIT_FILE = "kit.json"


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

    def compile_flags(self, cxx: bool = False) -> list[str]:
        """clang's flags as `uniforge build` compiles an app's sources (cclink.compile_command adds the working
        folder's name in DWARF); C++: g++'s driver mode."""
        return [*(["--driver-mode=g++"] if cxx else []),
                *app_compile_args(self.hosted, self.headers, cxxflags=() if cxx else None)]

    def kit(self) -> cclink.Kit:
        """Everything a link needs, resolved: the compilers' flags and the host executables' kit."""
        host = self.host_kit()
        return cclink.Kit(self.target.name, str(self.hosted.zig), tuple(self.compile_flags()),
                          tuple(self.compile_flags(cxx=True)), str(host.crt1), str(host.answers), str(host.libc),
                          str(host.compiler_rt), abi(self.hosted), self.emulator)

    # -- uniforge cc / c++ --------------------------------------------------------------------------------------

    def cc(self, args: list[str], cxx: bool = False) -> int:
        """Run as a compiler driver would: compile (and preprocess, and answer -dumpmachine...) as clang does;
        link an executable as cclink.link does (only then is the host executables' kit resolved). Returns the exit
        status."""
        if not cclink.links(args):
            return cclink.run(cclink.compile_command(str(self.hosted.zig), self.compile_flags(cxx)) + args)
        cclink.link(self.kit(), args, cxx)
        return 0

    @memoized
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
        return cclink.run([*self.archiver("ar"), *args])

    def ranlib(self, args: list[str]) -> int:
        return cclink.run([*self.archiver("ranlib"), *args])

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
        """Folder of small scripts for build systems (CMake wants one file per tool), in the cache: `cc` and `c++`
        run the compiler themselves for a compile and this Python's cclink, with the kit resolved here (KIT_FILE),
        for anything else; `ar` and `ranlib` run llvm's. Beside them the CMake toolchain file naming them and
        autoconf's site defaults. Resolving the kit builds the target's libc on first use."""
        kit = self.kit()
        python = shlex.quote(sys.executable)
        scripts = {f"uniforge-{tool}": render("cc-tool.sh.j2", tool=tool, target=self.target.name,
                                              direct=_words(self.archiver(tool)))
                   for tool in ("ar", "ranlib")}
        scripts |= {f"uniforge-{tool}": render("cc-tool.sh.j2", tool=tool, target=self.target.name,
                                               direct=_words([kit.zig, "clang"]),
                                               flags=_words(list(kit.cxxflags if tool == "c++" else kit.cflags)),
                                               folder_map=cclink.FOLDER_MAP.format(folder="$PWD"),
                                               not_linking=sorted(cclink.NOT_LINKING),
                                               link=f"{python} -m {cclink.__name__} @BIN@/{KIT_FILE}"
                                                    f"{' --c++' if tool == 'c++' else ''}")
                    for tool in ("cc", "c++")}
        native, emulator = self.runs_natively(), self.emulator
        cmake = render("toolchain.cmake.j2", bin="@BIN@", target=self.target.name, native=native, emulator=emulator,
                       processor={"x86_64": "x86_64", "armv7": "arm"}[self.target.arch])
        site = render("config.site.j2", target=self.target.name, host=self.host_triple)
        kit_file = kit.text()
        key = cache.digest(*scripts, *scripts.values(), cmake, site, kit_file)
        final = cache.cache_root() / "cc-tools" / key[:32]

        def make(tmp: Path) -> None:
            for name, text in scripts.items():
                (tmp / name).write_text(text.replace("@BIN@", shlex.quote(str(final))))
                (tmp / name).chmod(0o755)
            (tmp / "toolchain.cmake").write_text(cmake.replace("@BIN@", str(final)))
            (tmp / "config.site").write_text(site)
            (tmp / KIT_FILE).write_text(kit_file)

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

