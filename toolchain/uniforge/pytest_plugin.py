"""The pytest plugin (entry point `uniforge` in the `pytest11` group; docs/testing.md): build an app once per session,
boot it per test, on every target the test is meant for.

    @pytest.mark.uniforge(app="examples/httpd", needs=["net"], publish=[80])
    def test_index(unikernel):
        unikernel.expect(r"listening")
        host, port = unikernel.port(80)

Fixtures: `uniforge_target` (the test's target: one test per target of its matrix), `uniforge_build` (session:
build(app, target) -> Image, each once), `uniforge_image` (the marker's app for the test's target),
`uniforge_boot` (boot(image, args, ...) -> VM, ended after the test), `unikernel` (the marker's app booted as the
marker says). The matrix: `--uniforge-target T` (repeatable) or the `uniforge_targets` ini option choose targets,
narrowed to those the marker accepts (`targets=`, `needs=` capabilities); targets this host cannot run are
skipped with the reason. A failed test's report carries each guest's console (those booted with `uniforge_boot`,
and those a fixture of the test gives, e.g. one booted once per module); a guest crash fails the test with its
symbolized backtrace as the message. Under pytest-xdist each worker builds into its own folder and published
ports are chosen free (and chosen again on a clash).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from . import api
from .core.errors import GuestTimeout

DEFAULT_TARGET = "qemu-x86_64"
_GUESTS = pytest.StashKey[list[tuple[str, "api.VM", bool]]]()
_CRASH_WAIT = 10.0      # seconds a crashed guest gets to finish printing its backtrace


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("uniforge", "unikernels built and booted by uniforge")
    group.addoption("--uniforge-target", action="append", default=[], metavar="TARGET", dest="uniforge_targets",
                    help="run uniforge tests on TARGET (repeatable); default: the uniforge_targets ini option, "
                         "else the targets each test's marker accepts")
    group.addoption("--uniforge-out", metavar="DIR", dest="uniforge_out",
                    help="build images into DIR (e.g. to keep them as CI artifacts); default: a temporary folder")
    parser.addini("uniforge_targets", "targets uniforge tests run on when --uniforge-target is not given",
                  type="args", default=[])
    parser.addini("uniforge_app", "the app (folder of its uniforge.toml) of tests whose marker names none",
                  default="")
    parser.addini("uniforge_timeout", "seconds a guest booted by the fixtures may live (default 600)", default="600")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "uniforge(app=None, targets=None, needs=(), args=(), publish=(), cmdline='', memory=None, "
                   "net=None, netns=None, disks=(), timeout=None): the app the uniforge fixtures build and boot, the targets "
                   "the test runs on (names, or the capabilities they need: boots, net, disk, xen, ...), and how "
                   "`unikernel` boots it")


# -- the target matrix

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "uniforge_target" not in metafunc.fixturenames or _parametrized_by_hand(metafunc):
        return
    marker = metafunc.definition.get_closest_marker("uniforge")
    params = [pytest.param(name, id=name) for name in _matrix(metafunc.config, marker)]
    if not params:
        reason = "none of the targets chosen for this run is one this test runs on"
        params = [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-target")]
    metafunc.parametrize("uniforge_target", params, scope="module")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test on a target this host cannot run is skipped with the reason, whether the matrix chose its target
    or the test parametrized `uniforge_target` by hand (with other parameters that go with each target)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("uniforge_target") if callspec else None
        if name is not None:
            for mark in _unless_runnable(name):
                item.add_marker(mark)


def _parametrized_by_hand(metafunc: pytest.Metafunc) -> bool:
    return any("uniforge_target" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))


def _matrix(config: pytest.Config, marker: pytest.Mark | None) -> list[str]:
    """The targets a test runs on: those chosen for the run (command line, else ini), narrowed to those its marker
    accepts; without a choice, those it accepts; without either, its app's own target."""
    kwargs = marker.kwargs if marker else {}
    accepted: list[str] | None = None
    if kwargs.get("targets") is not None:
        accepted = list(kwargs["targets"])
    if kwargs.get("needs"):
        with_needs = [t.name for t in api.targets(*kwargs["needs"])]
        accepted = [t for t in accepted if t in with_needs] if accepted is not None else with_needs
    chosen = config.getoption("uniforge_targets") or config.getini("uniforge_targets") or None
    if chosen is not None:
        return [t for t in chosen if accepted is None or t in accepted]
    if accepted is not None:
        return accepted
    app = _app_path(config, marker)
    return [api.App.load(app).target if app else DEFAULT_TARGET]


def _unless_runnable(name: str) -> list[pytest.MarkDecorator]:
    info = api.host.target_info(name)
    return [] if info.runs_here else [pytest.mark.skip(reason=f"{name} cannot run on this host: {info.why}")]


def _app_path(config: pytest.Config, marker: pytest.Mark | None) -> Path | None:
    """The marker's app, else the ini option's; relative to the rootdir."""
    given = (marker.kwargs.get("app") if marker else None) or config.getini("uniforge_app")
    return config.rootpath / given if given else None


# -- fixtures

