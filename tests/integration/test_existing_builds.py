"""Software with its own build system, built unmodified: a plain Makefile (tests/apps/make-hello) and an autoconf
project (tests/apps/autoconf-hello) run their own make and configure with `uniforge env`'s environment; the image
is linked from what they linked (`link_from`), booted, and its output read. Configure's checks must get the
unikernel's answers: on x86_64 its test programs run on the host, linked with the image's libc."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import copy_example, one_per_arch, uniforge


pytestmark = pytest.mark.uniforge(targets=one_per_arch("boots"))


def build(folder: Path, target: str):
    proc = uniforge("build", "-t", target, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr + _log(folder, target)
    return folder / "build" / f"{folder.name}.{target}"


def _log(folder: Path, target: str) -> str:
    log = folder / "build" / ".work" / target / "build.log"
    return log.read_text()[-3000:] if log.exists() else ""


def run(image: Path, *args: str) -> str:
    proc = uniforge("run", str(image), "--timeout", "60", "--", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_plain_makefile_project_builds_unmodified(tmp_path, target):
    folder = copy_example("make-hello", tmp_path)
    image = build(folder, target)
    assert "make-hello: hello from a static library, the answer is 42, argc 3\n" in run(image, "a", "b")
    # The image has what the objects need and nothing else (no files, no network).
    inspect = uniforge("inspect", "--json", str(image))
    assert '"fat"' not in inspect.stdout and '"net"' not in inspect.stdout, inspect.stdout

    # A rebuild goes through the project's own make: nothing is recompiled, the image is the same bytes.
    first, stamp = image.read_bytes(), (folder / "main.o").stat().st_mtime_ns
    build(folder, target)
    assert (folder / "main.o").stat().st_mtime_ns == stamp
    assert image.read_bytes() == first
    # Built in another folder, the image is still the same bytes.
    other = copy_example("make-hello", tmp_path / "elsewhere")
    assert build(other, target).read_bytes() == first


def test_a_changed_source_is_rebuilt_by_make(tmp_path):
    folder = copy_example("make-hello", tmp_path)
    image = build(folder, "qemu-x86_64")
    answer = folder / "answer.c"
    answer.write_text(answer.read_text().replace("6 * 7", "6 * 9"))
    build(folder, "qemu-x86_64")
    assert "the answer is 54" in run(image)


@pytest.fixture(scope="module")
def autoreconf():
    if not shutil.which("autoreconf"):
        pytest.skip("autoconf is not installed (scripts/install-host-deps installs it)")


@pytest.mark.uniforge(targets=["qemu-x86_64"])
def test_an_autoconf_project_gets_the_unikernels_answers_on_x86_64(tmp_path, autoreconf, target):
    folder = copy_example("autoconf-hello", tmp_path)
    image = build(folder, "qemu-x86_64")
    log = _log(folder, "qemu-x86_64")
    # The host runs configure's test programs: not a cross build, and what they saw is what the image sees.
    assert "checking whether we are cross compiling... no" in log, log
    assert "checking for clock_gettime... yes" in log and "checking for uf_no_such_function... no" in log, log
    # fork is refused by the library OS, and so it is by the test program linked with the image's libc.
    assert "checking whether fork creates a process... no" in log, log
    # A test program's threads run (the libc's clone as Linux's), so configure enables them.
    assert "checking whether a thread runs... yes" in log, log
    # A failed check names the missing function in config.log, on one line.
    assert ("uniforge: error: linking conftest failed: undefined symbol uf_no_such_function"
            in (folder / "config.log").read_text())
    out = run(image)
    assert ("autoconf-hello: for x86_64, epoll.h yes, clock_gettime yes, missing function no, fork fails, "
            "threads run, page size 4096\n" in out), out
    assert "autoconf-hello: clock ok, sqrt(2) 1.414, fork() fails, page size now 4096\n" in out, out


def _armv7_programs_run() -> bool:
    """Whether this host runs the ARMv7 executables `uniforge cc` links (natively, or through qemu-user)."""
    from uniforge import cross_toolchain
    toolchain = cross_toolchain("qemu-armv7")
    return toolchain.runs_natively() or toolchain.emulator is not None


@pytest.mark.uniforge(targets=["qemu-armv7"])
def test_an_autoconf_project_builds_for_armv7(tmp_path, autoreconf, target):
    """configure's ARM test programs run through qemu-user (a binfmt_misc entry, or else qemu-arm started by the
    executable's script); with neither, configure sees a cross build and takes its cross answers."""
    folder = copy_example("autoconf-hello", tmp_path)
    image = build(folder, "qemu-armv7")
    log = _log(folder, "qemu-armv7")
    runs = _armv7_programs_run()
    if not runs:
        print("qemu-arm is not installed: configure's ARM checks take their cross answers")
    assert f"checking whether we are cross compiling... {'no' if runs else 'yes'}" in log, log
    # A link-only check finds the time32 ABI's names, as in musl's own libc.a for ARM (compat/time32).
    assert "checking for clock_gettime... yes" in log, log
    if runs:
        assert "checking whether fork creates a process... no" in log, log
        assert "checking whether a thread runs... yes" in log, log
    out = run(image)
    assert "autoconf-hello: clock ok, sqrt(2) 1.414, fork() fails, page size now 4096\n" in out, out
    assert "autoconf-hello: for arm, " in out, out
    assert f"fork fails, threads {'run' if runs else 'fail'}, page size {'4096' if runs else 'unknown'}\n" in out, out


