"""Boots the null kernel, the floor (bench/null/), through the runner: exit statuses, the command line, timeouts,
failures, and KVM where this host can run it."""

import dataclasses
import io
import os
from pathlib import Path

import pytest

from uniforge import targets
from uniforge.doctor import Status, check_host, probe_kvm
from uniforge.errors import RunError
from uniforge.floor import Variant, build_floor
from uniforge.run import Ending, kernel_cmdline, run_image


def with_qemu(target_name: str, **qemu):
    """The target with some of its QEMU settings replaced."""
    target = targets.load(target_name)
    return dataclasses.replace(target, qemu={**target.qemu, **qemu})


def qemu_processes_running(image: Path) -> list[int]:
    """Process ids whose command line names `image`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(image).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass  # exited meanwhile
    return found


X86 = targets.load("qemu-x86_64")


def run(target, image, **kwargs):
    return run_image(target, image, console=io.StringIO(), timeout=kwargs.pop("timeout", 30), **kwargs)


@pytest.mark.parametrize("target_name", ["qemu-x86_64", "qemu-x86_64-q35", "qemu-armv7"])
@pytest.mark.parametrize("status", [0, 3, 100])
def test_guest_status_is_exit_code(target_name, status):
    result = run(targets.load(target_name), build_floor(targets.load(target_name), status=status))
    assert (result.ending, result.exit_code) == (Ending.EXITED, status)
    assert 0 < result.wall_time < 30


def test_command_line_arrives_verbatim():
    args = ["a b", 'q"uote', "back\\slash", "", "comma,,s", "ünï"]
    result = run(X86, build_floor(X86, Variant.ECHO_CMDLINE), cmdline="uf.debug=1 A=b", args=args)
    assert result.exit_code == 0
    # The runner adds uf.tty=, what the guest's console is here: no terminal on either side.
    assert result.console == kernel_cmdline("uf.debug=1 A=b uf.tty=", args) + "\n"


def test_timeout_stops_qemu():
    image = build_floor(X86, Variant.HANG)
    result = run(X86, image, timeout=1)
    assert (result.ending, result.exit_code) == (Ending.TIMED_OUT, 124)
    assert 1 <= result.wall_time < 10
    assert qemu_processes_running(image) == []


def test_qemu_failing_to_start_is_an_error_with_its_message():
    with pytest.raises(RunError, match="unsupported machine type"):
        run(with_qemu("qemu-x86_64", machine="no-such-machine"), build_floor(X86))


def test_missing_qemu_binary_is_an_error():
    with pytest.raises(RunError, match="cannot run qemu-system-nonexistent"):
        run(with_qemu("qemu-x86_64", binary="qemu-system-nonexistent"), build_floor(X86))


def test_doctor_finds_qemu():
    checks = {check.name: check for check in check_host()}
    assert checks["qemu-system-x86_64"].status is Status.OK
    assert checks["qboot firmware"].status is Status.OK


@pytest.fixture(scope="module")
def kvm_target():
    target = targets.load("kvm-x86_64")
    usable, reason = probe_kvm(target)
    if not usable:
        pytest.skip(f"KVM cannot run Uniforge guests here: {reason}")
    return target


def test_floor_on_kvm(kvm_target):
    result = run(kvm_target, build_floor(kvm_target, status=5))
    assert (result.ending, result.exit_code) == (Ending.EXITED, 5)
