"""Network figures of examples/httpd over a tap device: HTTP requests per second with wrk (keep-alive, several
connections) and bulk TCP throughput (a POST /echo of BULK MiB, the body streamed back while it is sent).
Medians of several runs. Needs root (a network namespace and a tap device) and wrk + curl. Prints JSON.

    python bench/net_throughput.py [--target qemu-x86_64] [--runs 5] [--seconds 10] [--connections 10] [--bulk 32]
                                   [--peer linux]

With `--peer linux` (x86_64 targets), a Linux microVM (toolchain/uniforge/bench/linuxpeer.py: Debian's kernel, its
virtio-net modules, busybox httpd) serving a page of the same bytes as httpd's / runs beside it on a second tap
device, with the same QEMU flags and NIC model, and the wrk runs alternate between the two (unikernel, peer,
unikernel, ...) so that the load of the shared machine hits both alike.

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
sys.path.insert(0, str(ROOT / "toolchain"))     # the Linux peer: uniforge need not be installed
from uniforge import testing
from uniforge.bench import linuxpeer
from uniforge.building import targets
from uniforge.core.paths import uniforge_command, uniforge_environment
from uniforge.running.devices import Network

NS = f"ufbench{os.getpid()}"
TAP, HOST, GUEST = "ufb0", "10.79.0.1", "10.79.0.2"
PEER_TAP, PEER_HOST, PEER_GUEST = "ufb1", "10.79.1.1", "10.79.1.2"   # the tap devices live in the namespace only


def in_ns(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", NS, *command], check=True, capture_output=True, text=True,
                          **kwargs)


def add_tap(name: str, host: str) -> None:
    in_ns("ip", "tuntap", "add", name, "mode", "tap")
    in_ns("ip", "addr", "add", f"{host}/24", "dev", name)
    in_ns("ip", "link", "set", name, "up")


def start_guest(command: list[str], ready: str, **kwargs) -> subprocess.Popen:
    """Runs `command` in the namespace and returns once its console has printed `ready`."""
    guest = subprocess.Popen(["ip", "netns", "exec", NS, *command], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, **kwargs)
    console = ""
    while ready not in console:
        line = guest.stdout.readline()
        if not line:
            raise SystemExit(f"{command[0]} ... did not come up:\n{console}")
        console += line
    return guest


def start_httpd(app: Path, target: str) -> subprocess.Popen:
    return start_guest(uniforge_command("run", f"build/httpd.{target}", "--net", f"tap:{TAP}",
                                        "--cmdline", f"uf.ip={GUEST}/24 uf.gw={HOST}", "--", "80"),
                       "httpd: listening", cwd=app, env=uniforge_environment())


def start_linux_peer(target: str) -> subprocess.Popen:
    page = (ROOT / "examples/httpd/htdocs/index.html").read_bytes()
    peer = linuxpeer.prepare(linuxpeer.HttpServer(f"{PEER_GUEST}/24", page))
    command = linuxpeer.qemu_command(targets.load(target), peer, network=Network("tap", PEER_TAP))
    return start_guest(command, linuxpeer.HTTP_LINE.decode())


def page(address: str) -> bytes:
    return subprocess.run(["ip", "netns", "exec", NS, "curl", "-sS", "--fail", f"http://{address}/"], check=True,
                          capture_output=True, timeout=300).stdout


def wrk_requests_per_second(address: str, seconds: int, connections: int, close: bool) -> float:
    header = ["-H", "Connection: close"] if close else []
    out = in_ns("wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", *header, f"http://{address}/",
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
    parser.add_argument("--close", action="store_true",
                        help="a new connection per request (Connection: close), as busybox httpd always does")
    parser.add_argument("--bulk", type=int, default=32, help="MiB per bulk transfer")
    parser.add_argument("--peer", choices=["linux"], help="also measure a Linux microVM serving the same page")
    opts = parser.parse_args()
    if opts.peer and targets.load(opts.target).bench.peer != opts.peer:
        raise SystemExit(f"--peer {opts.peer}: {opts.target} does not run it (its target file's bench.peer)")
    if os.geteuid() != 0:
        raise SystemExit("net_throughput.py needs root: it makes a network namespace and a tap device")
    for tool in ("wrk", "curl", "ip"):
        if not shutil.which(tool):
            raise SystemExit(f"net_throughput.py needs `{tool}` (scripts/install-host-deps installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "httpd"
        shutil.copytree(ROOT / "examples/httpd", app, ignore=shutil.ignore_patterns("build"))
        testing.uniforge("build", "-t", opts.target, cwd=app, check=True)
        payload = Path(tmp) / "bulk.bin"
        payload.write_bytes(os.urandom(opts.bulk << 20))
        subprocess.run(["ip", "netns", "add", NS], check=True)
        guest = peer = None
        try:
            in_ns("ip", "link", "set", "lo", "up")
            add_tap(TAP, HOST)
            guest = start_httpd(app, opts.target)
            unikernel_page = page(GUEST)    # also warms up: ARP, caches
            if opts.peer:
                add_tap(PEER_TAP, PEER_HOST)
                peer = start_linux_peer(opts.target)
                if len(page(PEER_GUEST)) != len(unikernel_page):
                    raise SystemExit("the Linux peer's / is not the same size as httpd's")
            rps, peer_rps = [], []
            for _ in range(opts.runs):
                rps.append(wrk_requests_per_second(GUEST, opts.seconds, opts.connections, opts.close))
                if opts.peer:
                    peer_rps.append(wrk_requests_per_second(PEER_GUEST, opts.seconds, opts.connections, opts.close))
            bulk = [bulk_mib_per_second(payload) for _ in range(opts.runs)]
            load = os.getloadavg()
        finally:
            if guest:
                guest.send_signal(signal.SIGINT)
                guest.wait(30)
            if peer:
                peer.terminate()
                peer.wait(30)
            subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)

    wrk_options = f"-t1 -c{opts.connections} -d{opts.seconds}s" + (" -H 'Connection: close'" if opts.close else "")
    report = {
        "target": opts.target, "runs": opts.runs, "page_bytes": len(unikernel_page),
        "load_average_at_end": [round(x, 2) for x in load],
        "wrk": {"command": f"wrk {wrk_options} http://{GUEST}/",
                "requests_per_s_median": round(statistics.median(rps), 1), "all": [round(r, 1) for r in rps]},
        "bulk_echo": {"command": f"curl --data-binary @{opts.bulk}MiB http://{GUEST}/echo -o /dev/null",
                      "mib_per_s_each_way_median": round(statistics.median(bulk), 2),
                      "all": [round(b, 2) for b in bulk]},
    }
    if opts.peer:
        report["peer"] = {
            "name": "linux busybox httpd", "packages": linuxpeer.prepare().version,
            "wrk": {"command": f"wrk {wrk_options} http://{PEER_GUEST}/",
                    "requests_per_s_median": round(statistics.median(peer_rps), 1),
                    "all": [round(r, 1) for r in peer_rps]},
            "unikernel_to_peer_ratio": round(statistics.median(rps) / statistics.median(peer_rps), 2),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
