"""C++ in real images: tests/apps/cxxprobe (libc++, libc++abi and libunwind built from the pinned compiler's sources)
booted on both arches. It prints what it saw and FAIL where C++ promises otherwise; the test reads the lines, their
order (a static object's constructor before main, its destructor after main returned) and how an uncaught exception
ends the guest."""
import re

import pytest

from conftest import app_dir, one_per_arch
from uniforge.building.demangle import demangle
from uniforge.core.errors import RunStatus

TARGETS = one_per_arch("boots")       # what is checked here does not depend on the machine
# In the order the probe prints them, with no behaviour argument (all of them).
ALL = ["static: constructed before main",
       "exceptions: caught 'bad shape: square -1' from 3 frames down, 1 destructor ran on the way",
       "exceptions: std::bad_alloc from new",
       "exceptions: std::out_of_range from vector::at",
       "exceptions: caught int 42",
       "rtti: square typeid=6Square square=1 area=9",
       "rtti: circle typeid=6Circle square=0 area=12",
       "rtti: std::bad_cast from a reference cast",
       "containers: 9 words, the=3, first=brown, last=the, has fox=1, checksum=2997052108",
       "containers: 100 strings, 14950 bytes",
       "iostream: 42 2.5 ff true",
       "chrono: steady clock advanced=true system clock after 2020=true",
       "main: returning",
       "static: destroyed at exit"]
# What an image with C++ may link: hello's modules, the clocks (std::chrono) and the console's input (std::cin is
# constructed in every program that includes <iostream>), with their interrupt controller and device tree.
CXX_MODULES = {"boot", "console", "exit", "fd", "mem", "process", "trap", "uart", "time", "stdin", "x86-irq", "gic",
               "fdt", "demand"}     # demand: operator new reaches malloc, which maps memory


pytestmark = pytest.mark.uniforge(targets=TARGETS)


def test_exceptions_rtti_iostreams_containers_and_static_objects(run_app):
    result = run_app("cxxprobe")
    out = result.console
    assert result.status == 0, result.message
    assert "FAIL" not in out
    lines = out.splitlines()
    assert [line for line in lines if line in ALL] == ALL
    assert "iostream: to std::cerr\n" in out        # the console is stdout and stderr both


def test_an_uncaught_exception_aborts_with_a_crash_report(run_app):
    result = run_app("cxxprobe", "uncaught", expect_crash=True)
    out = result.console
    assert result.status == RunStatus.CRASHED and result.crash, result.message
    assert "uncaught: throwing\n" in out and "static: destroyed at exit" not in out
    assert "libc++abi: terminating due to uncaught exception of type ShapeError: bad shape: triangle 1" in out
    assert "killed by signal 6 (SIGABRT)" in result.crash.reason, result.crash
    # The backtrace, symbolized, goes through the throw to the app's frames by name and line, C++ names demangled
    # (the runtime's frames too, which have lines but no function entries in their debug info).
    trace = "\n".join(result.crash.backtrace)
    if demangle("_Z1fv") != "f()":
        pytest.skip("this host has no C++ runtime (libstdc++) to demangle names with")
    for frame in (r"in std::__terminate\(void \(\*\)\(\)\) at .*cxa_handlers\.cpp:\d+", r"in __cxa_throw at",
                  r"in fail\(std::__1::basic_string<char, .*> const&\) at shapes\.cc:8", r"in uncaught\(\) at main\.cpp:"):
        assert re.search(frame, trace), trace
    assert "_Z" not in trace, trace


def test_the_runtime_is_linked_only_for_what_the_app_uses(uniforge_build, target):
    info = uniforge_build(app_dir("cxxprobe"), target).inspect()
    assert set(info["modules"]) <= CXX_MODULES, info["modules"]
    assert info["bytes"]["c++"]["file"] > 0, info["bytes"]
    info = uniforge_build(app_dir("hello"), target).inspect()
    assert "c++" not in info["bytes"], info["bytes"]


THREADS = ["pool: 400 tasks on 4 workers, sum 80200, 100 exceptions caught in their threads",
           "thread_local: each worker counted its own tasks (1 to 4 counters), main's count 0",
           "static local: initialized once for 4 threads at once (1), each saw it",
           "atomic wait: a thread waited for a value and was notified",
           "async: 42",
           "sleep_for: a thread slept at least 50 ms",
           "hardware_concurrency: 1"]


def test_a_thread_pool(run_app, uniforge_build, target):
    """tests/apps/cxxthreads: std::thread workers, a queue under std::mutex with a std::condition_variable, exceptions
    thrown and caught in each worker, thread_local, a static local that threads race to initialize, an atomic wait,
    std::async. It links module thread; cxxprobe, the same runtime but no thread started, does not."""
    result = run_app("cxxthreads")
    assert result.status == 0, result.message
    assert result.console.splitlines() == THREADS
    threaded = uniforge_build(app_dir("cxxthreads"), target).inspect()
    assert "thread" in threaded["modules"], threaded["modules"]
    single = uniforge_build(app_dir("cxxprobe"), target).inspect()
    assert "thread" not in single["modules"], single["modules"]
