"""What the Python API costs: `python -c "import uniforge"` against `python -c "pass"`, and a boot of the floor kernel
(bench/null/) through `uniforge.Image.run` (QEMU under QMP, the console read by a thread, the guest's end decoded)
against the same kernel as a plain QEMU process (`uniforge bench`'s way of timing: spawn to exit). They take turns,
so the machine's load hits them alike; medians (min-max) and ratios; prints JSON.

    python bench/api_overhead.py [--target qemu-x86_64] [--runs 20]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))

import uniforge  # noqa: E402
from uniforge.bench.boottime import timed_boot  # noqa: E402
from uniforge.building import targets  # noqa: E402
from uniforge.platforms import way_for  # noqa: E402


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def ms_of(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=20)
    opts = parser.parse_args()
    target = targets.load(opts.target)
    way = way_for(target)
    floor = way.floor()
    memory = target.qemu.memory
    env_python = [sys.executable, "-c"]
    times: dict[str, list[float]] = {"python": [], "import": [], "qemu": [], "api": []}
    for round_ in range(opts.runs + 1):         # the first round warms caches up and is not counted
        python = ms_of([*env_python, "pass"])
        imported = ms_of([*env_python, f"import sys; sys.path.insert(0, {str(ROOT / 'toolchain')!r}); import uniforge"])
        plain = timed_boot(way.bench_command(floor, memory=memory), marker=None, timeout=60)
        assert plain.returncode is not None, "the floor did not end under plain QEMU"
        start = time.perf_counter()
        result = uniforge.Image(floor).run(target=opts.target, memory=memory, timeout=60)
        api = (time.perf_counter() - start) * 1000
        assert result.ok, result.message
        if round_:
            times["python"].append(python)
            times["import"].append(imported)
            times["qemu"].append(plain.exit_s * 1000)
            times["api"].append(api)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "target": opts.target, "runs": opts.runs,
        "python -c pass ms": summary(times["python"]),
        "python -c 'import uniforge' ms": summary(times["import"]),
        "import uniforge, beyond python's start ms": round(medians["import"] - medians["python"], 2),
        "floor as a plain QEMU process ms": summary(times["qemu"]),
        "floor through Image.run ms": summary(times["api"]),
        "Image.run over plain QEMU ms": round(medians["api"] - medians["qemu"], 2),
        "Image.run / plain QEMU": round(medians["api"] / medians["qemu"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
