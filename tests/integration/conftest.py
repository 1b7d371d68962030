"""Integration tests build real images with the real compiler and boot them in real QEMU."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def uniforge(*args, cwd=None, timeout=600, check=False, input=None, text=True) -> subprocess.CompletedProcess:
    """The real command line, in a child process (as a user runs it), with `input` as its stdin (else nothing:
    `uniforge run` passes its stdin to the guest); `text=False`: stdin and output as bytes, else text with U+FFFD
    for what is not UTF-8 (the guest's console is 8-bit clean)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))
    proc = subprocess.run([sys.executable, "-m", "uniforge", *args], cwd=cwd, env=env, capture_output=True,
                          text=text, errors="replace" if text else None, timeout=timeout, input=input,
                          stdin=subprocess.DEVNULL if input is None else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"uniforge {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


TEST_APPS = ROOT / "tests" / "apps"


def copy_example(name: str, dest: Path) -> Path:
    """An example (examples/) or a test app (tests/apps/) copied to dest, without build outputs."""
    source = EXAMPLES / name if (EXAMPLES / name).is_dir() else TEST_APPS / name
    shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("build"))
    return dest / name


def require_target(target: str) -> None:
    """Skip, saying why, when this host cannot run the target (KVM here can't run SSE guests: ARCHITECTURE.md)."""
    from uniforge import targets
    from uniforge.inspect import host_can_run
    ok, why = host_can_run(targets.load(target))
    if not ok:
        pytest.skip(f"{target} cannot run on this host: {why}")


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """build(example, target) -> app folder with build/ done; each (example, target) is built once a session."""
    done = {}
    root = tmp_path_factory.mktemp("apps")

    def build(example: str, target: str) -> Path:
        if (example, target) not in done:
            shutil.rmtree(root / target / example, ignore_errors=True)    # a failed earlier attempt
            folder = copy_example(example, root / target)
            uniforge("build", "-t", target, cwd=folder, check=True)
            done[example, target] = folder
        return done[example, target]

    return build


def compiled_modules(target_name: str):
    """(target, {module name: CompiledModule}): every library-OS module compiled for the target, as a build does."""
    from uniforge import modules, musl, targets
    from uniforge.build import LIBOS_CFLAGS
    from uniforge.compiler import Toolchain
    from uniforge.paths import libos_dir
    target = targets.load(target_name)
    toolchain = Toolchain(target.compiler["target"], target.compiler.get("cpu"))
    available = modules.load_all()
    args = toolchain.compile_args(
        include_dirs=modules.include_dirs(available), system_include_dirs=[musl.headers(target.libc["arch"])],
        prefix_map=[(libos_dir(), "libos")],
        flags=[*LIBOS_CFLAGS, *target.compiler.get("cflags", []), *target.compiler.get("libos_cflags", [])])
    return target, modules.compile_for_target(available, toolchain, target.arch, target.platform, args)