@pytest.fixture(scope="module")
def uniforge_target(request: pytest.FixtureRequest) -> str:
    """The target this test runs on (parametrized by pytest_generate_tests; this is the fallback without it)."""
    return getattr(request, "param", None) or _matrix(request.config, request.node.get_closest_marker("uniforge"))[0]


@pytest.fixture(scope="session")
def uniforge_build(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Callable[..., api.Image]:
    """build(app, target=None, *, debug=None, out_dir=None) -> Image: `app` an App or its folder (relative to the
    rootdir), built once per session for each target (and options)."""
    out = request.config.getoption("uniforge_out")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = Path(out).resolve() if out else tmp_path_factory.mktemp("uniforge")
    if out and worker:
        base = base / worker            # workers never write the same files
    done: dict[tuple[Any, ...], api.Image] = {}

    def build(app: api.App | str | Path, target: str | None = None, *, debug: bool | None = None,
              out_dir: str | Path | None = None) -> api.Image:
        if not isinstance(app, api.App):
            app = api.App.load(request.config.rootpath / app)
        key = (app.manifest, target, debug, out_dir)
        if key not in done:
            folder = out_dir or base / f"{app.name}.{target or app.target}{'.debug' if debug else ''}"
            done[key] = api.build(app, target, debug=debug, out_dir=folder)
        return done[key]

    return build


@pytest.fixture
def uniforge_image(request: pytest.FixtureRequest, uniforge_build: Callable[..., api.Image],
                   uniforge_target: str) -> api.Image:
    """The marker's app (or the uniforge_app ini option's) built for this test's target."""
    app = _app_path(request.config, request.node.get_closest_marker("uniforge"))
    if app is None:
        raise pytest.UsageError("uniforge_image needs an app: @pytest.mark.uniforge(app=...) or uniforge_app")
    return uniforge_build(app, uniforge_target)


@pytest.fixture
def uniforge_boot(request: pytest.FixtureRequest, uniforge_target: str) -> Iterator[Callable[..., api.VM]]:
    """boot(image=None, args=(), *, expect_crash=False, **Image.boot's keywords) -> VM: boots `image` (default:
    uniforge_image) for this test; every guest it booted is ended after the test. A guest that crashes fails the
    test with its backtrace, unless `expect_crash`."""
    guests: list[tuple[str, api.VM, bool]] = []
    request.node.stash[_GUESTS] = guests
    limit = float(request.config.getini("uniforge_timeout"))

    def boot(image: api.Image | None = None, args: Sequence[str] = (), *, expect_crash: bool = False,
             **kwargs: Any) -> api.VM:
        image = image or request.getfixturevalue("uniforge_image")
        kwargs.setdefault("timeout", limit)
        vm = image.boot(args, **kwargs)
        guests.append((f"{image.app} on {kwargs.get('target') or image.target}", vm, expect_crash))
        return vm

    yield boot
    for _, vm, _ in guests:
        vm.close()


@pytest.fixture
def unikernel(request: pytest.FixtureRequest, uniforge_image: api.Image,
              uniforge_boot: Callable[..., api.VM]) -> api.VM:
    """The marker's app booted on this test's target, as the marker says (args, publish, cmdline, memory, net,
    netns, disks, timeout); ended after the test."""
    marker = request.node.get_closest_marker("uniforge")
    kwargs = {key: value for key, value in (marker.kwargs if marker else {}).items()
              if key in ("publish", "cmdline", "memory", "net", "netns", "disks", "timeout") and value is not None}
    return uniforge_boot(uniforge_image, tuple(marker.kwargs.get("args", ())) if marker else (), **kwargs)


# -- reports

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    booted = item.stash.get(_GUESTS, [])
    guests = booted + [g for g in _guests_of_fixtures(item) if all(g[1] is not vm for _, vm, _ in booted)]
    if report.when != "call" or not guests:
        return report
    crashed = [(label, vm) for label, vm, expected in guests if not expected and vm.crash]
    for label, vm in crashed:
        try:
            vm.wait(_CRASH_WAIT)        # the rest of its backtrace
        except GuestTimeout:
            pass
    if crashed:
        report.outcome = "failed"
        report.longrepr = "\n".join(f"{label}: {vm.crash}" for label, vm in crashed)
    elif call.excinfo is not None and call.excinfo.errisinstance(GuestTimeout):
        report.longrepr = f"uniforge: {call.excinfo.value}"
    if report.failed:
        for label, vm, _ in guests:
            report.sections.append((f"uniforge console: {label} ({vm.stage})", vm.console.text or "(nothing printed)"))
    return report


def _guests_of_fixtures(item: pytest.Item) -> list[tuple[str, api.VM, bool]]:
    """The guests the test got from fixtures of its own (e.g. one booted once per module and shared): a fixture's
    value that is a VM, or a tuple holding one."""
    found = []
    for name, value in getattr(item, "funcargs", {}).items():
        for vm in value if isinstance(value, tuple) else (value,):
            if isinstance(vm, api.VM):
                found.append((f"{vm.image.app} on {vm.image.target} (fixture {name})", vm, False))
    return found
