"""Published TCP ports take bursts of connects.

QEMU's user networking (libslirp) listens on a published port with a backlog of 1 and accepts one connection per
turn of its main loop. A burst of connects (redis-benchmark's 50 clients) overflows that accept queue: Linux drops
the last ACK of each handshake that finds it full, the clients believe they are connected and retry with backoff,
and those still not accepted when the host's SYN-ACK retries run out (about a minute) are reset. A second listen()
on a listening socket only sets its backlog, so while QEMU is paused (its sockets made, the guest not started) we
take a copy of each published port's socket (pidfd_getfd(2), Linux 5.6; QEMU is our child, which ptrace rules
allow) and listen on it with SOMAXCONN (the kernel caps it at net.core.somaxconn). Where that is not possible
QEMU keeps its backlog of 1.
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Iterable

from .devices import PortForward

_PIDFD_GETFD = 438          # the same number on every Linux architecture
_TCP_LISTEN = "0A"          # st in /proc/net/tcp


def widen_backlogs(pid: int, forwards: Iterable[PortForward]) -> int:
    """Listens again, with a backlog of SOMAXCONN, on process `pid`'s listening sockets of the published TCP
    ports; returns how many it widened (0 where the host does not let us)."""
    ports = {f.host_port for f in forwards if f.protocol == "tcp"}
    if not ports:
        return 0
    try:
        links = {f"socket:[{inode}]" for inode in _listening_inodes(pid, ports)}
        fds = [int(fd) for fd in os.listdir(f"/proc/{pid}/fd") if os.readlink(f"/proc/{pid}/fd/{fd}") in links]
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return 0
    widened = 0
    try:
        syscall = ctypes.CDLL(None, use_errno=True).syscall
        for fd in fds:
            copy = syscall(_PIDFD_GETFD, pidfd, fd, 0)
            if copy < 0:
                break
            with socket.socket(fileno=copy) as sock:
                sock.listen(socket.SOMAXCONN)
            widened += 1
    except OSError:
        pass
    finally:
        os.close(pidfd)
    return widened


def _listening_inodes(pid: int, ports: set[int]) -> set[str]:
    """The inodes of the TCP sockets listening on `ports` in process `pid`'s network namespace."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == _TCP_LISTEN and int(fields[1].rsplit(":", 1)[1], 16) in ports:
                inodes.add(fields[9])
    return inodes
