"""Never a QEMU left behind: the processes uniforge starts end with the process they belong to, also when that one
is killed (SIGKILL, SIGTERM) and runs no cleanup of its own.

Two cases, two tools:
- a child that lives no longer than the thread that starts it (a guest's QEMU, a per-run xl rig) asks the kernel,
  between fork and exec, for SIGKILL when its parent ends (PR_SET_PDEATHSIG: nothing to keep running, no pid to
  reuse; the kernel tells the child even if the parent is killed at once);
- a process that outlives the one that started it (a kept xl rig: the first `uniforge run` of a test session
  starts it, later runs use it, the session ends it) cannot take its owner's death from the kernel, since its owner
  is not its parent: `tie(pid, owner)` starts a small watcher that holds pidfds of both (pidfd_open: a process
  that is not our child, with no pid reuse while we hold it) and kills the other's process group when the owner
  ends first. A pipe from the owner would need every process between the two to pass its end on.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_parent() -> Callable[[], None]:
    """A preexec_fn (called in the parent, it returns the function the child runs before exec): the kernel kills
    the child with SIGKILL when the thread that started it ends. If the parent ended between fork and prctl, the
    child ends at once: the kernel would not tell it any more."""
    parent = os.getpid()

    def in_child() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    return in_child


def tie(pid: int, owner: int) -> subprocess.Popen[bytes]:
    """Ends process group `pid` (a child started in a session of its own) when process `owner` ends, whoever
    started either and however the owner ends; the watcher (returned) leaves by itself when `pid` ends first."""
    return subprocess.Popen([sys.executable, "-I", "-S", __file__, str(owner), str(pid)], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _watch(owner: int, pid: int) -> None:
    try:
        child = os.pidfd_open(pid)
    except ProcessLookupError:
        return                      # it has ended already
    try:
        ending = [os.pidfd_open(owner)]
    except ProcessLookupError:
        ending = []                 # the owner has ended already
    if ending:
        ready, _, _ = select.select([*ending, child], [], [])
        if child in ready:
            return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":          # the watcher of tie(): python lifetime.py OWNER PID
    _watch(int(sys.argv[1]), int(sys.argv[2]))
