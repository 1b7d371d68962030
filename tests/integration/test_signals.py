"""Signals and the process operations a unikernel refuses, in real images: tests/apps/sigprobe (one behaviour per
argument; it checks what it can itself and prints FAIL otherwise) and tests/apps/sigsock (signals around sockets),
booted on both arches, and the behaviours that need no device on the Xen targets too."""
import re
import socket
import threading

import pytest

from conftest import app_dir, one_per_arch
from uniforge.core.errors import RunStatus

TARGETS = one_per_arch("boots")       # what is checked here does not depend on the machine
# What each behaviour prints when it holds (besides no FAIL line).
BEHAVIOURS = {
    "raise": ["raise: handler ran before raise returned"],
    "pending": ["pending: blocked ran=0 pending=1 unblocked ran=1"],
    "siginfo": ["siginfo: sigqueue signo=12 code=SI_QUEUE pid=1 uid=0 value=42",
                "siginfo: kill signo=12 code=SI_USER pid=1", "siginfo: raise code=SI_TKILL",
                "siginfo: ucontext pc is the faulting instruction's"],
    "flags": ["flags: SA_RESETHAND: back to SIG_DFL after one delivery", "flags: SA_NODEFER: the handler interrupted itself",
              "flags: without SA_NODEFER: the second ran after the first",
              "flags: sa_mask: SIGUSR2 waited for the SIGUSR1 handler's end"],
    "alarm-sleep": ["alarm: nanosleep interrupted by SIGALRM"],
    "alarm-poll": ["alarm: poll interrupted by SIGALRM"],
    "alarm-syscall": ["alarm: SIGALRM while the app ran"],
    "ppoll": ["ppoll: its mask let SIGALRM in, then the caller's came back"],
    "setitimer": ["setitimer: 5 periodic SIGALRMs"],
    "timer": ["timer: signo=1 code=SI_TIMER value=ok", "timer: overruns counted while the signal waited",
              "timer: timer_delete"],
    "pause": ["pause: woken by alarm"],
    "sigsuspend": ["sigsuspend: woken by alarm, mask restored"],
    "sigwaitinfo": ["sigwaitinfo: 10 code=SI_TKILL", "sigwaitinfo: took it, then timed out"],
    "segv": ["segv: addr=0x10 code=SEGV_MAPERR", "segv: read-only addr=ok code=SEGV_ACCERR",
             "segv: call through NULL addr=0", "segv: recovered three times with siglongjmp"],
    "retry": ["retry: the handler returned and the faulting write was done again"],
    "overflow": ["overflow: SIGSEGV SEGV_MAPERR, handler on the altstack: yes"],
    # EPERM: what a Linux process may not do (libos/process/children.c). popen opens a pipe first.
    "spawn": ["spawn: system=-1 Operation not permitted", "spawn: posix_spawn=Operation not permitted",
              "spawn: fork=-1 Operation not permitted", "spawn: vfork=-1 Operation not permitted",
              "spawn: execv=-1 Operation not permitted", "spawn: waitpid=-1 No child process"],
    "dl": ["dl: dlopen=NULL dlerror=Dynamic loading not supported",
           "dl: dlsym=NULL dlerror=Symbol not found: deflate"],
    "rlimit": ["rlimit: core set=0 now=0", "rlimit: nofile 1048576=-1 Operation not permitted"],
}
# Behaviours that need no device (sockets, disks): on Xen too. Not segv: Xen 4.17 under QEMU's TCG delivers page
# faults to an x86_64 guest with CR2 = 0 (the crash report's cr2 reads 0 there too), and segv checks si_addr.
ON_XEN = ["raise", "siginfo", "alarm-sleep", "timer", "overflow"]
CRASH = RunStatus.CRASHED


pytestmark = pytest.mark.uniforge(targets=TARGETS)


@pytest.fixture
def run(run_app):
    """run(app, *args, ...) -> (status, what the guest printed, then its symbolized crash report if it crashed)."""
    def run(app, *args: str, **how) -> tuple[int, str]:
        result = run_app(app, *args, **how)
        return result.status, result.console + (f"{result.message}\n{result.crash}\n" if result.crash else "")
    return run


# Behaviours of their own app: timer_create links module thread, and sigprobe checks a single thread.
APPS = {"timer": "sigtimer"}


def check_behaviour(run, behaviour: str) -> None:
    status, out = run(APPS.get(behaviour, "sigprobe"), behaviour)
    assert status == 0, out
    assert "FAIL" not in out, out
    for line in BEHAVIOURS[behaviour]:
        assert line + "\n" in out, f"missing {line!r} in:\n{out}"


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_behaviour(run, behaviour):
    check_behaviour(run, behaviour)


@pytest.mark.uniforge(needs=["xen"])
@pytest.mark.parametrize("behaviour", ON_XEN)
def test_behaviour_on_xen(run, behaviour):
    check_behaviour(run, behaviour)


