"""Network figures of examples/httpd over a tap device: HTTP requests per second with wrk (keep-alive, several
connections) and bulk TCP throughput (a POST /echo of BULK MiB, the body streamed back while it is sent).
Medians of several runs. Needs root (a network namespace and a tap device) and wrk + curl. Prints JSON.

    python bench/net_throughput.py [--target qemu-x86_64] [--runs 5] [--seconds 10] [--connections 10] [--bulk 32]

The guest runs under TCG: these figures measure the emulated machine as much as the stack. Medians, not means:
these machines are shared and noisy.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NS = f"ufbench{os.getpid()}"
TAP, HOST, GUEST = "ufb0", "10.79.0.1", "10.79.0.2"


def in_ns(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", NS, *command], check=True, capture_output=True, text=True,
                          **kwargs)


def start_guest(app: Path, target: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))
    guest = subprocess.Popen(
        ["ip", "netns", "exec", NS, sys.executable, "-m", "uniforge", "run", f"build/httpd.{target}",
         "--net", f"tap:{TAP}", "--cmdline", f"uf.ip={GUEST}/24 uf.gw={HOST}", "--", "80"],
        cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    console = ""
    while "httpd: listening" not in console:
        line = guest.stdout.readline()
        if not line:
            raise SystemExit(f"httpd did not come up:\n{console}")
        console += line
    return guest


def wrk_requests_per_second(seconds: int, connections: int) -> float:
    out = in_ns("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", f"http://{GUEST}/",
                timeout=seconds + 120).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])


def bulk_mib_per_second(payload: Path) -> float:
    """MiB/s of the upload (the same amount comes back at the same time)."""
    start = time.perf_counter()
    in_ns("curl", "-sS", "--fail", "--data-binary", f"@{payload}", "-o", "/dev/null", f"http://{GUEST}/echo",
          timeout=3600)
    return payload.stat().st_size / (1 << 20) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=10, help="wrk's concurrent keep-alive connections")
    parser.add_argument("--bulk", type=int, default=32, help="MiB per bulk transfer")
    opts = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("net_throughput.py needs root: it makes a network namespace and a tap device")
    for tool in ("wrk", "curl", "ip"):
        if not shutil.which(tool):
            raise SystemExit(f"net_throughput.py needs `{tool}` (scripts/install-host-deps installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "httpd"
        shutil.copytree(ROOT / "examples/httpd", app, ignore=shutil.ignore_patterns("build"))
        env = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"))
        subprocess.run([sys.executable, "-m", "uniforge", "build", "-t", opts.target], cwd=app, env=env,
                       check=True, capture_output=True)
        payload = Path(tmp) / "bulk.bin"
        payload.write_bytes(os.urandom(opts.bulk << 20))
        subprocess.run(["ip", "netns", "add", NS], check=True)
        guest = None
        try:
            in_ns("ip", "link", "set", "lo", "up")
            in_ns("ip", "tuntap", "add", TAP, "mode", "tap")
            in_ns("ip", "addr", "add", f"{HOST}/24", "dev", TAP)
            in_ns("ip", "link", "set", TAP, "up")
            guest = start_guest(app, opts.target)
            in_ns("curl", "-sS", "--fail", "-o", "/dev/null", f"http://{GUEST}/", timeout=300)  # warm: ARP, caches
            rps = [wrk_requests_per_second(opts.seconds, opts.connections) for _ in range(opts.runs)]
            bulk = [bulk_mib_per_second(payload) for _ in range(opts.runs)]
        finally:
            if guest:
                guest.send_signal(signal.SIGINT)
                guest.wait(30)
            subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)

    print(json.dumps({
        "target": opts.target, "runs": opts.runs,
        "wrk": {"command": f"wrk -t1 -c{opts.connections} -d{opts.seconds}s http://{GUEST}/",
                "requests_per_s_median": round(statistics.median(rps), 1), "all": [round(r, 1) for r in rps]},
        "bulk_echo": {"command": f"curl --data-binary @{opts.bulk}MiB http://{GUEST}/echo -o /dev/null",
                      "mib_per_s_each_way_median": round(statistics.median(bulk), 2),
                      "all": [round(b, 2) for b in bulk]},
    }, indent=2))


if __name__ == "__main__":
    main()
