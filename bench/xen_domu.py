"""Uniforge domUs under xl (the xl rig: Xen 4.17, Debian's Linux dom0, xl, under QEMU TCG), side by side in one run:

- boot: `xl create` to the guest's first console byte and to the domain's end, for examples/hello, a null domU (an
  app whose main returns at once: the floor) and a Linux domU (the Linux peer of `uniforge bench --peer linux`:
  Debian's kernel of the target's arch and a busybox initramfs, booted as a PV domU on x86_64 and as Xen's ARM
  guest on ARMv7, linuxpeer.xl_config; its init prints a line and powers off) under the same dom0, taking turns;
- network: sequential keep-alive requests per second (GET /, one connection) and bulk echo MiB/s (curl, POST
  /echo, both ways at once) of httpd through netfront, against the same httpd through virtio-net on plain QEMU
  (qemu-x86_64 or qemu-armv7, user networking both) and against the Linux domU peer serving the same page with
  Debian's nginx-light through Linux's netfront, under the same dom0;
- storage: blkfront's sequential write/read MiB/s and fsync latency (bench/storage_throughput.py) against
  virtio-blk.

    python bench/xen_domu.py [--target xen-x86_64] [--runs 5] [--seconds 10] [--bulk 16]

Prints JSON. Medians: these machines are shared and noisy; TCG bounds everything here. The rig boots once for the
whole run (UNIFORGE_XL_RIG in a temporary folder) and is ended at the end.
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))

from uniforge.bench import linuxpeer  # noqa: E402
from uniforge.building import targets  # noqa: E402
from uniforge.platforms.xlrig import GUEST_IP, RIG_ENV, Rig  # noqa: E402
from uniforge.running.devices import PortForward  # noqa: E402

PEERS = {"xen-x86_64": "qemu-x86_64", "xen-armv7": "qemu-armv7"}
NULL_APP = "int main(void)\n{\n\treturn 0;\n}\n"
PAGE = ROOT / "examples" / "httpd" / "htdocs" / "index.html"
LINUX = "linux (peer)"


def uniforge(*args: str, cwd: Path, env: dict) -> str:
    proc = subprocess.run([sys.executable, "-m", "uniforge", *args], cwd=cwd, env=env, check=False,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"uniforge {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def app_folder(work: Path, name: str, source: Path | None, env: dict) -> Path:
    folder = work / name
    if source:
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns("build"))
    else:
        folder.mkdir()
        (folder / "main.c").write_text(NULL_APP)
        (folder / "uniforge.toml").write_text(f'name = "{name}"\nsources = ["main.c"]\n')
    return folder


class Domain:
    """One subject of the boot figures: an xl config, the kernel (and files) beside it, its command line, and the
    console line that says it booted (if it prints one besides its first)."""

    def __init__(self, config: Path, kernel: Path, files: tuple[Path, ...] = (), line: bytes | None = None,
                 cmdline: str = ""):
        self.config, self.kernel, self.files, self.line, self.cmdline = config, kernel, files, line, cmdline

    def boot(self, rig: Rig, name: str) -> dict:
        """Seconds from `xl create` to the first console byte, to `line` (if given) and to the domain's end."""
        seen = bytearray()
        times: dict[str, float] = {}

        def created() -> None:
            times["created"] = time.monotonic()

        def on_console(data: bytes) -> None:
            seen.extend(data)
            if self.line and "line" not in times and self.line in seen:
                times["line"] = time.monotonic() - times["created"]

        end = rig.run_domain(self.config, self.kernel, name=name, cmdline=self.cmdline, timeout=300,
                             on_console=on_console, on_created=created, files=self.files)
        if end.shutdown_reason != "poweroff" or (self.line and "line" not in times):
            raise SystemExit(f"{name} did not end as it should ({end.shutdown_reason}):\n{end.console[-2000:]}")
        result = {"to_first_output_s": end.boot_to_first_output, "to_end_s": end.wall_time}
        if self.line:
            result["to_line_s"] = times["line"]
        return result


def unikernel_domain(folder: Path, app: str, target: str) -> Domain:
    image = folder / "build" / f"{app}.{target}"
    kernel = image.with_name(image.name + ".zImage") if target.endswith("armv7") else image
    return Domain(image.with_name(image.name + ".xl.cfg"), kernel)


def linux_domain(work: Path, peer: linuxpeer.Peer, name: str) -> Domain:
    config = work / f"{name}.xl.cfg"
    config.write_text(linuxpeer.xl_config(peer, name))
    return Domain(config, peer.kernel, (peer.initramfs,), linuxpeer.LINE, linuxpeer.XEN_CMDLINE)


