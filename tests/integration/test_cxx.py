"""C++ in real images: tests/apps/cxxprobe (libc++, libc++abi and libunwind built from the pinned compiler's sources)
booted on both arches. It prints what it saw and FAIL where C++ promises otherwise; the test reads the lines, their
order (a static object's constructor before main, its destructor after main returned) and how an uncaught exception
ends the guest."""
import json

import pytest

from conftest import one_per_arch, uniforge
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
               "fdt"}


pytestmark = pytest.mark.uniforge(targets=TARGETS)


def run(folder, target: str, *args: str) -> tuple[int, str, str]:
    proc = uniforge("run", f"build/cxxprobe.{target}", "--timeout", "60", "--", *args, cwd=folder, timeout=300)
    return proc.returncode, proc.stdout.replace("\r\n", "\n"), proc.stderr


def test_exceptions_rtti_iostreams_containers_and_static_objects(built, target):
    status, out, err = run(built("cxxprobe", target), target)
    assert status == 0, out + err
    assert "FAIL" not in out, out
    lines = out.splitlines()
    assert [line for line in lines if line in ALL] == ALL, out
    assert "iostream: to std::cerr\n" in out, out        # the console is stdout and stderr both


def test_an_uncaught_exception_aborts_with_a_crash_report(built, target):
    status, out, err = run(built("cxxprobe", target), target, "uncaught")
    assert status == RunStatus.CRASHED, out + err
    assert "uncaught: throwing\n" in out and "static: destroyed at exit" not in out, out
    assert ("libc++abi: terminating due to uncaught exception of type ShapeError: bad shape: triangle 1"
            in out + err), out + err
    assert "killed by signal 6 (SIGABRT)" in err, err
    # The backtrace (the runner prints it with the console) goes through the throw to the app's frames by name and line.
    trace = out + err
    for frame in ("in __cxa_throw at", "in fail at shapes.cc:8", "in uncaught at main.cpp:"):
        assert frame in trace, trace


def test_the_runtime_is_linked_only_for_what_the_app_uses(built, target):
    folder = built("cxxprobe", target)
    info = json.loads(uniforge("inspect", "--json", f"build/cxxprobe.{target}", cwd=folder, check=True).stdout)
    assert set(info["modules"]) <= CXX_MODULES, info["modules"]
    assert info["bytes"]["c++"]["file"] > 0, info["bytes"]
    hello = built("hello", target)
    info = json.loads(uniforge("inspect", "--json", f"build/hello.{target}", cwd=hello, check=True).stdout)
    assert "c++" not in info["bytes"], info["bytes"]


THREADS = ["pool: 400 tasks on 4 workers, sum 80200, 100 exceptions caught in their threads",
           "thread_local: each worker counted its own tasks (1 to 4 counters), main's count 0",
           "static local: initialized once for 4 threads at once (1), each saw it",
           "atomic wait: a thread waited for a value and was notified",
           "async: 42",
           "sleep_for: a thread slept at least 50 ms",
           "hardware_concurrency: 1"]


def test_a_thread_pool_on_the_threaded_runtime(built, target):
    """tests/apps/cxxthreads: std::thread workers, a queue under std::mutex with a std::condition_variable, exceptions
    thrown and caught in each worker, thread_local, a static local that threads race to initialize, an atomic wait,
    std::async. It links module thread and the threaded runtime; cxxprobe, without thread headers, neither."""
    folder = built("cxxthreads", target)
    proc = uniforge("run", f"build/cxxthreads.{target}", "--timeout", "120", cwd=folder, timeout=300)
    out = proc.stdout.replace("\r\n", "\n")
    assert proc.returncode == 0, out + proc.stderr
    assert out.splitlines() == THREADS, out
    threaded = json.loads(uniforge("inspect", "--json", f"build/cxxthreads.{target}", cwd=folder, check=True).stdout)
    assert "thread" in threaded["modules"], threaded["modules"]
    single = json.loads(uniforge("inspect", "--json", f"build/cxxprobe.{target}", cwd=built("cxxprobe", target),
                                 check=True).stdout)
    assert "thread" not in single["modules"], single["modules"]
