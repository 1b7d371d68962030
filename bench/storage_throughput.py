"""File throughput in the guest: sequential write (with the closing fsync) and read of a file on a FAT32 virtio-blk
disk, the latency of fsync after a 512-byte append, and the size of the kvstore example's image. Prints JSON.

    python bench/storage_throughput.py [--target qemu-x86_64] [--mib 32] [--runs 3]

The guest times itself with CLOCK_MONOTONIC (tests/apps/fsprobe `bench`); each run uses a fresh disk image.
Medians: these machines are shared and noisy. TCG (software emulation) bounds everything here.
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


def uniforge(*args: str, cwd: Path) -> str:
    proc = testing.uniforge(*args, cwd=cwd, timeout=None)
    if proc.returncode != 0:
        raise SystemExit(f"uniforge {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def build(app: Path, work: Path, target: str) -> Path:
    folder = work / app.name
    shutil.copytree(app, folder, ignore=shutil.ignore_patterns("build"))
    uniforge("build", "-t", target, cwd=folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--mib", type=int, default=32, help="size of the file written and read back")
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        probe = build(ROOT / "tests/apps/fsprobe", work, opts.target)
        kvstore = build(ROOT / "examples/kvstore", work, opts.target)
        runs = []
        for i in range(opts.runs):
            image = work / f"bench{i}.img"
            uniforge("disk", "create", str(image), "--size", f"{max(128, 3 * opts.mib)}M", cwd=work)
            out = uniforge("run", f"build/fsprobe.{opts.target}", f"--disk={image}", "--timeout", "600", "--",
                           "bench", str(opts.mib), cwd=probe)
            match = re.search(r"bench write_s=([\d.]+) read_s=([\d.]+) fsync100_s=([\d.]+)", out)
            if not match:
                raise SystemExit(f"no result from the guest:\n{out}")
            runs.append(tuple(float(x) for x in match.groups()))
            image.unlink()
        image = kvstore / "build" / f"kvstore.{opts.target}"
        result = {
            "target": opts.target,
            "file_mib": opts.mib,
            "runs": opts.runs,
            "seq_write_mib_s": round(statistics.median(opts.mib / w for w, _, _ in runs), 2),
            "seq_read_mib_s": round(statistics.median(opts.mib / r for _, r, _ in runs), 2),
            "fsync_latency_ms": round(statistics.median(f / 100 * 1000 for _, _, f in runs), 3),
            "kvstore_image_bytes": image.stat().st_size,
            "kvstore_modules": sorted(json.loads(uniforge("inspect", "--json", str(image), cwd=kvstore))["modules"]),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
