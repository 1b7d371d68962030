"""running/backlog.py: a published port's listening socket in another process (QEMU's, here a stand-in that listens
with libslirp's backlog of 1 and never accepts) takes a burst of connects once widened."""
import selectors
import socket
import subprocess
import sys
import time

import pytest

from uniforge.running.backlog import widen_backlogs
from uniforge.running.devices import PortForward

LISTENER = """
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(120)
"""


def connected_within(port: int, count: int, seconds: float) -> int:
    """How many of `count` connects started at once complete within `seconds`."""
    selector = selectors.DefaultSelector()
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        selector.register(s, selectors.EVENT_WRITE)
        socks.append(s)
    done = 0
    deadline = time.monotonic() + seconds
    while done < count and (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(left):
            selector.unregister(key.fileobj)
            done += key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    for s in socks:
        s.close()
    return done


@pytest.fixture
def listener():
    proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    try:
        yield proc.pid, int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


def test_a_published_ports_backlog_is_widened(listener):
    pid, port = listener
    assert widen_backlogs(pid, [PortForward(port + 1, 80), PortForward(port, 80, "udp")]) == 0   # not these
    assert widen_backlogs(pid, [PortForward(port, 80)]) == 1
    assert connected_within(port, 50, 0.5) == 50       # a backlog of 1 would leave 48 to retry their SYN after 1 s


def test_a_process_that_is_gone_widens_nothing():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert widen_backlogs(proc.pid, [PortForward(8080, 80)]) == 0