def test_integer_division_by_zero(run, target):
    """x86_64 traps (#DE: SIGFPE, FPE_INTDIV); ARMv7's sdiv has no trap for it and returns 0."""
    status, out = run("sigprobe", "fpe")
    assert status == 0, out
    expected = "fpe: SIGFPE FPE_INTDIV at the divide" if target.endswith("x86_64") else "fpe: no trap, 7 / 0 = 0"
    assert expected + "\n" in out, out


def test_traps(run, target):
    """SIGILL (a trap instruction) and SIGTRAP (a breakpoint) on both arches, SIGBUS on ARMv7 (x86_64 checks
    alignment only in user mode, where nothing runs here)."""
    status, out = run("sigprobe", "traps")
    assert status == 0, out
    expected = ["traps: trap instruction: SIGILL at the pc: yes", "traps: breakpoint: SIGTRAP"]
    if target == "qemu-armv7":
        expected.append("traps: unaligned ldrd: SIGBUS BUS_ADRALN")
    for line in expected:
        assert line + "\n" in out, out


def test_a_fault_in_the_library_os_stays_a_crash(run):
    """The app has a SIGSEGV handler, but the bad pointer is read by the library OS (write's buffer)."""
    status, out = run("sigprobe", "libos-fault", expect_crash=True)
    assert status == CRASH and "guest crashed: " in out, out
    assert re.search(r"uniforge: crash: (page fault|data abort)", out), out
    assert "FAIL" not in out and re.search(r"in t_libos_fault at \.?/?main\.c:\d+", out), out


def test_abort_is_a_crash_report_with_a_backtrace(run):
    status, out = run("sigprobe", "abort", expect_crash=True)
    assert status == CRASH and "guest crashed: " in out, out
    assert "uniforge: crash: killed by signal 6 (SIGABRT)\n" in out, out
    assert re.search(r"in abort at musl/src/exit/abort\.c:\d+", out), out
    assert re.search(r"in t_abort at \.?/?main\.c:\d+", out), out


def test_a_terminating_signal_ends_with_128_plus_its_number(run):
    status, out = run("sigprobe", "term")
    assert "uniforge: killed by signal 15 (SIGTERM)\n" in out, out
    assert "FAIL" not in out
    assert status == 128 + 15 and "guest crashed" not in out, out


@pytest.mark.parametrize("debug", [True, False])
def test_refused_process_operations_are_named_in_debug_builds(uniforge_build, run, target, debug):
    status, out = run(uniforge_build(app_dir("sigprobe"), target, debug=debug), "spawn")
    assert status == 0, out
    notes = ("clone: a second process (posix_spawn, system, popen) is not supported: EPERM",
             "fork: a second process (fork) is not supported: EPERM",
             "execve: running another program (/bin/true) is not supported: EPERM")
    for note in notes:
        assert out.count(f"uniforge: {note}\n") == (1 if debug else 0), f"{note!r} in:\n{out}"


def test_sa_restart_restarts_a_blocking_recv(run):
    status, out = run("sigsock", "restart")
    assert status == 0, out
    assert "restart: recv=-1 Interrupted system call after 4 handler(s)\n" in out, out


@pytest.fixture
def host_listener():
    """A TCP port on the host (10.0.2.2 to a guest on QEMU's user networking) that accepts and keeps connections."""
    server = socket.create_server(("127.0.0.1", 0))
    kept = []

    def accept():
        while True:
            try:
                kept.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in kept:
        conn.close()


@pytest.mark.parametrize("mode", ["ignore", "handle", "kill"])
def test_sigpipe_on_a_shut_stream(run, host_listener, mode):
    status, out = run("sigsock", "sigpipe", str(host_listener), mode, net="user")
    assert "sigpipe: MSG_NOSIGNAL send=-1 Broken pipe\n" in out, out
    if mode == "kill":
        assert "uniforge: killed by signal 13 (SIGPIPE)\n" in out, out
        assert status == 128 + 13 and "guest crashed" not in out, out
    else:
        assert status == 0, out
        ran = 1 if mode == "handle" else 0
        assert f"sigpipe: write=-1 Broken pipe, handler ran {ran}\n" in out, out


def test_signals_link_no_timer_or_clock(uniforge_build, run, target, tmp_path):
    """An app that only installs a handler and raises links none of module timer, module time, or sockets."""
    (tmp_path / "uniforge.toml").write_text('name = "onsignal"\nsources = ["main.c"]\n')
    (tmp_path / "main.c").write_text(
        "#include <signal.h>\n#include <stdio.h>\n"
        "static volatile int n;\nstatic void h(int s) { n += s; }\n"
        "int main(void) { signal(SIGINT, h); raise(SIGINT); printf(\"n=%d\\n\", n); return n != SIGINT; }\n")
    image = uniforge_build(tmp_path, target)
    modules = set(image.inspect()["modules"])
    assert not modules & {"timer", "time", "net", "socket", "poll"}, modules
    status, out = run(image)
    assert status == 0 and "n=2\n" in out, out
