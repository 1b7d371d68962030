"""Network figures of examples/httpd over tap devices in a network namespace, beside Linux peers in the same run:
HTTP requests per second with wrk, keep-alive and one connection per request (Connection: close); bulk TCP
throughput (a POST /echo of BULK MiB, the body streamed back); optionally a churn of N one-request connections where
the client closes first; optionally the time of an 8 MiB POST /echo through a relay dropping a share of the frames.
Medians of several runs. Needs root (a network namespace and tap devices) and wrk + curl. Prints JSON.

    python bench/net_throughput.py [--target qemu-x86_64] [--runs 5] [--seconds 10] [--connections 10] [--bulk 32]
                                   [--churn 100000] [--loss 0,0.01,0.05] [--peer linux]

With `--peer linux` (the targets whose bench.peer it is), Linux VMs (toolchain/uniforge/bench/linuxpeer.py:
Debian's kernel of the target's arch, its virtio-net modules) serve a page of the same bytes as httpd's / on their own
tap devices, with the same QEMU flags and NIC model: Debian's nginx-light (nginx and its echo module, which answers
POST /echo), and busybox httpd as a second row (one connection per request always, and no /echo). The wrk runs alternate
between the servers (httpd, nginx, busybox, httpd, ...) so that the load of the shared machine hits them alike.

`--churn N` makes N connections one after another, one request each, the client closing first
(bench/churn_client.py), and reports the rate per 10,000: the client's TIME_WAIT ports are reusable early only
when the connection had TCP timestamps (the namespace sets net.ipv4.tcp_tw_reuse=1, as load balancers do), so
without them the rate collapses once the ~28,000 local ports are used up. "collapse" is true when a window's rate
falls below the first window's divided by 1.5.

`--loss RATES` boots httpd and (with --peer) nginx once more, each behind a relay that drops that share of the
frames both ways (tests/integration/netns_tools/lossy_relay.py, the loss tests' relay), and times an 8 MiB POST /echo
at each rate. The relay, a Python process, caps the throughput alike for both: compare the rates' times.

The guests run under TCG: these figures measure the emulated machine as much as the stack. Medians, not means:
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
HOST_SIDE = "10.79.{}.1"                # the tap devices live in the namespace only: net N is 10.79.N.0/24
GUEST_SIDE = "10.79.{}.2"
RELAY = ROOT / "tests" / "integration" / "netns_tools" / "lossy_relay.py"
LOSS_BYTES = 8 << 20


def in_ns(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", NS, *command], check=True, capture_output=True, text=True,
                          **kwargs)


def add_tap(name: str, host: str | None) -> None:
    in_ns("ip", "tuntap", "add", name, "mode", "tap")
    if host:
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


def start_httpd(app: Path, target: str, net: int) -> subprocess.Popen:
    return start_guest(uniforge_command("run", f"build/httpd.{target}", "--net", f"tap:ufb{net}", "--cmdline",
                                        f"uf.ip={GUEST_SIDE.format(net)}/24 uf.gw={HOST_SIDE.format(net)}", "--", "80"),
                       "httpd: listening", cwd=app, env=uniforge_environment())


def start_linux_peer(target: str, server: str, net: int) -> subprocess.Popen:
    page = (ROOT / "examples/httpd/htdocs/index.html").read_bytes()
    loaded = targets.load(target)
    peer = linuxpeer.prepare(linuxpeer.arch_of(loaded),
                             linuxpeer.HttpServer(f"{GUEST_SIDE.format(net)}/24", page, server))
    command = linuxpeer.qemu_command(loaded, peer, network=Network("tap", f"ufb{net}"))
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


def churn(address: str, count: int) -> dict:
    """Connections per second, per 10,000, of bench/churn_client.py run in the namespace."""
    out = in_ns(sys.executable, str(ROOT / "bench" / "churn_client.py"), address, "80", str(count),
                timeout=7200).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    rates = [line["per_s"] for line in lines if "per_s" in line]
    ratio = rates[0] / min(rates)
    return {"command": f"python bench/churn_client.py {address} 80 {count}", "connections": count,
            "per_s_per_10000": rates, "seconds": lines[-1]["seconds"],
            "first_to_slowest": round(ratio, 2), "collapse": ratio > 1.5}


def echo_seconds(address: str, payload: Path) -> float:
    """Seconds for a POST /echo of payload, the answer checked against it."""
    start = time.perf_counter()
    out = subprocess.run(["ip", "netns", "exec", NS, "curl", "-sS", "--fail", "--data-binary", f"@{payload}",
                          "-H", "Content-Type: application/octet-stream", f"http://{address}/echo"],
                         check=True, capture_output=True, timeout=3600).stdout
    seconds = time.perf_counter() - start
    if out != payload.read_bytes():
        raise SystemExit(f"{address}/echo answered {len(out)} bytes, not the {payload.stat().st_size} sent")
    return seconds


def median(values: list[float], digits: int = 1) -> dict:
    return {"median": round(statistics.median(values), digits), "all": [round(v, digits) for v in values]}


def loss_times(servers: dict[str, tuple[int, callable]], rates: list[float], runs: int, payload: Path) -> dict:
    """For each rate: the servers' 8 MiB echo times behind relays (their guests on tap ufbN, the relay's host
    side a new tap uflN with 10.79.N.1), alternating between servers."""
    out = {name: {} for name in servers}
    for rate in rates:
        relays = []
        try:
            for name, (net, _) in servers.items():
                relay = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, str(RELAY), f"ufb{net}",
                                          f"ufl{net}", f"{HOST_SIDE.format(net)}/24", str(rate), "7"],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                relays.append(relay)
                if relay.stdout.readline().strip() != "ready":
                    raise SystemExit(f"the lossy relay did not start: {relay.stderr.read()}")
            times = {name: [] for name in servers}
            for _ in range(runs):
                for name, (net, _) in servers.items():
                    times[name].append(echo_seconds(GUEST_SIDE.format(net), payload))
            for name in servers:
                out[name][f"{rate:g}"] = median(times[name], 2)
        finally:
            for relay in relays:
                relay.terminate()
                relay.wait(30)
    return out


def stop(guests: list[subprocess.Popen]) -> None:
    for guest in guests:
        if "uniforge" in guest.args:
            guest.send_signal(signal.SIGINT)        # uniforge run ends QEMU as Ctrl-C does
        else:
            guest.terminate()
        try:
            guest.wait(30)
        except subprocess.TimeoutExpired:
            guest.kill()
            guest.wait()


def require_peer_host(script: str, target: str, tools: tuple[str, ...]) -> None:
    """What a port benchmark needs of this host: the target's Linux peer, root (a namespace and taps) and tools;
    else one line naming what is missing."""
    if targets.load(target).bench.peer != "linux":
        raise SystemExit(f"{target} has no Linux peer (its target file's bench.peer)")
    if os.geteuid() != 0:
        raise SystemExit(f"{script} needs root: it makes a network namespace and tap devices")
    for tool in tools:
        if not shutil.which(tool):
            raise SystemExit(f"{script} needs `{tool}` (scripts/install-host-deps installs it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=10, help="wrk's concurrent connections")
    parser.add_argument("--bulk", type=int, default=32, help="MiB per bulk transfer")
    parser.add_argument("--churn", type=int, default=0, metavar="N",
                        help="also N one-request connections in a row, the client closing first")
    parser.add_argument("--loss", default="", metavar="RATES",
                        help="also time an 8 MiB echo through a relay dropping these shares of frames, e.g. 0,0.01,0.05")
    parser.add_argument("--peer", choices=["linux"], help="also measure Linux microVMs serving the same page")
    opts = parser.parse_args()
    try:
        rates = [float(r) for r in opts.loss.split(",")] if opts.loss else []
    except ValueError:
        raise SystemExit(f"--loss {opts.loss}: comma-separated shares such as 0,0.01,0.05") from None
    if opts.peer and targets.load(opts.target).bench.peer != opts.peer:
        raise SystemExit(f"--peer {opts.peer}: {opts.target} does not run it (its target file's bench.peer)")
    if os.geteuid() != 0:
        raise SystemExit("net_throughput.py needs root: it makes a network namespace and tap devices")
    for tool in ("wrk", "curl", "ip"):
        if not shutil.which(tool):
            raise SystemExit(f"net_throughput.py needs `{tool}` (scripts/install-host-deps installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "httpd"
        shutil.copytree(ROOT / "examples/httpd", app, ignore=shutil.ignore_patterns("build"))
        testing.uniforge("build", "-t", opts.target, cwd=app, check=True)
        payload, loss_payload = Path(tmp) / "bulk.bin", Path(tmp) / "loss.bin"
        payload.write_bytes(os.urandom(opts.bulk << 20))
        loss_payload.write_bytes(os.urandom(LOSS_BYTES))
        subprocess.run(["ip", "netns", "add", NS], check=True)
        guests = []
        results = {}
        try:
            in_ns("ip", "link", "set", "lo", "up")
            in_ns("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1")
            # name: (net, start)
            servers = {"httpd": (0, lambda net: start_httpd(app, opts.target, net))}
            if opts.peer:
                servers["linux nginx-light"] = (1, lambda net: start_linux_peer(opts.target, "nginx", net))
                servers["linux busybox httpd"] = (2, lambda net: start_linux_peer(opts.target, "busybox", net))
            for name, (net, start) in servers.items():
                add_tap(f"ufb{net}", HOST_SIDE.format(net))
                guests.append(start(net))
                if len(page(GUEST_SIDE.format(net))) != len(page(GUEST_SIDE.format(0))):
                    raise SystemExit(f"{name}'s / is not the same size as httpd's")
            with_echo = [name for name in servers if "busybox" not in name]
            rps = {(name, close): [] for name in servers for close in (False, True)}
            for _ in range(opts.runs):
                for close in (False, True):
                    for name, (net, _) in servers.items():
                        if close or "busybox" not in name:      # busybox httpd closes every connection
                            rps[name, close].append(wrk_requests_per_second(
                                GUEST_SIDE.format(net), opts.seconds, opts.connections, close))
            for name, (net, _) in servers.items():
                results[name] = {"address": GUEST_SIDE.format(net)}
                if rps[name, False]:
                    results[name]["keepalive_requests_per_s"] = median(rps[name, False])
                results[name]["close_requests_per_s"] = median(rps[name, True])
            for _ in range(opts.runs):
                for name in with_echo:
                    net = servers[name][0]
                    seconds = echo_seconds(GUEST_SIDE.format(net), payload)
                    results[name].setdefault("bulk", []).append(opts.bulk / seconds)
            for name in with_echo:
                results[name]["bulk_echo_mib_per_s"] = median(results[name].pop("bulk"), 2)
            if opts.churn:
                for name, (net, _) in servers.items():
                    results[name]["churn"] = churn(GUEST_SIDE.format(net), opts.churn)
            if rates:
                stop(guests)                    # booted again behind relays
                guests = []
                relayed = {name: servers[name] for name in with_echo}
                for name, (net, start) in relayed.items():
                    in_ns("ip", "addr", "flush", "dev", f"ufb{net}")    # the relay's tap takes the address
                    guests.append(start(net))
                for name, times in loss_times(relayed, rates, min(opts.runs, 3), loss_payload).items():
                    results[name]["echo_8mib_seconds_by_loss"] = times
            load = os.getloadavg()
        finally:
            stop(guests)
            subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)

    report = {
        "target": opts.target, "runs": opts.runs, "page_bytes": len((ROOT / "examples/httpd/htdocs/index.html")
                                                                    .read_bytes()),
        "load_average_at_end": [round(x, 2) for x in load],
        "wrk": f"wrk -t1 -c{opts.connections} -d{opts.seconds}s [-H 'Connection: close'] http://ADDRESS/",
        "bulk": f"curl --data-binary @{opts.bulk}MiB http://ADDRESS/echo",
        "servers": results,
    }
    if opts.peer:
        report["peer_packages"] = linuxpeer.prepare(linuxpeer.arch_of(targets.load(opts.target)),
                                                    linuxpeer.HttpServer("10.0.0.2/24", b"", "nginx")).version
        httpd, nginx = results["httpd"], results["linux nginx-light"]
        report["httpd_to_nginx"] = {
            "keepalive": round(httpd["keepalive_requests_per_s"]["median"] /
                               nginx["keepalive_requests_per_s"]["median"], 2),
            "close": round(httpd["close_requests_per_s"]["median"] / nginx["close_requests_per_s"]["median"], 2),
            "bulk": round(httpd["bulk_echo_mib_per_s"]["median"] / nginx["bulk_echo_mib_per_s"]["median"], 2),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
