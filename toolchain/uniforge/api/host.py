"""The targets and this host: `targets()` (what each target is, what it can be tested for, whether this host runs it),
`doctor()` (the host checks) and `bench()` (the measurements `uniforge bench` makes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .schema import versioned

if TYPE_CHECKING:
    from ..building.targets import Target
    from .app import App
    from .checks import Check

# What a target can be tested for, from its data: "boots" (all), "net" and "disk" (it has the device models),
# "xen" (a [xen] table), "xl" (a domU under xl: an [xl] table), "position-independent", "raw-form" (its boot
# protocol has a flat form), "timed" (uniforge bench times its boots as plain processes), "emulated" (software
# emulation: runs on any host), "console" (the guest's console is a line of its own, a serial line or a Xen PV
# console: the host's stdin in, its bytes out as they are), "firmware" (its images also boot from disk images,
# through firmware: a [firmware] table).
CAPABILITIES = ("boots", "net", "disk", "xen", "xl", "position-independent", "raw-form", "timed", "emulated",
                "console", "firmware")


@dataclass(frozen=True)
class TargetInfo:
    name: str
    summary: str
    arch: str
    platform: str
    runner: str                     # its way to boot
    machine: str
    accel: str
    capabilities: frozenset[str]
    runs_here: bool                 # whether this host can boot its images
    why: str                        # what runs them, or what is missing

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, "arch": self.arch, "platform": self.platform,
                "runner": self.runner, "machine": self.machine, "accel": self.accel,
                "capabilities": sorted(self.capabilities), "runs_here": self.runs_here, "why": self.why}


def capabilities(target: Target) -> frozenset[str]:
    from ..building.image import RAW_FORMS
    from ..core.errors import BenchError
    from ..platforms import way_for

    found = {"boots"}
    if target.qemu.nic_device:
        found.add("net")
    if target.qemu.disk_device:
        found.add("disk")
    if target.xen is not None:
        found.add("xen")
    if target.xl is not None:
        found.add("xl")
    if target.compiler.position_independent:
        found.add("position-independent")
    if target.boot in RAW_FORMS:
        found.add("raw-form")
    if target.qemu.accel == "tcg":
        found.add("emulated")
    if way_for(target).console_input:
        found.add("console")
    if target.firmware is not None:
        found.add("firmware")
    try:
        way_for(target).check_bench()
        found.add("timed")
    except BenchError:
        pass
    return frozenset(found)


@cache
def target_info(name: str) -> TargetInfo:
    """One target (TargetError if unknown); whether this host runs it is asked once per process (the KVM probe
    boots a guest)."""
    from ..building import targets as target_files
    from ..platforms import way_for

    t = target_files.load(name)
    ok, why = way_for(t).host_support()
    return TargetInfo(name=t.name, summary=t.summary, arch=t.arch, platform=t.platform, runner=t.runner,
                      machine=t.qemu.machine, accel=t.qemu.accel, capabilities=capabilities(t), runs_here=ok,
                      why=why)


def targets(*needs: str) -> list[TargetInfo]:
    """Every target (by name) that has all the capabilities in `needs` (CAPABILITIES)."""
    from ..building import targets as target_files

    unknown = set(needs) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}: known {CAPABILITIES}")
    return [info for info in map(target_info, target_files.names()) if set(needs) <= info.capabilities]


def targets_json(infos: Sequence[TargetInfo]) -> dict[str, Any]:
    """`targets --json`."""
    return versioned({"targets": [t.as_json() for t in infos]})


def doctor() -> list[Check]:
    """The host checks `uniforge doctor` prints: each has name, status (ok, warn, fail), detail, fix; `ok` is
    False for a failed one."""
    from .checks import check_host
    return check_host()


def bench(apps: Sequence[App | str | Path], targets: Sequence[str] = (), *, runs: int = 10,
          peers: Sequence[str] = (), build_times: bool = True, command: str = "uniforge.bench()") -> dict[str, Any]:
    """Measures each app (an App or its folder) on each of `targets` (default: each app's own) against the
    floor, and `peers` (e.g. "linux") where they run: the report `uniforge bench --json` writes, whose
    "results" are one record per subject (docs/json.md)."""
    from ..bench.measure import bench as measure
    from ..building import targets as target_files
    from ..platforms import way_for
    from .app import App, build

    built: list[tuple[Any, Target, Path]] = []
    chosen: dict[str, Target] = {}
    for given in apps:
        app = given if isinstance(given, App) else App.load(given)
        for name in targets or (app.target,):
            target = chosen.setdefault(name, target_files.load(name))
            way_for(target).check_bench()
            built.append((app.manifest, target, build(app, name).path))
    report = measure(built, list(chosen.values()), runs, peers=peers, build_time=build_times, command=command)
    return versioned(report)
