"""`uniforge bench`: image size, boot time, minimum memory and build time of apps, against the floor (the null
kernel, bench/null/) and optionally a Linux microVM (linuxpeer.py), all measured in the same run.

Boots are plain QEMU processes (boottime.py), without the QMP control `uniforge run` uses, and the subjects take
turns (floor, app, peer, floor, app, peer, ...) so that the load of a shared machine hits them alike. Figures are
medians with min and max; each has its ratio to the floor's median on the same target.
"""

from __future__ import annotations

import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile

from ..core.version import __version__
from ..building import image, musl
from ..building.manifest import Manifest
from ..building.targets import Target
from ..building.targets import load as load_target
from ..building.targets import names as target_names
from ..core import progress, sizes
from ..core.errors import BenchError
from ..core.paths import uniforge_command, uniforge_environment
from ..platforms import way_for
from ..platforms.run import decode_exit
from . import linuxpeer
from .boottime import GUEST_LINE, Boot, timed_boot
from .hosttsc import host_tsc_hz

BENCH_OPTION = "uf.bench=1"          # makes module process print the guest's timestamps (boottime.GUEST_LINE)
MEMORY_RESOLUTION_KIB = 64            # QEMU takes -m in KiB (e.g. 1536K)
TIMING = "host side: plain QEMU processes (no QMP, whose start adds 5-8 ms), from spawn"


@dataclass
class Subject:
    """Something booted and measured: an app image, the floor, or the peer, on one target."""
    name: str
    kind: str                                   # "app", "floor" or "peer"
    target: Target
    command: Callable[[int], list[str]]         # the QEMU command line for a RAM size in KiB
    memory_kib: int                             # the RAM it normally gets (and is known to boot with)
    marker: bytes | None                        # the console line that says "main reached"
    succeeded: Callable[[Boot], bool]
    size: dict
    timeout: float = 60.0
    boots: list[Boot] = field(default_factory=list)


