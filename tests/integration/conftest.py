"""Integration tests build real images with the real compiler and boot them in real QEMU (marked `integration`).

They use uniforge's pytest plugin (docs/testing.md): a module says which targets its tests run on with
`pytestmark = pytest.mark.uniforge(needs=[...])` (capabilities read from the targets' data: a new target gets every
test its capabilities allow, skipped with the reason where this host cannot run it), a test takes `target` (the
plugin's `uniforge_target`), builds with `uniforge_build` and boots with `run_app` (an app run to its end) or
`uniforge_boot` (a guest to talk to), so that a failed test's report carries the guest's console; the command line
(`uniforge`) where the command line is what is tested. `--uniforge-target T` runs the suite on chosen targets.

`built` gives a test the folder of an app built with `uniforge_build`, for tests of the command line. A test whose
other parameters go with each target parametrizes `uniforge_target` by hand (test_artifacts); the plugin skips
the targets this host cannot run either way."""
import os
import shutil
from pathlib import Path

import pytest

import uniforge as api
from uniforge.testing import free_port, image_modules, qemu_processes, uniforge  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TEST_APPS = ROOT / "tests" / "apps"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def target(uniforge_target):
    """The test's target: one test per target of the module's (or test's) uniforge marker."""
    return uniforge_target


def targets_with(*capabilities: str) -> list[str]:
    """The names of the targets that have every capability (uniforge.targets)."""
    return [t.name for t in api.targets(*capabilities)]


def one_per_arch(*capabilities: str) -> list[str]:
    """For what does not depend on the machine: per arch, the first target (by name) with `capabilities` that runs
    on any host."""
    chosen: dict[str, str] = {}
    for t in api.targets(*capabilities, "emulated"):
        chosen.setdefault(t.arch, t.name)
    return sorted(chosen.values())


def copy_example(name: str, dest: Path) -> Path:
    """An example (examples/) or a test app (tests/apps/) copied to dest, without build outputs."""
    source = EXAMPLES / name if (EXAMPLES / name).is_dir() else TEST_APPS / name
    shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("build"))
    return dest / name


@pytest.fixture(scope="session", autouse=True)
def xl_rigs(tmp_path_factory):
    """One xl rig per target with an [xl] table for the whole session (UNIFORGE_XL_RIG): started by the first run
    that needs it, ended here, or with this process if it is killed. A Linux dom0 under TCG takes ~13 s (x86_64)
    to 40 s (ARMv7) to boot."""
    from uniforge.platforms.xlrig import RIG_ENV, Rig
    folder = tmp_path_factory.mktemp("xl-rigs")
    Rig.keep_in(folder)
    os.environ[RIG_ENV] = str(folder)
    yield folder
    Rig.stop_kept(folder)


@pytest.fixture(scope="session")
def built(tmp_path_factory, uniforge_build):
    """build(example, target) -> a copy of the example (examples/ or tests/apps/) with its build/ done, as
    `uniforge build` makes it; each (example, target) once a session."""
    done = {}
    root = tmp_path_factory.mktemp("apps")

    def build(example: str, target: str) -> Path:
        if (example, target) not in done:
            shutil.rmtree(root / target / example, ignore_errors=True)    # a failed earlier attempt
            folder = copy_example(example, root / target)
            uniforge_build(folder, target, out_dir=folder / "build")
            done[example, target] = folder
        return done[example, target]

    return build


def app_dir(name: str) -> Path:
    """An example's (examples/) or test app's (tests/apps/) folder."""
    return EXAMPLES / name if (EXAMPLES / name).is_dir() else TEST_APPS / name


@pytest.fixture
def run_app(uniforge_build, uniforge_boot, target):
    """run_app(app, *args, expect_crash=False, **Image.boot's keywords) -> Result: `app` (an example's or test
    app's name, or an Image) built for the test's target, booted with uniforge_boot (its console goes into the
    report of a test that fails; a crash fails the test unless `expect_crash`) and waited for (timeout 300 s)."""
    def run(app: "str | api.Image", *args: str, expect_crash: bool = False, **how) -> api.Result:
        image = app if isinstance(app, api.Image) else uniforge_build(app_dir(app), target)
        how.setdefault("timeout", 300)
        return uniforge_boot(image, args, expect_crash=expect_crash, **how).wait()
    return run


def compiled_modules(target_name: str, threaded: bool = False):
    """(target, {module name: CompiledModule}): every library-OS module compiled for the target, as a build does
    (`threaded`: their threaded variants, as for an image that links module thread)."""
    from uniforge.building import targets
    from uniforge.building.compiler import Toolchain
    from uniforge.building.pipeline import library_os
    target = targets.load(target_name)
    return target, library_os(target, Toolchain.for_target(target), threaded=threaded).compiled
