"""Threads in real images: tests/apps/threadprobe (musl's pthreads on module thread, one behaviour per argument; it
checks what it can itself and prints FAIL otherwise), tests/apps/rawexit (a robust list walked at a thread's end)
and tests/apps/threadserver (a thread per connection, blocking socket calls, served to curl), on both arches, and the
behaviours that need no device on the Xen targets too; and that only what creates threads links the scheduler."""
import re
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import app_dir, one_per_arch
from uniforge.building import targets

TARGETS = one_per_arch("boots")
NET_TARGETS = one_per_arch("net")
CRASH = 127
CLIENTS = 8                     # threadserver's clients at once
# What each behaviour prints when it holds (besides no FAIL line).
BEHAVIOURS = {
    "counter": ["counter: 2 threads: 4000 of 4000", "counter: 8 threads: 16000 of 16000",
                "counter: 64 threads: 128000 of 128000"],
    "pingpong": ["pingpong: 1000 round trips through a condition variable"],
    "producer": ["producer: pipe: 20000 items in order, then EOF",
                 "producer: socketpair: 20000 items in order, then EOF"],
    "join": ["join: 8 threads returned their own values",
             "tls: each thread saw its own __thread values, the first thread kept its own",
             "detach: 20 detached threads ran and went"],
    "preempt": ["preempt: the main thread ran while another spun"],
    "sync": ["barrier: 4 threads met",
             "sem: 4 waits, each ended by a post", "sem: sem_timedwait timed out", "once: pthread_once ran once"],
    "cancel": ["cancel: blocked in read: PTHREAD_CANCELED, cleanup ran",
               "cancel: blocked in sleep: PTHREAD_CANCELED, cleanup ran",
               "cancel: blocked in pthread_cond_wait: PTHREAD_CANCELED, cleanup ran",
               "cancel: the condition variable's mutex came back",
               "cancel: disabled, then pthread_testcancel: PTHREAD_CANCELED",
               "cancel: asynchronous, spinning: PTHREAD_CANCELED"],
    "identity": ["identity: the first thread's id is the pid (1)",
                 "identity: a new thread has its creator's name: threadprobe",
                 "identity: PR_SET_NAME, then PR_GET_NAME: worker-1",
                 "identity: another thread's name: worker-1", "identity: pthread_setname_np of another thread",
                 "identity: pthread_getcpuclockid and clock_gettime on it", "identity: its CPU time counts",
                 "identity: its own id (2)", "identity: affinity: CPU 0 alone",
                 "identity: sysconf(_SC_NPROCESSORS_ONLN) = 1",
                 "identity: CLOCK_PROCESS_CPUTIME_ID counts the ended thread's time: yes",
                 "identity: getrusage: RUSAGE_THREAD the main thread's, RUSAGE_SELF the threads' time",
                 "identity: times: the threads' CPU time in clock ticks"],
    "signals": ["masks: SIGUSR1 for the process ran in the thread that unblocks it",
                "sigwait: a signal raised in a thread that blocks it stays its own",
                "sigwait: a dedicated thread took 3 signals while 3 others were blocked in read",
                "sigwait: the readers read, undisturbed",
                "pthread_kill: the handler ran in a thread spinning without syscalls"],
    "fpstate": ["fpstate: 4 threads spinning in FP code, each preempted and resumed",
                "fpstate: each kept its own rounding mode", "fpstate: each thread's 1/3 kept its last bit",
                "fpstate: sums held in SSE/VFP and x87 registers came out exact"],
    "altstack": ["altstack: 2 threads' handlers ran each on its own sigaltstack; their new threads had none",
                 "altstack: the main thread, which set none, ran its handler on its own stack",
                 "altstack: a thread's stack overflow: SIGSEGV at its guard page, handled on its sigaltstack, then "
                 "siglongjmp out"],
    "waits": ["waits: the main thread had the CPU while 3 threads waited: yes",
              "waits: poll: woken by a write, it used no CPU while it waited",
              "waits: select: woken by a write, it used no CPU while it waited",
              "waits: epoll_wait: woken by a write, it used no CPU while it waited"],
    "timer": ["timer: timer_create with SIGEV_THREAD: ok", "timer: its function ran several times in a thread of its own"],
    "async": [],
    "robust": ["robust: PTHREAD_PRIO_NONE: the owner ended holding it: Previous owner died, consistent, then locked "
               "again: No error information",
               "robust: PTHREAD_PRIO_INHERIT: the owner ended holding it: Previous owner died, consistent, then "
               "locked again: No error information"],
    "pi": ["pi: pthread_mutexattr_setprotocol(PTHREAD_PRIO_INHERIT): No error information",
           "pi: 4 threads: 8000 of 8000",
           "pi: held: relocked by its owner: Resource deadlock would occur; trylock by another: Resource busy",
           "pi: pthread_mutex_timedlock while another holds it: Operation timed out"],
    "files": ["files: a file in /tmp, 3 pages long", "files: mmap MAP_SHARED at offsets 0 and 4096: mapped",
              "files: what was written through the mappings is in the file", "files: pwrite and pread at 5 GiB",
              f"files: lseek to the end: {(5 << 30) + 3}", "files: a lock at 5 GiB, seen from another open: "
              f"type 1 at {5 << 30}"],   # F_WRLCK
}
# What each behaviour prints on one arch only.
ARCH_BEHAVIOURS = {
    "x86_64": {"fpstate": ["fpstate: CPUID: OSXSAVE clear, so no AVX state to save"]},
}
# Lines with a measurement in them: the pattern, and the bound the measurement must keep.
MEASURED = {
    "preempt": (r"preempt: a sleeper woke (\d+) ms late beside a spinning thread", 100),
    "async": (r"async: SIGALRM interrupted a loop without syscalls after (\d+) ms", 500),
    "sync": (r"rwlock: (\d+) readers at once, none beside the writer", 5),   # 2-4: as the threads meet
}
# The behaviours that need no device: on Xen too.
ON_XEN = ["counter", "preempt", "cancel", "signals", "async"]


