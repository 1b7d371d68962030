"""The Python API is typed (py.typed ships in the package): mypy --strict accepts the API's modules, the QEMU and
libvirt runners (platforms/run.py, libvirt.py), the pytest plugin and a script that uses the API as docs/api.md
shows, and refuses the same script with a type mistake."""
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is in the test extra: pip install '.[test]'")
PACKAGE = Path(__file__).resolve().parents[2] / "toolchain" / "uniforge"
TYPED = [PACKAGE / "__init__.py", PACKAGE / "api", PACKAGE / "pytest_plugin.py", PACKAGE / "platforms" / "guest.py",
         PACKAGE / "platforms" / "run.py", PACKAGE / "platforms" / "libvirt.py", PACKAGE / "running" / "lifetime.py"]
USER = '''
import uniforge

image = uniforge.build(uniforge.App.load("examples/hello"), "qemu-x86_64")
result: uniforge.Result = image.run(["a"], timeout=30)
status: int = result.status
with image.boot(publish=[80]) as vm:
    host, port = vm.port(80)
    line: str = vm.expect(r"Hello").group(0)
    text: str = vm.console.text
    crash: uniforge.Crash | None = vm.wait(10).crash
names: list[str] = [t.name for t in uniforge.targets("net") if t.runs_here]
'''


def mypy(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    user = tmp_path / "user.py"
    user.write_text(script)
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--cache-dir",
                           str(tmp_path / "cache"), *map(str, TYPED), str(user)], capture_output=True, text=True,
                          cwd=PACKAGE.parent)


def test_the_api_and_its_use_type_check(tmp_path):
    proc = mypy(tmp_path, USER)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wrong = mypy(tmp_path, USER.replace("status: int", "status: str"))
    assert wrong.returncode == 1 and 'user.py:6: error: Incompatible types in assignment' in wrong.stdout, wrong.stdout
