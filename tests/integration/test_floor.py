"""Boots the null kernel, the floor (bench/null/), through the runner: exit statuses on every target that boots
plainly (KVM's where this host can run it), the command line, timeouts, failures."""

import dataclasses
import io
import shutil

import pytest

from conftest import qemu_processes
from uniforge.building import targets
from uniforge.api.checks import Status, check_host
from uniforge.core.errors import RunError, RunStatus
from uniforge.platforms import run_image, way_for
from uniforge.platforms.floor import Variant
from uniforge.platforms.run import Ending, kernel_cmdline

pytestmark = pytest.mark.uniforge(needs=["timed"])
# qemu-x86_64, whose floor has every variant (the others have EXIT only): the tests that take `x86`.
ON_X86 = pytest.mark.uniforge(targets=["qemu-x86_64"])


@pytest.fixture(scope="module")
def x86(target):
    return targets.load(target)


def with_qemu(target, **qemu):
    """The target with some of its QEMU settings replaced."""
    return dataclasses.replace(target, qemu=dataclasses.replace(target.qemu, **qemu))


def floor(target, variant=Variant.EXIT, status=0):
    return way_for(target).floor(variant, status=status)


def run(target, image, **kwargs):
    return run_image(target, image, console=io.StringIO(), timeout=kwargs.pop("timeout", 30), **kwargs)


@pytest.mark.parametrize("status", [0, 3, 100])
def test_guest_status_is_exit_code(target, status):
    t = targets.load(target)
    result = run(t, floor(t, status=status))
    assert (result.ending, result.exit_code) == (Ending.EXITED, status)
    assert 0 < result.wall_time < 30


@ON_X86
def test_command_line_arrives_verbatim(x86):
    args = ["a b", 'q"uote', "back\\slash", "", "comma,,s", "ünï"]
    result = run(x86, floor(x86, Variant.ECHO_CMDLINE), cmdline="uf.debug=1 A=b", args=args)
    assert result.exit_code == 0
    # The runner adds uf.tty=, what the guest's console is here: no terminal on either side.
    assert result.console == kernel_cmdline("uf.debug=1 A=b uf.tty=", args) + "\n"


@ON_X86
def test_timeout_stops_qemu(x86):
    image = floor(x86, Variant.HANG)
    result = run(x86, image, timeout=1)
    assert (result.ending, result.exit_code) == (Ending.TIMED_OUT, RunStatus.TIMED_OUT)
    assert 1 <= result.wall_time < 10
    assert qemu_processes(naming=image) == []


@ON_X86
def test_qemu_failing_to_start_is_an_error_with_its_message(x86):
    with pytest.raises(RunError, match="unsupported machine type"):
        run(with_qemu(x86, machine="no-such-machine"), floor(x86))


@ON_X86
def test_missing_qemu_binary_is_an_error(x86):
    with pytest.raises(RunError, match="cannot run qemu-system-nonexistent"):
        run(with_qemu(x86, binary="qemu-system-nonexistent"), floor(x86))


def test_doctor_finds_qemu():
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed: doctor's check is then a failure, tested in its unit tests")
    checks = {check.name: check for check in check_host()}
    assert checks["qemu-system-x86_64"].status is Status.OK
    assert checks["qboot firmware"].status is Status.OK
    # One check per thing a target's way needs besides QEMU, each naming every target's state.
    assert {"KVM guests", "Xen hypervisors"} <= set(checks)
