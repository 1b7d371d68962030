"""Xen's serial console turned back into the guest's console, and the guest's end read from it. No QEMU."""
import pytest

from uniforge.platforms.run import Ending, decode_exit
from uniforge.platforms.xenconsole import XenConsole

DOM0 = (b"(XEN) Freed 656kB init memory\r\nHello, world!\r\nargv[1] = a\r\nuniforge: exit status 5\r\n"
        b"(XEN) Hardware Dom0 halted: halting machine\r\n")
DOMU = b"(XEN) Freed 324kB init memory.\n(d1) Hello, world!\n(d1) uniforge: exit status 0\n"


def run(data: bytes, size: int):
    guest, ends = [], []
    console = XenConsole(guest.append, lambda: ends.append(True))
    for i in range(0, len(data), size):
        console.feed(data[i:i + size])
    console.close()
    return console, b"".join(guest), ends


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_dom0_text_passes_and_xen_lines_do_not(size):
    console, guest, ends = run(DOM0, size)
    assert guest == b"Hello, world!\r\nargv[1] = a\r\n"
    assert console.status == "5" and ends
    assert console.log[0] == "(XEN) Freed 656kB init memory"


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_domu_prefix_is_removed(size):
    console, guest, _ = run(DOMU, size)
    assert guest == b"Hello, world!\n"
    assert console.status == "0"


def test_xen_crash_without_status_ends_the_run():
    console, guest, ends = run(b"(d1) boom\n(XEN) d1v0 Triple fault - invoking HVM shutdown action 1\n", 5)
    assert guest == b"boom\n" and ends
    assert console.status is None and "Triple fault" in console.ending


def test_xen_panic_reason_is_the_next_line():
    data = b"(XEN) ****\n(XEN) Panic on CPU 0:\n(XEN) Unable to copy the kernel in the hwdom memory\n(XEN) ****\n"
    console, _, ends = run(data, 4)
    assert console.ending == "panic: Unable to copy the kernel in the hwdom memory"
    assert len(ends) == 1


def test_output_without_newline_before_the_status_line_is_kept():
    console, guest, _ = run(b"(d1) no newline at the enduniforge: exit status 2\n", 6)
    assert guest == b"no newline at the end" and console.status == "2"


def test_unterminated_last_line_is_kept():
    _, guest, _ = run(b"(d1) partial", 3)
    assert guest == b"partial"


@pytest.mark.parametrize("status", [0, 3, 126, 127, 200, 255])
def test_reported_status_is_the_exit_status(status):
    # After the status line the runner quits QEMU itself: QEMU's own ending says nothing.
    outcome = decode_exit("xen-console", 0, shutdown_reason="host-qmp-quit", reported_status=str(status))
    assert (outcome.ending, outcome.exit_code) == (Ending.EXITED, status)


def test_reported_crash():
    console, _, ends = run(b"(d1) uniforge: crash: page fault\n(d1) uniforge: exit status crash\n", 4)
    assert console.status == "crash" and ends
    outcome = decode_exit("xen-console", 0, reported_status=console.status, crash="page fault")
    assert (outcome.ending, outcome.exit_code) == (Ending.CRASHED, 127)
    assert "page fault" in outcome.message


def test_xen_ending_without_status_is_a_crash():
    outcome = decode_exit("xen-console", 0, hypervisor_ending="panic: no memory")
    assert (outcome.ending, outcome.exit_code) == (Ending.CRASHED, 127)
    assert "panic: no memory" in outcome.message


def test_status_wins_over_timeout_and_nothing_is_a_timeout():
    assert decode_exit("xen-console", 0, reported_status="4", timeout=5).exit_code == 4
    assert decode_exit("xen-console", -9, timeout=5).ending is Ending.TIMED_OUT


def test_qemu_ending_without_status_is_no_status():
    outcome = decode_exit("xen-console", 0, shutdown_reason="guest-reset")
    assert outcome.ending is Ending.RESET
