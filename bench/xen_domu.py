"""Uniforge domUs under xl (the xl rig: Xen 4.17, Debian's Linux dom0, xl, under QEMU TCG), side by side in one run:

- boot: `xl create` to the guest's first console byte and to the domain's end, for examples/hello and for a null
  domU (an app whose main returns at once: the floor) under the same dom0;
- network: httpd's sequential keep-alive requests per second and bulk echo MiB/s through netfront, against the same
  httpd through virtio-net on plain QEMU (qemu-x86_64 or qemu-armv7, user networking both);
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))

from uniforge.building import targets  # noqa: E402
from uniforge.platforms.xlrig import RIG_ENV, Rig  # noqa: E402

PEERS = {"xen-x86_64": "qemu-x86_64", "xen-armv7": "qemu-armv7"}
NULL_APP = "int main(void)\n{\n\treturn 0;\n}\n"


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


def boot_times(rig: Rig, folder: Path, app: str, target: str, runs: int) -> dict:
    image = folder / "build" / f"{app}.{target}"
    kernel = image.with_name(image.name + ".zImage") if target.endswith("armv7") else image
    first, total = [], []
    for i in range(runs):
        end = rig.run_domain(image.with_name(image.name + ".xl.cfg"), kernel, name=f"{app}-bench{i}-{os.getpid()}",
                             cmdline="", timeout=300)
        first.append(end.boot_to_first_output)
        total.append(end.wall_time)
    return {"to_first_output_s": statistics.median(first), "to_end_s": statistics.median(total)}


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
            return proc
    raise SystemExit(f"httpd on {target} ended before listening")


def requests_per_second(port: int, seconds: float) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    done, end = 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < end:
        conn.request("GET", "/stats")
        conn.getresponse().read()
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


def network(work: Path, target: str, runs: int, seconds: float, bulk_mib: int, env: dict) -> dict:
    payload, echoed = work / "payload.bin", work / "echoed.bin"
    payload.write_bytes(hashlib.shake_256(b"bench").digest(bulk_mib << 20))
    result = {}
    for name in (target, PEERS[target]):
        folder = work / f"httpd-{name}"
        shutil.copytree(ROOT / "examples" / "httpd", folder, ignore=shutil.ignore_patterns("build"))
        uniforge("build", "-t", name, cwd=folder, env=env)
        port = free_port()
        guest = start_httpd(folder, name, port, env)
        try:
            rates = [requests_per_second(port, seconds) for _ in range(runs)]
            bulk = [bulk_mib_per_second(port, payload, echoed) for _ in range(runs)]
        finally:
            guest.send_signal(2)
            guest.wait(60)
        result[name] = {"req_per_s": statistics.median(rates), "bulk_mib_per_s": statistics.median(bulk)}
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
        rig = Rig.kept(targets.load(args.target), work / "rigs")
        report = {"target": args.target, "rig_boot_s": time.monotonic() - started}
        try:
            boot = {}
            for name, source in (("hello", ROOT / "examples" / "hello"), ("null", None)):
                folder = app_folder(work, name, source, env)
                uniforge("build", "-t", args.target, cwd=folder, env=env)
                boot[name] = boot_times(rig, folder, name, args.target, args.runs)
            report["boot"] = boot
            report["network"] = network(work, args.target, args.runs, args.seconds, args.bulk, env)
            report["storage"] = storage(args.target, max(1, args.runs // 2), env)
        finally:
            Rig.stop_kept(work / "rigs")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
