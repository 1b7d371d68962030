"""Threads in the guest: pthread_create + pthread_join of a thread that returns at once, a futex ping-pong round
trip between two threads (two semaphores: sem_wait blocks in a futex wait, sem_post wakes with a futex wake), and
one sched_yield switch between two threads; and the image size of the threads test app. Prints JSON.

    python bench/threads.py [--target qemu-x86_64] [--runs 5]

The guest times itself with CLOCK_MONOTONIC (tests/apps/threadprobe `bench`: 500 creates, 5,000 round trips,
5,000 yields per thread). Medians over the runs: these machines are shared and noisy, and TCG (software
emulation) bounds everything here. No Linux peer yet.
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

FIGURES = ("create_join_ns", "futex_round_trip_ns", "yield_switch_ns")


def uniforge(*args: str, cwd: Path) -> str:
    proc = testing.uniforge(*args, cwd=cwd, timeout=None)
    if proc.returncode != 0:
        raise SystemExit(f"uniforge {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "threadprobe"
        shutil.copytree(ROOT / "tests/apps/threadprobe", folder, ignore=shutil.ignore_patterns("build"))
        uniforge("build", "-t", opts.target, cwd=folder)
        runs = []
        for _ in range(opts.runs):
            out = uniforge("run", f"build/threadprobe.{opts.target}", "--timeout", "600", "--", "bench", cwd=folder)
            match = re.search(r"bench: " + " ".join(rf"{name}=(\d+)" for name in FIGURES), out)
            if not match:
                raise SystemExit(f"no result from the guest:\n{out}")
            runs.append([int(x) for x in match.groups()])
        result = {"target": opts.target, "runs": opts.runs,
                  **{name: statistics.median(run[i] for run in runs) for i, name in enumerate(FIGURES)},
                  "image_bytes": (folder / "build" / f"threadprobe.{opts.target}").stat().st_size}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
