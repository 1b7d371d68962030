"""Boot-to-exit time of an app image against the floor kernel (a PVH guest that exits at once), measured in the
same run, alternating, whole QEMU process; plus the image size and cold/warm build times. Prints JSON.

    python bench/boot_time.py [--app examples/hello] [--target qemu-x86_64] [--runs 20]

Medians and ratios, not means: these machines are shared and noisy.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))

from uniforge import targets  # noqa: E402
from uniforge.floor import build_floor  # noqa: E402
from uniforge.run import build_qemu_command, decode_exit  # noqa: E402


def timed(command: list[str], exit_method: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if decode_exit(exit_method, proc.returncode).exit_code != 0:
        raise SystemExit(f"{command} did not exit with status 0: {proc.stderr.decode()}")
    return elapsed


def build_times(app: Path, target: str) -> dict:
    """Cold (empty cache: musl and every module) and warm (after an edit of the app) build times."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / app.name
        shutil.copytree(app, work, ignore=shutil.ignore_patterns("build"))
        cold_env = dict(env, UNIFORGE_CACHE=str(Path(tmp) / "cache"))
        cmd = [sys.executable, "-m", "uniforge", "build", "-t", target]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=work, env=cold_env, check=True, capture_output=True)
        cold = time.perf_counter() - start
        warm = []
        for i in range(5):
            main = work / "main.c"
            main.write_text(main.read_text() + f"\n/* edit {i} */\n")
            start = time.perf_counter()
            subprocess.run(cmd, cwd=work, env=cold_env, check=True, capture_output=True)
            warm.append(time.perf_counter() - start)
    return {"cold_s": round(cold, 2), "warm_median_s": round(statistics.median(warm), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", type=Path, default=ROOT / "examples/hello")
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-build-times", action="store_true")
    opts = parser.parse_args()

    target = targets.load(opts.target)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))
    subprocess.run([sys.executable, "-m", "uniforge", "build", "-t", opts.target], cwd=opts.app, env=env,
                   check=True, capture_output=True)
    name = opts.app.resolve().name
    image = next((opts.app / "build").glob(f"*.{opts.target}"))
    floor = build_floor(target)
    app_cmd = build_qemu_command(target, image)
    floor_cmd = build_qemu_command(target, floor)
    app_times, floor_times = [], []
    for _ in range(opts.runs):            # alternate, so both see the same noise
        floor_times.append(timed(floor_cmd, target.exit))
        app_times.append(timed(app_cmd, target.exit))
    app_ms, floor_ms = statistics.median(app_times) * 1000, statistics.median(floor_times) * 1000
    result = {
        "app": name, "target": opts.target, "runs": opts.runs,
        "image_bytes": image.stat().st_size,
        "boot_ms_median": round(app_ms, 1), "floor_ms_median": round(floor_ms, 1),
        "ratio": round(app_ms / floor_ms, 3),
    }
    if not opts.no_build_times:
        result["build"] = build_times(opts.app, opts.target)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
