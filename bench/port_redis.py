"""The Redis port (ports/redis: Debian 12's redis 7.0 built by its own Makefile with `uniforge cc`) against Debian's
redis-server in the Linux peer (toolchain/uniforge/bench/linuxpeer.py: Debian's kernel and virtio-net modules of the
target's arch, the same QEMU machine, flags and NIC model), both over tap devices in a network namespace and
configured alike: the port's own redis.conf (no persistence, port 6379, its log on the console) given to both, and
the same options after it (--maxclients: the port's descriptor table holds 1,024, Linux's root may raise its limit,
so both serve 992 clients). Debian's redis-benchmark on the host drives them: SET and GET from 50 clients, and the
same with 16 commands pipelined per request; the runs alternate between the two so that the shared machine's load
hits them alike; medians and the port's ratio to Linux, in one run, and the frames each sent per request (its tap's
counter). Also the port's image size (and the peer's kernel and initramfs) and, with --min-memory, the least RAM
(whole MiB) in which the port still serves a short redis-benchmark run. Needs root (a namespace, tap devices) and redis-tools (redis-benchmark, redis-cli). Prints
JSON.

    python bench/port_redis.py [--target qemu-x86_64] [--runs 5] [--requests 100000] [--pipeline 16] [--min-memory]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import net_throughput as net      # noqa: E402  (the namespace, taps and the peer's boot, shared)
from uniforge import build_port    # noqa: E402
from uniforge.bench import linuxpeer   # noqa: E402
from uniforge.bench.measure import bisect_min   # noqa: E402
from uniforge.building import ports, targets   # noqa: E402
from uniforge.core.paths import uniforge_command, uniforge_environment    # noqa: E402
from uniforge.running.devices import Network   # noqa: E402

PORT = 6379
CLIENTS = 50
TESTS = ("SET", "GET")
# After the configuration file's name, for both servers.
OPTIONS = ("--maxclients", "992")
START_SECONDS = 300
# With too little RAM the port may hang rather than end (and a crashed guest leaves redis-benchmark waiting);
# at the port's size it comes up and serves 2,000 requests in well under this.
MIN_MEMORY_START_SECONDS = 120
MIN_MEMORY_HIGH_MIB = 16        # known to serve (the integration tests run it in 8 MiB)


def redis_cli(address: str, *args: str) -> str:
    return net.in_ns("redis-cli", "-h", address, "-p", str(PORT), *args, timeout=60).stdout


def start_port(image: Path, address: str, gateway: str, log: Path, memory: str | None = None,
               seconds: float = START_SECONDS) -> subprocess.Popen:
    """The port booted on tap ufb0 with the image's /srv/redis.conf and OPTIONS (in `memory`, else the port's),
    its console into `log`; returns once it answers PING, RuntimeError if not within `seconds`."""
    with open(log, "wb") as console:
        guest = subprocess.Popen(["ip", "netns", "exec", net.NS, *uniforge_command(
            "run", str(image), "--net", "tap:ufb0", *(["--mem", memory] if memory else []),
            "--cmdline", f"uf.ip={address}/24 uf.gw={gateway}", "--", "/srv/redis.conf", *OPTIONS)],
            stdout=console, stderr=subprocess.STDOUT, env=uniforge_environment())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and guest.poll() is None:
        if linuxpeer.REDIS_READY.encode() in log.read_bytes():
            try:
                if redis_cli(address, "PING") == "PONG\n":
                    return guest
            except subprocess.CalledProcessError:
                pass
        time.sleep(1)
    net.stop([guest])
    raise RuntimeError(f"the Redis port did not answer PING ({'it ended' if guest.returncode else 'in time'}):\n"
                       + log.read_text(errors="replace")[-2000:])


def benchmark(address: str, requests: int, pipeline: int, seconds: float = 3600) -> dict[str, float]:
    """redis-benchmark's requests per second for each of TESTS (TimeoutExpired after `seconds`: a guest that
    crashed leaves its connections open, and redis-benchmark waits on them)."""
    out = net.in_ns("redis-benchmark", "-h", address, "-p", str(PORT), "-t", ",".join(TESTS).lower(),
                    "-n", str(requests), "-c", str(CLIENTS), "-P", str(pipeline), "-q", timeout=seconds).stdout
    rates = dict(re.findall(r"(?:^|[\r\n])(SET|GET): ([\d.]+) requests per second", out))
    if set(rates) != set(TESTS):
        raise SystemExit(f"redis-benchmark did not finish both tests:\n{out}")
    return {test: float(rate) for test, rate in rates.items()}


def frames_sent(tap: str) -> int:
    """Frames the guest on `tap` has sent (the host side's receive counter)."""
    return int(net.in_ns("cat", f"/sys/class/net/{tap}/statistics/rx_packets").stdout)


def min_memory_mib(image: Path, high: int, work: Path) -> int:
    """The least RAM, in MiB, in which the port boots and serves a short redis-benchmark run (SET and GET, 2,000
    each, 50 clients)."""
    def serves(mib: int) -> bool:
        try:
            guest = start_port(image, net.GUEST_SIDE.format(0), net.HOST_SIDE.format(0), work / f"min-{mib}.log",
                               f"{mib}M", MIN_MEMORY_START_SECONDS)
        except RuntimeError:
            return False
        try:
            benchmark(net.GUEST_SIDE.format(0), 2000, 1, MIN_MEMORY_START_SECONDS)
            return redis_cli(net.GUEST_SIDE.format(0), "PING") == "PONG\n"
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, SystemExit):
            return False
        finally:
            net.stop([guest])
    return bisect_min(serves, high, low=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100000, help="redis-benchmark's -n, per test and run")
    parser.add_argument("--pipeline", type=int, default=16, help="redis-benchmark's -P for the pipelined runs")
    parser.add_argument("--min-memory", action="store_true",
                        help="also find the port's least RAM (boots at several sizes: minutes under TCG)")
    opts = parser.parse_args()
    target = targets.load(opts.target)
    net.require_peer_host("port_redis.py", opts.target, ("redis-benchmark", "redis-cli", "ip"))

    image = build_port("redis", opts.target)
    conf = (ports.load("redis").folder / "srv" / "redis.conf").read_bytes()
    work = Path(tempfile.mkdtemp())
    subprocess.run(["ip", "netns", "add", net.NS], check=True)
    guests = []
    try:
        net.in_ns("ip", "link", "set", "lo", "up")
        servers = {"uniforge redis port": 0, "linux redis-server": 1}
        for n in servers.values():
            net.add_tap(f"ufb{n}", net.HOST_SIDE.format(n))
        try:
            guests.append(start_port(image.path, net.GUEST_SIDE.format(0), net.HOST_SIDE.format(0),
                                     work / "port.log"))
        except RuntimeError as error:
            raise SystemExit(str(error)) from None
        peer = linuxpeer.prepare(linuxpeer.arch_of(target), redis=linuxpeer.RedisServer(
            f"{net.GUEST_SIDE.format(1)}/24", conf, OPTIONS))
        guests.append(net.start_guest(linuxpeer.qemu_command(target, peer, network=Network("tap", "ufb1")),
                                      linuxpeer.REDIS_READY))
        for n in servers.values():
            clients = redis_cli(net.GUEST_SIDE.format(n), "CONFIG", "GET", "maxclients").split()
            if clients != ["maxclients", OPTIONS[1]]:
                raise SystemExit(f"{net.GUEST_SIDE.format(n)} serves {clients}, not maxclients {OPTIONS[1]}")
        rates = {(name, pipeline): {test: [] for test in TESTS}
                 for name in servers for pipeline in (1, opts.pipeline)}
        frames = {(name, pipeline): [] for name in servers for pipeline in (1, opts.pipeline)}
        for _ in range(opts.runs):
            for pipeline in (1, opts.pipeline):
                for name, n in servers.items():
                    before = frames_sent(f"ufb{n}")
                    for test, rate in benchmark(net.GUEST_SIDE.format(n), opts.requests, pipeline).items():
                        rates[name, pipeline][test].append(rate)
                    frames[name, pipeline].append((frames_sent(f"ufb{n}") - before) / (len(TESTS) * opts.requests))
        load = os.getloadavg()
        net.stop(guests)
        guests = []
        min_memory = min_memory_mib(image.path, MIN_MEMORY_HIGH_MIB, work) if opts.min_memory else None
    finally:
        net.stop(guests)
        subprocess.run(["ip", "netns", "del", net.NS], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)

    def figures(name: str) -> dict:
        return {f"{test}{'' if pipeline == 1 else f'_P{pipeline}'}_requests_per_s":
                net.median(rates[name, pipeline][test])
                for pipeline in (1, opts.pipeline) for test in TESTS}

    def frames_per_request(name: str) -> dict:
        return {f"P{pipeline}": net.median(frames[name, pipeline], 3) for pipeline in (1, opts.pipeline)}

    results = {name: figures(name) for name in servers}
    port, linux = results["uniforge redis port"], results["linux redis-server"]
    print(json.dumps({
        "target": opts.target, "runs": opts.runs,
        "image_bytes": image.path.stat().st_size,
        "peer_bytes": {"kernel": peer.kernel_file_bytes, "initramfs": peer.initramfs.stat().st_size},
        "port_min_memory_mib": min_memory,
        "load_average_at_end": [round(x, 2) for x in load],
        "redis_benchmark": f"redis-benchmark -h ADDRESS -p {PORT} -t set,get -n {opts.requests} -c {CLIENTS} "
                           f"-P 1|{opts.pipeline} -q",
        "server_options": " ".join(("/srv/redis.conf", *OPTIONS)),
        "peer_packages": peer.version,
        "servers": results,
        "port_to_linux": {figure: round(port[figure]["median"] / linux[figure]["median"], 2) for figure in port},
        # Frames each server sent per request (connections' set-up included): its answers and its pure ACKs.
        "frames_per_request": {name: frames_per_request(name) for name in servers},
    }, indent=2))


if __name__ == "__main__":
    main()
