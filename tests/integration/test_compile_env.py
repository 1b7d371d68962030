"""Apps are compiled as Linux/musl programs: predefines, musl's headers first, Linux UAPI headers, old C accepted
with gcc's warnings; and the stack protector still catches a smashed stack (tests/apps/hostenv). The compile
environment is the arch's, whatever the machine: one target per arch."""
import pytest

from conftest import one_per_arch, require_target, uniforge
from uniforge.core.errors import RunStatus


@pytest.fixture(params=one_per_arch("boots"))
def target(request):
    require_target(request.param)
    return request.param


def test_app_sees_a_linux_musl_host(built, target):
    # The build itself checks the predefines and headers (#error otherwise).
    folder = built("hostenv", target)
    proc = uniforge("run", f"build/hostenv.{target}", "--timeout", "30", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "limits: PATH_MAX=4096 NAME_MAX=255 IOV_MAX=1024\n" in proc.stdout
    assert "old style: 42\n" in proc.stdout and "uapi: 1\n" in proc.stdout
    assert "remquol: -2\n" in proc.stdout


def test_stack_protector_catches_a_smashed_stack(built, target):
    folder = built("hostenv", target)
    proc = uniforge("run", f"build/hostenv.{target}", "--timeout", "30", "--", "smash", cwd=folder)
    assert proc.returncode == RunStatus.CRASHED, proc.stdout + proc.stderr
    assert "uniforge: crash:" in proc.stdout and "in __stack_chk_fail" in proc.stdout, proc.stdout
    assert "uniforge: guest crashed" in proc.stderr
