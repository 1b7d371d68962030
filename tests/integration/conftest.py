"""Integration tests build real images with the real compiler and boot them in real QEMU (marked `integration`).

Which targets a test runs on comes from the targets' data (uniforge.testing.targets_with: "boots", "net", "disk",
"xen", ...): a new target gets every test its capabilities allow, skipped with the reason where this host cannot
run it. The helpers the tests and the benchmark scripts share are uniforge.testing's."""
import shutil
from pathlib import Path

import pytest

from uniforge import testing
from uniforge.testing import free_port, image_modules, one_per_arch, qemu_processes, targets_with, uniforge  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEST_APPS = ROOT / "tests" / "apps"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


def require_target(target: str) -> None:
    """Skip, saying why, when this host cannot run the target (e.g. KVM here can't run SSE guests)."""
    ok, why = testing.host_support(target)
    if not ok:
        pytest.skip(f"{target} cannot run on this host: {why}")


def target_fixture(*capabilities: str, name: str = "target", scope: str = "function"):
    """A fixture `name` over every target with `capabilities`, skipping those this host cannot run."""
    @pytest.fixture(params=targets_with(*capabilities), name=name, scope=scope)
    def fixture(request):
        require_target(request.param)
        return request.param
    return fixture


def copy_example(name: str, dest: Path) -> Path:
    """An example (examples/) or a test app (tests/apps/) copied to dest, without build outputs."""
    source = EXAMPLES / name if (EXAMPLES / name).is_dir() else TEST_APPS / name
    shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("build"))
    return dest / name


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """build(example, target) -> app folder with build/ done; each (example, target) is built once a session."""
    done = {}
    root = tmp_path_factory.mktemp("apps")

    def build(example: str, target: str) -> Path:
        if (example, target) not in done:
            shutil.rmtree(root / target / example, ignore_errors=True)    # a failed earlier attempt
            folder = copy_example(example, root / target)
            uniforge("build", "-t", target, cwd=folder, check=True)
            done[example, target] = folder
        return done[example, target]

    return build


def compiled_modules(target_name: str, threaded: bool = False):
    """(target, {module name: CompiledModule}): every library-OS module compiled for the target, as a build does
    (`threaded`: their threaded variants, as for an image that links module thread)."""
    from uniforge.building import targets
    from uniforge.building.compiler import Toolchain
    from uniforge.building.pipeline import library_os
    target = targets.load(target_name)
    return target, library_os(target, Toolchain.for_target(target), threaded=threaded).compiled