pytestmark = pytest.mark.uniforge(targets=TARGETS)


@pytest.fixture
def run(run_app):
    """run(*args, ...) -> threadprobe's (status, what it printed, then its symbolized crash report if it crashed)."""
    def run(*args: str, **how) -> tuple[int, str]:
        result = run_app("threadprobe", *args, timeout=120, **how)
        return result.status, result.console + (f"{result.message}\n{result.crash}\n" if result.crash else "")
    return run


def check_behaviour(run, behaviour: str, arch: str) -> None:
    status, out = run(behaviour)
    assert status == 0, out
    assert "FAIL" not in out, out
    for line in BEHAVIOURS[behaviour] + ARCH_BEHAVIOURS.get(arch, {}).get(behaviour, []):
        assert line + "\n" in out, f"missing {line!r} in:\n{out}"
    if behaviour in MEASURED:
        pattern, bound = MEASURED[behaviour]
        m = re.search(pattern, out)
        assert m and int(m[1]) < bound, f"{pattern} under {bound} in:\n{out}"


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_behaviour(run, behaviour, target):
    check_behaviour(run, behaviour, targets.load(target).arch)


@pytest.mark.uniforge(needs=["xen"])
@pytest.mark.parametrize("behaviour", ON_XEN)
def test_behaviour_on_xen(run, behaviour, target):
    check_behaviour(run, behaviour, targets.load(target).arch)


def test_a_threads_stack_overflow_hits_its_guard_page(run):
    """The crash report names the thread and says what happened; the runner symbolizes the recursion."""
    status, out = run("overflow", expect_crash=True)
    assert status == CRASH, out
    assert "uniforge: in thread 2 (deep-diver):\n" in out, out
    assert re.search(r"uniforge: crash: stack overflow \(guard page\)", out), out
    assert re.search(r"in deep at \.?/?main\.c:\d+", out), out