def boot_times(rig: Rig, domains: dict[str, Domain], runs: int) -> dict:
    """The subjects take turns (floor, app, peer, floor, ...) so that the load hits them alike; medians."""
    times: dict[str, list[dict]] = {name: [] for name in domains}
    for i in range(runs):
        for name, domain in domains.items():
            times[name].append(domain.boot(rig, f"{name.split()[0]}-bench{i}-{os.getpid()}"))
    return {name: {key: statistics.median(run[key] for run in runs_) for key in runs_[0]}
            for name, runs_ in times.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_httpd(folder: Path, target: str, port: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uniforge", "run", f"build/httpd.{target}", "-t", target,
                             "-p", f"127.0.0.1:{port}:80", "--timeout", "3600"], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if re.search(r"httpd: listening on port", line):
            # Its console goes on being read, so that a full pipe never blocks the runner.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
    raise SystemExit(f"httpd on {target} ended before listening")


def start_linux_httpd(rig: Rig, work: Path, port: int, arch: linuxpeer.LinuxArch) -> tuple[threading.Thread, str]:
    """The Linux peer of `arch` with nginx-light as a domU with a NIC on dom0's bridge (the address QEMU's forward
    goes to), started in a thread; returns once it serves, with the domain's name (to destroy it)."""
    peer = linuxpeer.prepare(arch, linuxpeer.HttpServer(f"{GUEST_IP}/24", PAGE.read_bytes(), "nginx", "xen"))
    name = f"linux-httpd-{os.getpid()}"
    domain = linux_domain(work, peer, name)
    serving = threading.Event()
    seen = bytearray()

    def on_console(data: bytes) -> None:
        seen.extend(data)
        if linuxpeer.HTTP_LINE in seen:
            serving.set()

    def run() -> None:
        rig.run_domain(domain.config, domain.kernel, name=name, cmdline=domain.cmdline, network=True,
                       forwards=[PortForward(port, 80, "tcp", "127.0.0.1")], timeout=3600, on_console=on_console,
                       files=domain.files)
        serving.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    serving.wait(900)
    if linuxpeer.HTTP_LINE not in seen:
        raise SystemExit(f"the Linux domU did not serve:\n{seen[-3000:].decode(errors='replace')}")
    return thread, name


def stop(guest: subprocess.Popen) -> None:
    """Ctrl-C, as a user would (the runner destroys the domain); killed if that takes over 5 minutes (a loaded
    machine makes xl slow)."""
    guest.send_signal(signal.SIGINT)
    try:
        guest.wait(300)
    except subprocess.TimeoutExpired:
        guest.kill()
        guest.wait()


def requests_per_second(port: int, seconds: float) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    done, end = 0, time.monotonic() + seconds
    started = time.monotonic()
    expected = PAGE.read_bytes()
    while time.monotonic() < end:
        conn.request("GET", "/")
        if conn.getresponse().read() != expected:
            raise SystemExit(f"GET / on port {port} did not return {PAGE.name}")
        done += 1
    conn.close()
    return done / (time.monotonic() - started)


def bulk_mib_per_second(port: int, payload: Path, echoed: Path) -> float:
    """curl sends and receives at once (a client that sends the whole body first deadlocks against an echo)."""
    started = time.monotonic()
    subprocess.run(["curl", "-sS", "--fail", "--data-binary", f"@{payload}", "-o", str(echoed),
                    f"http://127.0.0.1:{port}/echo"], check=True, timeout=3600)
    seconds = time.monotonic() - started
    if hashlib.sha256(echoed.read_bytes()).digest() != hashlib.sha256(payload.read_bytes()).digest():
        raise SystemExit("the echo came back different")
    return 2 * payload.stat().st_size / (1 << 20) / seconds


def network(rig: Rig, work: Path, target: str, runs: int, seconds: float, bulk_mib: int, env: dict) -> dict:
    """The servers one after the other (each runs all its runs: a server's boot is not what is measured)."""
    payload, echoed = work / "payload.bin", work / "echoed.bin"
    payload.write_bytes(hashlib.shake_256(b"bench").digest(bulk_mib << 20))

    def measure(port: int) -> dict:
        rates = [requests_per_second(port, seconds) for _ in range(runs)]
        bulk = [bulk_mib_per_second(port, payload, echoed) for _ in range(runs)]
        return {"req_per_s": statistics.median(rates), "bulk_mib_per_s": statistics.median(bulk),
                "req_per_s_runs": rates, "bulk_mib_per_s_runs": bulk}

    result = {}
    for name in (target, PEERS[target]):
        folder = work / f"httpd-{name}"
        shutil.copytree(ROOT / "examples" / "httpd", folder, ignore=shutil.ignore_patterns("build"))
        uniforge("build", "-t", name, cwd=folder, env=env)
        port = free_port()
        guest = start_httpd(folder, name, port, env)
        try:
            result[f"httpd {name}"] = measure(port)
        finally:
            stop(guest)
    port = free_port()
    thread, name = start_linux_httpd(rig, work, port, linuxpeer.arch_of(targets.load(target)))
    try:
        result[f"linux nginx-light {target}"] = measure(port)
    finally:
        rig.run(f"xl destroy {name}")
        thread.join(120)
    return result


def storage(target: str, runs: int, env: dict) -> dict:
    result = {}
    for name in (target, PEERS[target]):
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "storage_throughput.py"), "--target", name,
                              "--runs", str(runs), "--mib", "8"], env=env, check=True, capture_output=True,
                             text=True).stdout
        result[name] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="xen-x86_64", choices=sorted(PEERS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10, help="length of one run of sequential requests")
    parser.add_argument("--bulk", type=int, default=16, help="MiB per bulk echo")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))     # so that the rig is stopped (finally) on a kill
    with tempfile.TemporaryDirectory(prefix="uniforge-xen-bench-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "toolchain"), **{RIG_ENV: str(work / "rigs")})
        Rig.keep_in(work / "rigs")
        started = time.monotonic()
        target = targets.load(args.target)
        rig = Rig.kept(target, work / "rigs")
        report = {"target": args.target, "rig_boot_s": time.monotonic() - started}
        try:
            domains = {}
            for name, source in (("null", None), ("hello", ROOT / "examples" / "hello")):
                folder = app_folder(work, name, source, env)
                uniforge("build", "-t", args.target, cwd=folder, env=env)
                domains[name] = unikernel_domain(folder, name, args.target)
            peer = linuxpeer.prepare(linuxpeer.arch_of(target))
            report["linux_peer"] = peer.version
            domains[LINUX] = linux_domain(work, peer, "linux-boot")
            report["boot"] = boot_times(rig, domains, args.runs)
            report["network"] = network(rig, work, args.target, args.runs, args.seconds, args.bulk, env)
            report["storage"] = storage(args.target, max(1, args.runs // 2), env)
        finally:
            Rig.stop_kept(work / "rigs")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
