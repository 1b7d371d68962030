"""Threads in the guest: pthread_create + pthread_join of a thread that returns at once, a futex ping-pong round
trip between two threads (two semaphores: sem_wait blocks in a futex wait, sem_post wakes with a futex wake), and
one sched_yield switch between two threads; and the image size of the threads test app. Prints JSON.

    python bench/threads.py [--target qemu-x86_64] [--runs 5]

The guest times itself with CLOCK_MONOTONIC (tests/apps/threadprobe `bench`: 500 creates, 5,000 round trips,
5,000 yields per thread). On a target with the Linux peer (its bench.peer: qemu-x86_64 and qemu-armv7, each with
Debian's kernel of its arch), the same program, linked by `uniforge cc` from the same sources and libc as a static
Linux executable, runs as the peer's /init in the same QEMU, the two taking turns; "ratio" is Uniforge's figure over
Linux's (below 1: faster). Medians over the runs: these machines are shared and noisy, and TCG (software emulation)
bounds everything here.
"""
import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))     # uniforge need not be installed
from uniforge import testing  # noqa: E402
from uniforge.bench import linuxpeer  # noqa: E402
from uniforge.bench.boottime import timed_boot  # noqa: E402
from uniforge.building import cclink, targets  # noqa: E402

FIGURES = ("create_join_ns", "futex_round_trip_ns", "yield_switch_ns")
RESULT = re.compile(r"bench: " + " ".join(rf"{name}=(\d+)" for name in FIGURES))


def uniforge(*args: str, cwd: Path) -> str:
    proc = testing.uniforge(*args, cwd=cwd, timeout=None)
    if proc.returncode != 0:
        raise SystemExit(f"uniforge {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def figures(out: str, who: str) -> list[int]:
    match = RESULT.search(out)
    if not match:
        raise SystemExit(f"no result from {who}:\n{out[-3000:]}")
    return [int(x) for x in match.groups()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    target = targets.load(opts.target)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "threadprobe"
        shutil.copytree(ROOT / "tests/apps/threadprobe", folder, ignore=shutil.ignore_patterns("build"))
        uniforge("build", "-t", opts.target, cwd=folder)
        peer = None
        if target.bench.peer == "linux":
            uniforge("cc", "-t", opts.target, "main.c", "-o", "threadprobe-linux", cwd=folder)
            program = cclink.program_of(folder / "threadprobe-linux").read_bytes()
            peer = linuxpeer.prepare(linuxpeer.arch_of(target), program=linuxpeer.Program(program, ("bench",)))
        runs: dict[str, list[list[int]]] = {"uniforge": [], "linux": []}
        for _ in range(opts.runs):      # turns, so that the machine's load hits both alike
            out = uniforge("run", f"build/threadprobe.{opts.target}", "--timeout", "600", "--", "bench", cwd=folder)
            runs["uniforge"].append(figures(out, "the guest"))
            if peer:
                boot = timed_boot(linuxpeer.qemu_command(target, peer), marker=None, timeout=600)
                if boot.returncode != 0 or linuxpeer.LINE.decode() not in boot.console:
                    raise SystemExit(f"the Linux peer failed ({boot.returncode}):\n{boot.console[-3000:]}")
                runs["linux"].append(figures(boot.console, "the Linux peer"))
        medians = {who: {name: statistics.median(run[i] for run in each) for i, name in enumerate(FIGURES)}
                   for who, each in runs.items() if each}
        result = {"target": opts.target, "runs": opts.runs, **medians["uniforge"],
                  "image_bytes": (folder / "build" / f"threadprobe.{opts.target}").stat().st_size}
        if peer:
            result["linux"] = medians["linux"]
            result["ratio"] = {name: round(medians["uniforge"][name] / medians["linux"][name], 3)
                               for name in FIGURES}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
