"""Boot times on the Xen rig: from starting QEMU (which boots Xen, which boots the guest) to the guest's first
console line, and to its exit (its status line: the runner ends QEMU there), for an app and for the Xen floor
kernel (bench/null/null-<arch>-xen.S) under the same Xen, alternating. Medians; prints JSON.

    python bench/xen_boot_time.py [--app examples/hello] [--target xen-x86_64-dom0] [--runs 7]

For domUs under xl (xen-x86_64, xen-armv7), bench/xen_domu.py.
"""
import argparse
import json
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))

from uniforge import testing  # noqa: E402
from uniforge.building import targets  # noqa: E402
from uniforge.platforms import way_for  # noqa: E402
from uniforge.platforms.way import BootRequest  # noqa: E402

TIMEOUT = 120.0


def one_run(command: list[str], hypervisor_console) -> tuple[float, float]:
    """Seconds from starting QEMU to the guest's first output and to its status line."""
    first: list[float] = []
    ended: list[float] = []
    start = time.perf_counter()
    console = hypervisor_console(lambda data: first.append(time.perf_counter()),
                                 lambda: ended.append(time.perf_counter()))
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not ended and time.perf_counter() - start < TIMEOUT:
                if sel.select(timeout=1.0):
                    data = os.read(proc.stdout.fileno(), 65536)
                    if not data:
                        break
                    console.feed(data)
    finally:
        proc.kill()
        proc.wait()
    if console.status != 0:
        raise SystemExit(f"{command}: no exit status 0 (status {console.status}, Xen: {console.ending})")
    # The floor's only line is its status line: that is its first line too.
    return (first[0] if first else ended[0]) - start, ended[0] - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", type=Path, default=ROOT / "examples/hello")
    parser.add_argument("--target", default="xen-x86_64-dom0")
    parser.add_argument("--runs", type=int, default=7)
    opts = parser.parse_args()
    target = targets.load(opts.target)
    way = way_for(target)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = work / opts.app.name
        shutil.copytree(opts.app, app, ignore=shutil.ignore_patterns("build"))
        report = json.loads(testing.uniforge("build", "--json", "-t", target.name, cwd=app, check=True).stdout)
        commands = {}
        for name, path in (("app", Path(report["image"])), ("floor", way.floor())):
            (work / name).mkdir()
            commands[name] = way.command(path, BootRequest(), work / name)
        times: dict[str, list[tuple[float, float]]] = {"app": [], "floor": []}
        for _ in range(opts.runs):
            for name, command in commands.items():
                times[name].append(one_run(command, way.hypervisor_console))
    result = {"target": target.name, "runs": opts.runs}
    for name, runs in times.items():
        result[name] = {"first_line_median_s": round(statistics.median(r[0] for r in runs), 3),
                        "exit_median_s": round(statistics.median(r[1] for r in runs), 3)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
