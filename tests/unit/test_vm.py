"""vm.QemuVM's state machine against a fake QEMU that speaks QMP (fake_qemu.py): the order of its states, what it
reads from QEMU's ending, and that QEMU never outlives it (quit first, then kill). No real QEMU."""
import asyncio
import sys
from pathlib import Path

import pytest

from uniforge.running import vm
from uniforge.running.vm import LaunchError, QemuVM, State

FAKE = [sys.executable, str(Path(__file__).with_name("fake_qemu.py"))]


def fake(scenario: str) -> list[str]:
    return [*FAKE, "-fake", scenario]


@pytest.fixture
def commands(tmp_path, monkeypatch):
    """The QMP commands the fake received, in order."""
    log = tmp_path / "qmp.log"
    monkeypatch.setenv("FAKE_QEMU_LOG", str(log))
    return lambda: log.read_text().split() if log.exists() else []


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return status != "Z"


async def boot(scenario: str, timeout: float | None = 10):
    """Runs the fake through QemuVM as the runner does; returns (vm, states seen, console, whether it ended)."""
    console = bytearray()
    machine = QemuVM(fake(scenario), console.extend)
    states = [machine.state]
    async with machine:
        states.append(machine.state)
        await machine.start()
        states.append(machine.state)
        finished = await machine.wait(timeout)
    states.append(machine.state)
    return machine, states, bytes(console), finished


def test_a_guest_that_exits_goes_through_every_state_in_order(commands):
    machine, states, console, finished = asyncio.run(boot("exit:7"))
    assert states == [State.NEW, State.PAUSED, State.RUNNING, State.STOPPED]
    assert finished and machine.returncode == 7 and machine.shutdown_reason is None
    assert console == b"hello from the fake guest\n"
    assert commands() == ["qmp_capabilities", "cont"]


def test_a_guest_reset_is_read_from_its_shutdown_event():
    machine, _, _, finished = asyncio.run(boot("reset"))
    assert finished and machine.returncode == 0 and machine.shutdown_reason == "guest-reset"


def test_a_halted_guest_ends_the_wait_and_qemu_is_told_to_quit(commands):
    machine, _, _, finished = asyncio.run(boot("halt:internal-error"))
    assert finished and machine.halted_state == "internal-error"
    assert commands() == ["qmp_capabilities", "cont", "query-status", "quit"]
    assert machine.shutdown_reason == "host-qmp-quit" and machine.returncode == 0


def test_a_timeout_ends_qemu_politely(commands):
    machine, states, _, finished = asyncio.run(boot("hang", timeout=0.5))
    assert not finished and states[-1] is State.STOPPED
    assert commands()[-1] == "quit" and machine.returncode == 0


def test_a_qemu_that_ignores_quit_is_killed(monkeypatch, commands):
    monkeypatch.setattr(vm, "_QUIT_WAIT", 0.5)
    machine, _, _, finished = asyncio.run(boot("deaf", timeout=0.2))
    assert not finished and commands()[-1] == "quit"
    assert machine.returncode == -9            # SIGKILL
    assert not alive(machine._proc.pid)


def test_a_guest_that_ends_during_cont_is_a_run_not_an_error():
    machine, states, _, finished = asyncio.run(boot("exit-during-cont:3"))
    assert states[2] is State.RUNNING and finished and machine.returncode == 3


def test_a_qemu_that_cannot_start_is_a_launch_error_with_its_stderr():
    machine = QemuVM(fake("die"), lambda data: None)

    async def enter():
        async with machine:
            pass

    with pytest.raises(LaunchError, match="QEMU failed to start \\(exit status 1\\)") as e:
        asyncio.run(enter())
    assert "unsupported machine type" in machine.stderr and e.value.command[:2] == FAKE
    assert machine.state is State.STOPPED


def test_a_missing_binary_is_a_launch_error():
    with pytest.raises(LaunchError, match="cannot run /no/such/qemu"):
        asyncio.run(QemuVM(["/no/such/qemu"], lambda data: None).__aenter__())


def test_states_are_enforced():
    machine = QemuVM(fake("hang"), lambda data: None)
    with pytest.raises(RuntimeError, match="QemuVM is new, needs to be paused"):
        asyncio.run(machine.start())


def test_leaving_the_context_on_an_error_ends_qemu():
    """Whatever happens inside (here an exception), leaving the context ends QEMU."""
    pids = []

    async def crash_inside():
        async with QemuVM(fake("hang"), lambda data: None) as machine:
            await machine.start()
            pids.append(machine._proc.pid)
            raise ValueError("the caller failed")

    with pytest.raises(ValueError):
        asyncio.run(crash_inside())
    assert pids and not alive(pids[0])
