"""The Python API on real guests (tests/apps/waiter): build, run, boot as a context manager (console as buffer and
stream, expect, ports, QMP, wait), and that leaving the context manager ends QEMU on every path, Ctrl-C included,
checked by QEMU's pid."""
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

import uniforge
from conftest import TEST_APPS, qemu_processes
from uniforge.core.errors import RunStatus
from uniforge.running import devices

pytestmark = pytest.mark.uniforge(app="tests/apps/waiter", targets=["qemu-x86_64", "qemu-armv7"])


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def our_qemu(image) -> int:
    (pid,) = qemu_processes(parent=os.getpid(), naming=image.path)
    return pid


def test_build_reports_modules_sizes_and_artifacts(uniforge_image):
    report = uniforge_image.report
    assert report.app == "waiter" and report.image == uniforge_image.path
    assert report.artifact("image") == uniforge_image.path and report.artifact("debug").is_file()
    assert "time" in report.modules and "clock_nanosleep" in report.modules["time"]      # sleep() brought it
    assert report.sizes["app"]["file"] > 0
    assert uniforge_image.inspect()["modules"].keys() == report.manifest["modules"].keys()


def test_app_from_python_data_is_checked_like_the_manifest(tmp_path):
    app = uniforge.App("waiter", ["main.c"], root=TEST_APPS / "waiter", cmdline="A=b")
    assert (app.name, app.target, app.root) == ("waiter", "qemu-x86_64", TEST_APPS / "waiter")
    with pytest.raises(uniforge.ManifestError, match=r"App\('x'\): key 'sources': 'gone.c' matches no file"):
        uniforge.App("x", ["gone.c"], root=tmp_path)
    with pytest.raises(uniforge.ManifestError, match="key 'memory'"):
        uniforge.App("x", ["main.c"], root=TEST_APPS / "waiter", memory="lots")


def test_run_gives_status_console_and_crash(uniforge_image):
    done = uniforge_image.run(["say=hi", "exit=3"], timeout=120)
    assert (done.status, done.ending, done.crash) == (3, "exited", None)
    assert done.console.replace("\r\n", "\n") == "ready\nhi\n"
    crashed = uniforge_image.run(["crash"], timeout=120)
    assert (crashed.status, crashed.ending) == (RunStatus.CRASHED, "crashed")
    assert crashed.crash.reason and any(" in crash at main.c:" in frame for frame in crashed.crash.backtrace)
    assert str(crashed.crash).startswith("guest crashed: ")
    timed_out = uniforge_image.run(["sleep=100"], timeout=2)
    assert (timed_out.status, timed_out.ending) == (124, "timed out")
    assert timed_out.message == "guest timed out after 2 s; boot stage reached: the guest is running and printing"


def test_boot_console_expect_qmp_wait(uniforge_image):
    with uniforge_image.boot(["say=one", "sleep=2", "say=two"], timeout=120) as vm:
        assert vm.expect(r"one").group() == "one"
        assert vm.qmp.execute("query-status")["status"] == "running"
        assert vm.expect(r"t(w)o", timeout=60).group(1) == "w"      # after the previous match
        lines = [line.strip() for line in vm.console]               # the stream, to the guest's end
        result = vm.wait(60)
    assert lines == ["ready", "one", "two"]
    assert result.ok and vm.stage == "the guest has ended"


def test_a_timeout_says_how_far_the_boot_got(uniforge_image):
    with uniforge_image.boot(["sleep=100"]) as vm:
        with pytest.raises(uniforge.GuestTimeout, match="boot stage reached: the guest is running and printing; "
                                                        "its last line: 'ready'") as caught:
            vm.expect("never", timeout=3)
        assert caught.value.stage == "printing" and "ready" in caught.value.console
        with pytest.raises(uniforge.GuestTimeout, match="did not end within 1 s"):
            vm.wait(1)
        assert vm.stop().ending == "stopped"


def test_published_port_reaches_the_host(uniforge_image):
    with uniforge_image.boot(["sleep=100"], publish=[80]) as vm:
        host, port = vm.port(80)
        with socket.socket() as s:          # QEMU listens for the guest (which answers nothing)
            s.connect((host, port))
        with pytest.raises(uniforge.RunError, match="guest port 81/tcp was not published"):
            vm.port(81)


def test_leaving_on_an_exception_ends_qemu(uniforge_image):
    with pytest.raises(RuntimeError, match="the test's own"):
        with uniforge_image.boot(["sleep=100"]) as vm:
            vm.expect("ready")
            pid = our_qemu(uniforge_image)
            raise RuntimeError("the test's own error")
    assert not alive(pid)


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handler for the test, whatever this process inherited (a job that a non-interactive
    shell starts in the background begins with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_ends_qemu(uniforge_image, python_ctrl_c):
    """SIGINT to this process while it waits for the guest: KeyboardInterrupt leaves the block, QEMU is gone."""
    pids = []

    def interrupt():
        deadline = time.monotonic() + 120
        while not pids and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        with uniforge_image.boot(["sleep=100"]) as vm:
            vm.expect("ready", timeout=120)
            pids.append(our_qemu(uniforge_image))
            threading.Thread(target=interrupt, daemon=True).start()
            vm.wait()
    assert pids and not alive(pids[0])
    assert qemu_processes(parent=os.getpid(), naming=uniforge_image.path) == []    # the session's xl rigs live on


def test_a_host_port_taken_meanwhile_is_chosen_again(uniforge_image, monkeypatch):
    """The first free port chosen for guest port 80 is taken before QEMU binds it (as by another xdist worker):
    the boot is tried again with another."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        first = iter([busy])
        choose = devices.free_port
        monkeypatch.setattr(devices, "free_port", lambda: next(first, None) or choose())
        with uniforge_image.boot(["sleep=100"], publish=[80]) as vm:
            host, port = vm.port(80)
            assert port != busy
            with socket.create_connection((host, port), timeout=30):
                pass