@pytest.mark.uniforge(targets=["qemu-armv7"])
def test_a_configure_without_host_builds_for_the_image(tmp_path, autoreconf, target):
    """A configure that a project's own Makefile starts without --host (as Redis's for its bundled jemalloc) builds
    for the image's processor, not the build machine's: `uniforge env`'s site defaults give its host type."""
    if not _armv7_programs_run():
        pytest.skip("qemu-arm is not installed: a configure that is not told it cross-compiles runs its test programs")
    folder = copy_example("autoconf-hello", tmp_path)
    manifest = folder / "uniforge.toml"
    manifest.write_text(manifest.read_text().replace("./configure --host=$UNIFORGE_HOST", "./configure"))
    image = build(folder, "qemu-armv7")
    log = _log(folder, "qemu-armv7")
    assert "checking host system type... (cached) arm-unknown-linux-musleabihf" in log, log
    assert "autoconf-hello: for arm, " in run(image)


def test_a_cmake_project_builds_with_the_toolchain_file(tmp_path, target):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed (scripts/install-host-deps installs it)")
    folder = copy_example("cmake-hello", tmp_path)
    image = build(folder, target)
    log = _log(folder, target)
    assert "Looking for clock_gettime - found" in log and "Looking for SO_REUSEPORT - found" in log, log
    assert "Performing Test THREADS_RUN - Success" in log, log
    assert "cmake-hello: BUILT BY CMAKE, clock_gettime 1, SO_REUSEPORT 1, threads run 1\n" in run(image)


def test_a_cmake_cxx_project_with_std_thread(tmp_path, target):
    """tests/apps/cmake-cxxthreads: C++ with std::thread, std::mutex and std::condition_variable through CXX, as
    the project's CMake builds it: configure's test program starts a std::thread on the host, and the image, linked
    from the same kind of objects, runs a thread pool whose sum the guest checks."""
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed (scripts/install-host-deps installs it)")
    folder = copy_example("cmake-cxxthreads", tmp_path)
    image = build(folder, target)
    assert "Performing Test STD_THREAD_RUNS - Success" in _log(folder, target), _log(folder, target)
    out = run(image)
    assert "cmake-cxxthreads: sum of squares 333833500 on 4 workers, std::thread runs in configure 1\n" in out, out
    info = json.loads(uniforge("inspect", "--json", str(image)).stdout)
    assert "thread" in info["modules"], info["modules"]


def test_sources_compiled_and_linked_in_one_command(tmp_path):
    """`$CC -o prog a.c b.c`, as tiny projects build: the objects the link compiles are kept (in the cache) for
    the image, and two such builds in different folders make the same image."""
    images = []
    for where in ("one", "two"):
        folder = copy_example("make-hello", tmp_path / where)
        (folder / "uniforge.toml").write_text('name = "make-hello"\nlink_from = "prog"\n'
                                              'build = ["$CC $CFLAGS -o prog main.c greet.c answer.c"]\n')
        images.append(build(folder, "qemu-x86_64"))
    assert "make-hello: hello from a static library, the answer is 42, argc 1\n" in run(images[0])
    assert images[0].read_bytes() == images[1].read_bytes()


def test_objects_and_archives_named_one_by_one(tmp_path):
    """A project that builds libraries: the manifest names the objects and archives; the archive's members are
    taken as the linker takes them (only those needed), and their bytes count as the app's."""
    folder = copy_example("make-hello", tmp_path)
    (folder / "uniforge.toml").write_text('name = "make-hello"\nbuild = ["make main.o libgreet.a"]\n'
                                          'objects = ["main.o"]\narchives = ["libgreet.a"]\n')
    image = build(folder, "qemu-x86_64")
    assert not (folder / "prog").exists()
    assert "make-hello: hello from a static library, the answer is 42, argc 1\n" in run(image)
    info = json.loads(uniforge("inspect", "--json", str(image), check=True).stdout)
    assert set(info["sources"]) == {"main.o", "libgreet.a"}, info["sources"]
    assert info["bytes"]["app"]["file"] > 0
