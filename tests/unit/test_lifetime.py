"""running/lifetime.py with plain processes (sleep) in the place of QEMU: a child started with die_with_parent ends
when its parent is killed; tie() ends a process group when its owner ends, and its watcher leaves when the group
ends first."""
import subprocess
import sys
import time

from uniforge.core.paths import uniforge_environment
from uniforge.running.lifetime import tie

PARENT = """
import subprocess, sys, time
from uniforge.running.lifetime import die_with_parent
child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent())
print(child.pid, flush=True)
time.sleep(60)
"""


def ended(proc_or_pid, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(proc_or_pid, subprocess.Popen):
            if proc_or_pid.poll() is not None:
                return True
        else:
            try:
                with open(f"/proc/{proc_or_pid}/stat") as f:
                    if f.read().split()[2] == "Z":
                        return True
            except FileNotFoundError:
                return True
        time.sleep(0.05)
    return False


def test_a_child_dies_with_its_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                              env=uniforge_environment())
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    assert ended(child)


def test_tie_ends_the_group_when_its_owner_ends():
    owner = subprocess.Popen(["sleep", "60"])
    group = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60"], start_new_session=True)
    watcher = tie(group.pid, owner.pid)
    time.sleep(0.5)
    assert group.poll() is None and watcher.poll() is None
    owner.kill()
    owner.wait()
    assert ended(group) and ended(watcher)
    assert group.returncode == -9


def test_the_watcher_leaves_when_the_group_ends_first():
    owner = subprocess.Popen(["sleep", "60"])
    try:
        group = subprocess.Popen(["sleep", "0.5"], start_new_session=True)
        watcher = tie(group.pid, owner.pid)
        assert ended(watcher) and group.wait() == 0
        assert owner.poll() is None
    finally:
        owner.kill()
        owner.wait()
