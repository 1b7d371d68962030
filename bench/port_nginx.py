"""The nginx port (ports/nginx: Debian 12's nginx 1.22 built by its own configure and make with `uniforge cc`) against
Debian's nginx-light in the Linux peer (toolchain/uniforge/bench/linuxpeer.py: Debian's kernel and virtio-net
modules, the same QEMU machine, flags and NIC model), both serving the nginx package's own index.html at / over
tap devices in a network namespace, configured alike (BENCH_CONF: no access log, sendfile, tcp_nodelay; the port
reads it from a FAT disk with `-c`): wrk requests per second with keep-alive and with one connection per request,
the runs alternating between the two so that the shared machine's load hits them alike; medians and the port's
ratio to Linux, in one run. Also the port's image size. Needs root (a namespace, tap devices), wrk and curl. Prints
JSON.

    python bench/port_nginx.py [--target qemu-x86_64] [--runs 5] [--seconds 10] [--connections 10]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import net_throughput as net      # noqa: E402  (the namespace, taps, wrk and the peer's boot, shared)
from uniforge import build_port    # noqa: E402
from uniforge.bench import linuxpeer   # noqa: E402
from uniforge.building import ports, targets   # noqa: E402
from uniforge.core.paths import uniforge_command, uniforge_environment    # noqa: E402
from uniforge.running.devices import Network   # noqa: E402


# The Linux peer's configuration (linuxpeer.NGINX_CONF) for one process, without its echo module.
BENCH_CONF = """daemon off;
master_process off;
worker_processes 1;
events { worker_connections 4096; }
http {
    access_log off;
    default_type text/html;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    server {
        listen 80 backlog=1024;
        root /srv/html;
    }
}
"""


def start_port(image: Path, disk: Path, address: str, gateway: str, page: bytes) -> subprocess.Popen:
    """The port booted on tap ufb0 with BENCH_CONF from its disk; returns once it serves the page (nginx prints
    nothing when it is ready)."""
    guest = subprocess.Popen(["ip", "netns", "exec", net.NS, *uniforge_command(
        "run", str(image), "--net", "tap:ufb0", "--disk", f"{disk}:ro", "--cmdline",
        f"uf.ip={address}/24 uf.gw={gateway}", "--", "-c", "/data/nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=uniforge_environment())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if net.page(address) == page:
                return guest
        except subprocess.CalledProcessError:
            time.sleep(1)
    raise SystemExit("the nginx port did not serve its page in 300 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="qemu-x86_64")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=10, help="wrk's concurrent connections")
    opts = parser.parse_args()
    net.require_peer_host("port_nginx.py", opts.target, ("wrk", "curl", "ip"))

    image = build_port("nginx", opts.target)
    page = (ports.load("nginx").source_tree() / "html" / "index.html").read_bytes()
    work = Path(tempfile.mkdtemp())
    (work / "conf").mkdir()
    (work / "conf" / "nginx.conf").write_text(BENCH_CONF)
    disk = work / "conf.img"
    subprocess.run(uniforge_command("disk", "create", str(disk), "--size", "16M", "--from", str(work / "conf")),
                   check=True, capture_output=True, env=uniforge_environment())
    subprocess.run(["ip", "netns", "add", net.NS], check=True)
    guests = []
    try:
        net.in_ns("ip", "link", "set", "lo", "up")
        servers = {"uniforge nginx port": 0, "linux nginx-light": 1}
        for n in servers.values():
            net.add_tap(f"ufb{n}", net.HOST_SIDE.format(n))
        guests.append(start_port(image.path, disk, net.GUEST_SIDE.format(0), net.HOST_SIDE.format(0), page))
        target = targets.load(opts.target)
        peer = linuxpeer.prepare(linuxpeer.arch_of(target),
                                 linuxpeer.HttpServer(f"{net.GUEST_SIDE.format(1)}/24", page, "nginx"))
        guests.append(net.start_guest(linuxpeer.qemu_command(target, peer,
                                                             network=Network("tap", "ufb1")),
                                      linuxpeer.HTTP_LINE.decode()))
        if net.page(net.GUEST_SIDE.format(1)) != page:
            raise SystemExit("the Linux peer's / is not the nginx package's index.html")
        rps = {(name, close): [] for name in servers for close in (False, True)}
        for _ in range(opts.runs):
            for close in (False, True):
                for name, n in servers.items():
                    rps[name, close].append(net.wrk_requests_per_second(net.GUEST_SIDE.format(n), opts.seconds,
                                                                        opts.connections, close))
        load = os.getloadavg()
    finally:
        net.stop(guests)
        subprocess.run(["ip", "netns", "del", net.NS], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)

    results = {name: {"keepalive_requests_per_s": net.median(rps[name, False]),
                      "close_requests_per_s": net.median(rps[name, True])} for name in servers}
    port, linux = results["uniforge nginx port"], results["linux nginx-light"]
    print(json.dumps({
        "target": opts.target, "runs": opts.runs, "page_bytes": len(page),
        "image_bytes": image.path.stat().st_size,
        "load_average_at_end": [round(x, 2) for x in load],
        "wrk": f"wrk -t1 -c{opts.connections} -d{opts.seconds}s [-H 'Connection: close'] http://ADDRESS/",
        "peer_packages": peer.version,
        "servers": results,
        "port_to_linux": {
            "keepalive": round(port["keepalive_requests_per_s"]["median"] /
                               linux["keepalive_requests_per_s"]["median"], 2),
            "close": round(port["close_requests_per_s"]["median"] / linux["close_requests_per_s"]["median"], 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