def summarize(values: Sequence[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _with_samples(values: list[float]) -> dict:
    return {**summarize(values), "samples": values}


def ratio(value: float | None, floor: float | None) -> float | None:
    return value / floor if value is not None and floor else None


def bisect_min(passes: Callable[[int], bool], high: int, *, low: int = 0, resolution: int = 1) -> int:
    """The smallest multiple of `resolution` in (low, high] for which `passes` holds, assuming that it holds from
    some point on (more memory never hurts). `high` must pass; `low` is taken to fail."""
    if not passes(high):
        raise BenchError(f"fails even with {high} (the known-good value)")
    while high - low > resolution:
        mid = max((low + high) // 2 // resolution * resolution, low + resolution)
        if passes(mid):
            high = mid
        else:
            low = mid
    return high


def section_sizes(path: Path) -> dict:
    """Loaded bytes as size(1) counts them: text (code and read-only data), data (written), bss (no file bytes)."""
    sizes = {"text": 0, "data": 0, "bss": 0}
    with open(path, "rb") as f:
        for s in ELFFile(f).iter_sections():
            if not s["sh_flags"] & 0x2:                    # SHF_ALLOC
                continue
            kind = "bss" if s["sh_type"] == "SHT_NOBITS" else "data" if s["sh_flags"] & 0x1 else "text"
            sizes[kind] += s["sh_size"]
    return sizes


def app_subject(app: Manifest, target: Target, built: Path) -> Subject:
    info = image.read(built)
    expected: list[str] = []        # the console of the first good boot: later boots must print the same

    def succeeded(boot: Boot) -> bool:
        if boot.returncode is None or decode_exit(target.exit, boot.returncode).exit_code != 0:
            return False
        console = _without_guest_line(boot.console)
        expected[:] = expected or [console]
        return console == expected[0]

    way = way_for(target)
    return Subject(
        name=app.name, kind="app", target=target,
        command=lambda kib: way.bench_command(built, cmdline=BENCH_OPTION, memory=f"{kib}K"),
        memory_kib=sizes.kib(app.memory or target.qemu.memory), marker=b"uniforge: bench:",
        succeeded=succeeded,
        size={"file": built.stat().st_size, **section_sizes(built), "modules": info.get("bytes", {})})


def floor_subject(target: Target) -> Subject:
    way = way_for(target)
    kernel = way.floor()
    return Subject(
        name="null", kind="floor", target=target,
        command=lambda kib: way.bench_command(kernel, memory=f"{kib}K"),
        memory_kib=sizes.kib(target.qemu.memory), marker=None,
        succeeded=lambda b: b.returncode is not None and decode_exit(target.exit, b.returncode).exit_code == 0,
        size={"file": kernel.stat().st_size, **section_sizes(kernel)})


def peer_subject(target: Target) -> Subject:
    """The Linux peer as a bench Subject on a target whose bench.peer it is."""
    peer = linuxpeer.prepare(linuxpeer.arch_of(target))

    def command(kib: int) -> list[str]:
        return linuxpeer.qemu_command(target, peer, memory_kib=kib)

    def succeeded(boot: Boot) -> bool:      # poweroff: QEMU exits with 0 (without a status from the guest)
        return boot.returncode == 0 and linuxpeer.LINE.decode() in boot.console

    # Its size is what is shipped (bzImage or zImage, and initramfs), though on x86_64 the vmlinux inside the
    # bzImage is what boots; sections are counted in that vmlinux (ARM boots its zImage, which has none to count).
    initramfs_bytes = peer.initramfs.stat().st_size
    return Subject(name="linux", kind="peer", target=target, command=command, memory_kib=linuxpeer.MEMORY_KIB,
                   marker=linuxpeer.LINE, succeeded=succeeded, timeout=60.0,
                   size={"file": peer.kernel_file_bytes + initramfs_bytes,
                         peer.arch.kernel_file.lower(): peer.kernel_file_bytes, "initramfs": initramfs_bytes,
                         **({**section_sizes(peer.kernel), "vmlinux": peer.kernel.stat().st_size}
                            if peer.arch.unpack else {}),
                         "packages": peer.version})


def _without_guest_line(console: str) -> str:
    return "".join(line for line in console.splitlines(keepends=True) if not GUEST_LINE.search(line.encode()))


def measure_boots(subjects: list[Subject], runs: int) -> None:
    """One warm-up round, then `runs` rounds in which every subject boots once, in turn."""
    with progress.step(f"bench: {runs + 1} rounds of {len(subjects)} boots", (runs + 1) * len(subjects)) as tick:
        for round_ in range(runs + 1):
            for s in subjects:
                boot = timed_boot(s.command(s.memory_kib), marker=s.marker, timeout=s.timeout)
                if not s.succeeded(boot):
                    raise BenchError(f"{s.name} on {s.target.name} failed to boot: "
                                     + _why(boot), hint=f"command: {shlex.join(s.command(s.memory_kib))}")
                if round_:
                    s.boots.append(boot)
                tick()


def _why(boot: Boot) -> str:
    if boot.returncode is None:
        return "timed out"
    tail = boot.console.strip().splitlines()[-1:] or ["no console output"]
    return f"QEMU exit status {boot.returncode}, console: {tail[0][:200]}"


def min_memory_kib(s: Subject) -> int:
    """The least RAM (KiB, to MEMORY_RESOLUTION_KIB) it boots with and behaves as with its usual RAM. A boot that
    hangs for lack of memory is stopped at 10x its usual time."""
    timeout = max(5.0, 10 * statistics.median(b.exit_s for b in s.boots))
    return bisect_min(lambda kib: s.succeeded(timed_boot(s.command(kib), marker=s.marker, timeout=timeout)),
                      s.memory_kib, resolution=MEMORY_RESOLUTION_KIB)


def build_times(app: Manifest, target: Target, runs: int) -> dict:
    """Cold (an empty cache: the libc and every module) and warm (a full cache, after an edit of the app) builds,
    each a whole `uniforge build` process on a copy of the app."""
    env = uniforge_environment(UNIFORGE_MUSL_SOURCE=str(musl.tarball()))    # the download is not part of a build's time
    with tempfile.TemporaryDirectory(prefix="uniforge-bench-") as tmp:
        work = Path(tmp) / app.name
        shutil.copytree(app.root, work, ignore=shutil.ignore_patterns("build"))
        env["UNIFORGE_CACHE"] = str(Path(tmp) / "cache")
        command = uniforge_command("build", "-t", target.name, "-C", str(work))

        def timed_build() -> float:
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                said = [line for line in done.stderr.splitlines() if line.startswith("uniforge: error:")]
                raise BenchError(f"building {app.name} for {target.name} failed"
                                 + (f" ({said[0].removeprefix('uniforge: error: ')})" if said else ""),
                                 hint=f"run: {shlex.join(command)}")
            return time.perf_counter() - start

        cold = timed_build()
        # An app built by its own build system (no sources of its own): its warm build is that build with nothing
        # changed (its make decides what to redo).
        source = work / app.sources[0].relative_to(app.root) if app.sources else None
        warm = []
        for i in range(runs):
            if source:
                source.write_text(source.read_text() + f"\n/* uniforge bench: edit {i} */\n")
            warm.append(timed_build())
    return {"cold": summarize([cold]), "warm": summarize(warm)}


def results(subjects: list[Subject], min_memory: dict[int, int], builds: dict[int, dict]) -> list[dict]:
    """One record per subject, with the ratios to its target's floor."""
    records = []
    tsc_hz = host_tsc_hz()
    for i, s in enumerate(subjects):
        boot = {"first_byte": [b.first_byte_s for b in s.boots], "main": [b.marker_s for b in s.boots],
                "exit": [b.exit_s for b in s.boots]}
        boot_ms = {k: _with_samples([x * 1000 for x in v]) for k, v in boot.items() if v and None not in v}
        entry_to_main = [_ticks_us(b, s.target, tsc_hz) for b in s.boots]
        record = {"subject": s.name, "kind": s.kind, "target": s.target.name, "size": s.size, "boot_ms": boot_ms,
                  "min_memory_kib": min_memory.get(i)}
        if entry_to_main and None not in entry_to_main:
            record["guest_entry_to_main_us"] = summarize(entry_to_main)
        if i in builds:
            record["build_s"] = builds[i]
        records.append(record)
    for record in records:
        floor = next(r for r in records if r["kind"] == "floor" and r["target"] == record["target"])
        record["vs_floor"] = {
            "size": ratio(record["size"]["file"], floor["size"]["file"]),
            **{f"boot_{k}": ratio(v["median"], floor["boot_ms"].get(k, {}).get("median"))
               for k, v in record["boot_ms"].items() if k in floor["boot_ms"]},
            "min_memory": ratio(record["min_memory_kib"], floor["min_memory_kib"]),
        }
    return records


def _ticks_us(boot: Boot, target: Target, host_hz: int | None) -> float | None:
    """Entry to main as the guest counted it, in us. A guest that cannot know its counter's rate reports 0; on a
    target whose guest TSC is the host's (bench.host_tsc), hosttsc measures that rate."""
    if boot.guest is None:
        return None
    hz = boot.guest.hz or (host_hz if target.bench.host_tsc else None)
    return (boot.guest.main - boot.guest.entry) * 1e6 / hz if hz else None


def bench(apps: list[tuple[Manifest, Target, Path]], targets: list[Target], runs: int, *, command: str,
          peers: Sequence[str] = (), build_time: bool = True) -> dict:
    """Measures each built app (manifest, target, image), the floor of each target and the peers (on the targets
    they run on); returns the report that `uniforge bench` prints and saves, which names `command`."""
    for name in peers:
        if not any(t.bench.peer == name for t in targets):
            runs_it = [t for t in map(load_target, target_names()) if t.bench.peer == name]
            raise BenchError(f"--peer {name} runs on none of the targets given",
                             hint=f"add -t {runs_it[0].name}" if runs_it else None)
    subjects = []
    for target in targets:
        subjects.append(floor_subject(target))
        subjects += [app_subject(app, t, built) for app, t, built in apps if t is target]
        subjects += [peer_subject(target) for name in peers if target.bench.peer == name]
    measure_boots(subjects, runs)
    with progress.step("bench: minimum memory (bisection)", len(subjects)) as tick:
        min_memory = {}
        for i, s in enumerate(subjects):
            min_memory[i] = min_memory_kib(s)
            tick()
    builds = {}
    if build_time:
        with progress.step("bench: build times (cold: empty cache)", len(apps)) as tick:
            for i, s in enumerate(subjects):
                if s.kind == "app":
                    app = next(a for a, t, _ in apps if a.name == s.name and t is s.target)
                    builds[i] = build_times(app, s.target, runs)
                    tick()
    return {"uniforge": __version__, "runs": runs, "timing": TIMING, "host_tsc_hz": host_tsc_hz(),
            "command": command, "results": results(subjects, min_memory, builds)}