def test_exit_in_a_thread_ends_the_process(run):
    """exit(7) in one thread while another spins, one sleeps and the main thread is blocked in read: the atexit
    handler runs in the thread that called exit, and the status is 7."""
    status, out = run("exit")
    assert status == 7, out
    assert "FAIL" not in out, out
    found = re.search(r"exit: the atexit handler ran in thread (\d+), the one that called exit\n", out)
    assert found and int(found[1]) > 1, out


def test_a_thread_ending_with_exit_releases_its_robust_mutexes(run_app):
    """rawexit: a thread ends with exit(2), not pthread_exit, holding a robust mutex: the library OS walks the robust
    list musl registered, so the waiter gets EOWNERDEAD."""
    result = run_app("rawexit", timeout=120)
    assert result.status == 0, result.console
    assert "FAIL" not in result.console, result.console
    assert "get_robust_list: a list, " in result.console, result.console
    assert ("robust: the owner ended with exit(2) holding it: Previous owner died, consistent: No error "
            "information\n") in result.console, result.console


@pytest.mark.uniforge(targets=NET_TARGETS)
def test_blocking_calls_block_only_their_thread(uniforge_build, uniforge_boot, target):
    """TCP over lo between two threads; then a thread per connection: clients served at once by curl while
    another connection's thread is blocked in read (its request half sent), a thread blocked in accept on a second
    port, and a third that sleeps and wakes on time."""
    if not shutil.which("curl"):
        pytest.skip("`curl` is not installed (scripts/install-host-deps installs it)")
    guest = uniforge_boot(uniforge_build(app_dir("threadserver"), target), publish=[80, 81], timeout=1200)
    web, other = guest.port(80)[1], guest.port(81)[1]

    def curl(_) -> str:
        return subprocess.run(["curl", "-sS", "--fail", "--max-time", "300", f"http://127.0.0.1:{web}/"],
                              capture_output=True, text=True, timeout=600).stdout
    guest.expect("threadserver: listening on ports 80 and 81", 600)
    assert "loopback: 1000 of 1000 messages echoed by another thread over TCP" in guest.console.text
    with socket.create_connection(("127.0.0.1", web), timeout=300) as held:
        held.sendall(b"GET / HTTP/1.0\r\n")          # no blank line yet: its thread waits in read
        with ThreadPoolExecutor(CLIENTS) as pool:
            bodies = list(pool.map(curl, range(CLIENTS)))
        served = [re.fullmatch(r"request (\d+), served by thread (\d+)\n", body) for body in bodies]
        assert all(served), bodies
        assert sorted(int(m[1]) for m in served) == list(range(1, CLIENTS + 1)), bodies
        held.sendall(b"\r\n")
        reply = b""
        while chunk := held.recv(4096):
            reply += chunk
        assert re.search(rb"\r\n\r\nrequest %d, served by thread \d+\n$" % (CLIENTS + 1), reply), reply
    assert guest.running, "the guest ended"
    with socket.create_connection(("127.0.0.1", other), timeout=300):
        pass
    found = guest.expect(r"sleeper: (\d+) naps of 50 ms, woke at most (\d+) ms late", 300)
    assert int(found[1]) > 0 and int(found[2]) < 100, found[0]
    assert "waiter: accepted on port 81" in guest.console.text
    result = guest.wait(120)
    assert result.status == 0, result.message


def test_only_what_creates_threads_links_the_scheduler(uniforge_build, target):
    """hello links what it did before threads existed; an app that calls system(), posix_spawn, popen and fork
    (they ask for a clone too) links no scheduler; one that calls pthread_create does."""
    def modules(app: str) -> set[str]:
        return set(uniforge_build(app_dir(app), target).inspect()["modules"])

    assert modules("hello") == HELLO[targets.load(target).arch]
    assert "thread" not in modules("sigprobe")
    assert "thread" in modules("threadprobe")


HELLO = {"x86_64": {"boot", "console", "exit", "fd", "mem", "process", "trap", "uart"},
         "armv7": {"boot", "console", "exit", "fd", "fdt", "mem", "process", "trap", "uart"}}
