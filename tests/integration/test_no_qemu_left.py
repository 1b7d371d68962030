"""Never a QEMU left behind, even when the process that owns it is killed and cleans nothing up (running/lifetime.py):
a Python that booted a guest through the API, and a test session whose kept xl rig a child `uniforge run` started,
are killed with SIGKILL or SIGTERM; their QEMU is gone, checked by its pid."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import app_dir, qemu_processes
from uniforge.core.paths import uniforge_environment
from uniforge.platforms.xlrig import Rig

GONE_WAIT = 10          # seconds for the kernel (or the watcher) to end QEMU after its owner's death

BOOTS_A_GUEST = """
import sys, time, uniforge
vm = uniforge.Image.open(sys.argv[1]).boot(["sleep=3600"], timeout=3600)
vm.expect("ready", timeout=600)
print("up", flush=True)
time.sleep(3600)
"""

KEEPS_A_RIG = """
import os, subprocess, sys, time
from pathlib import Path
from uniforge.core.paths import uniforge_command
from uniforge.platforms.xlrig import RIG_ENV, Rig
folder = Path(sys.argv[1])
Rig.keep_in(folder)
# A child starts the rig and leaves it running, as the first `uniforge run` of a test session does.
subprocess.run(uniforge_command("run", sys.argv[2], "--timeout", "600"), env=dict(os.environ, **{RIG_ENV: str(folder)}),
               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
print("up", flush=True)
time.sleep(3600)
"""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def gone(pid: int) -> bool:
    deadline = time.monotonic() + GONE_WAIT
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def owner(script: str, *args: str) -> subprocess.Popen:
    """`script` in a Python of its own; returns once it printed "up" (its QEMU runs)."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], env=uniforge_environment(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line != "up\n":
        proc.kill()
        pytest.fail(f"the owner did not start its QEMU: {line}{proc.communicate()[1]}")
    return proc


def kill(proc: subprocess.Popen, how: signal.Signals) -> None:
    proc.send_signal(how)
    proc.communicate(timeout=60)
    assert proc.returncode == -how


@pytest.mark.uniforge(app="tests/apps/waiter", targets=["qemu-x86_64", "qemu-armv7"])
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_python_takes_its_guests_qemu_with_it(uniforge_image, how):
    proc = owner(BOOTS_A_GUEST, str(uniforge_image.path))
    try:
        (qemu,) = qemu_processes(parent=proc.pid, naming=uniforge_image.path)
        kill(proc, how)
        assert gone(qemu), f"QEMU {qemu} outlived the Python that booted it"
    finally:
        proc.kill()


@pytest.mark.uniforge(targets=["xen-x86_64"])
def test_a_killed_session_takes_its_kept_xl_rig_with_it(uniforge_build, uniforge_target, tmp_path):
    """The rig's QEMU is not the session's child (a `uniforge run` the session ran started it, and has ended): the
    watcher `Rig.keep_in` asked for ends it when the session is killed."""
    image = uniforge_build(app_dir("hello"), uniforge_target)
    folder = tmp_path / "rigs"
    proc = owner(KEEPS_A_RIG, str(folder), str(image.path))
    try:
        rig = int((folder / uniforge_target / "pid").read_text())
        assert alive(rig), "the rig did not outlive the `uniforge run` that started it"
        kill(proc, signal.SIGKILL)
        assert gone(rig), f"the xl rig's QEMU {rig} outlived the session that kept it"
    finally:
        proc.kill()
        Rig(folder / uniforge_target, uniforge_target).stop()    # whatever happened above: never leave it running
