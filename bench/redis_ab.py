"""Two images of the Redis port (two versions of the library OS: the port's image built on each, copied aside)
against each other, taking turns on the same tap device in a network namespace: each run boots A, then B (the
next run B first), and drives each with Debian's redis-benchmark from the host, GET and SET from 50 clients, with
-P 1 and -P 16. Per image, figure and run: requests per second and the frames the guest sent per request (its tap's
counter). Medians, and B's ratio to A. Needs root (a namespace, a tap device) and redis-tools. Prints JSON.

    python bench/redis_ab.py IMAGE_A IMAGE_B [--runs 3] [--requests 20000] [--pipelined-requests 160000]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import net_throughput as net      # noqa: E402  (the namespace and taps)
import port_redis as redis        # noqa: E402  (the port's start, and the frame counter)

CLIENTS = 50


def one_run(address: str, requests: int, pipelined: int) -> dict[str, tuple[float, float]]:
    """{"GET -P 1": (requests per second, frames per request), ...} for the guest at address, on tap ufb0."""
    figures = {}
    for test in ("GET", "SET"):
        for pipeline, count in ((1, requests), (16, pipelined)):
            before = redis.frames_sent("ufb0")
            out = net.in_ns("redis-benchmark", "-h", address, "-p", str(redis.PORT), "-t", test.lower(),
                            "-n", str(count), "-c", str(CLIENTS), "-P", str(pipeline), "-q", timeout=3600).stdout
            rate = float(out.strip().splitlines()[-1].split(":")[1].split()[0])
            figures[f"{test} -P {pipeline}"] = (rate, (redis.frames_sent("ufb0") - before) / count)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image_a", type=Path)
    parser.add_argument("image_b", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20000, help="redis-benchmark's -n with -P 1")
    parser.add_argument("--pipelined-requests", type=int, default=160000, help="redis-benchmark's -n with -P 16")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("redis_ab.py needs root: it makes a network namespace and a tap device")
    for tool in ("redis-benchmark", "redis-cli", "ip"):
        if not shutil.which(tool):
            raise SystemExit(f"redis_ab.py needs `{tool}` (Debian's redis-tools, iproute2)")
    for image in (opts.image_a, opts.image_b):
        if not image.is_file():
            raise SystemExit(f"redis_ab.py: no image at {image}")
    images = {"A": opts.image_a, "B": opts.image_b}
    runs = {name: [] for name in images}
    address, gateway = net.GUEST_SIDE.format(0), net.HOST_SIDE.format(0)
    work = Path(tempfile.mkdtemp())
    subprocess.run(["ip", "netns", "add", net.NS], check=True)
    try:
        net.in_ns("ip", "link", "set", "lo", "up")
        net.add_tap("ufb0", gateway)
        for run in range(opts.runs):
            for name in ("A", "B") if run % 2 == 0 else ("B", "A"):
                try:
                    guest = redis.start_port(images[name], address, gateway, work / f"{name}.log")
                except RuntimeError as error:
                    raise SystemExit(str(error)) from None
                try:
                    runs[name].append(one_run(address, opts.requests, opts.pipelined_requests))
                finally:
                    net.stop([guest])
    finally:
        subprocess.run(["ip", "netns", "del", net.NS], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)

    def medians(name: str) -> dict:
        return {figure: {"requests_per_s": net.median([r[figure][0] for r in runs[name]]),
                         "frames_per_request": net.median([r[figure][1] for r in runs[name]], 3)}
                for figure in runs[name][0]}

    result = {name: medians(name) for name in images}
    print(json.dumps({
        "images": {name: str(path) for name, path in images.items()}, "runs": opts.runs,
        "servers": result,
        "b_to_a": {figure: round(result["B"][figure]["requests_per_s"]["median"] /
                                 result["A"][figure]["requests_per_s"]["median"], 2) for figure in result["A"]},
    }, indent=2))


if __name__ == "__main__":
    main()
