"""`uniforge bench` end to end: real builds and boots of hello, the floor and (if apt can fetch it) the Linux peer.
No timing thresholds: the figures must exist, be positive, and be ordered where the order is not a matter of
timing (sizes, memory, and the steps within one boot)."""
import csv
import json
import re
import shutil

import jsonschema
import pytest

from conftest import copy_example, uniforge
from uniforge.api.schema import schema_file
from uniforge.core.errors import ExitCode

BOOT_STEPS = ("first_byte", "main", "exit")


def figures(report: dict) -> dict:
    return {(r["subject"], r["target"]): r for r in report["results"]}


def check_summary(summary: dict, runs: int | None = None) -> None:
    assert 0 < summary["min"] <= summary["median"] <= summary["max"]
    if runs is not None:
        assert len(summary["samples"]) == runs and all(x > 0 for x in summary["samples"])


pytestmark = pytest.mark.uniforge(targets=["qemu-x86_64"])


def test_bench_hello_against_the_floor(tmp_path, target):
    app = copy_example("hello", tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    proc = uniforge("bench", str(app), "-t", "qemu-x86_64", "-n", "3", "--json", str(out / "b.json"),
                    "--csv", str(out / "b.csv"), "--plot", str(out / "b.png"), timeout=1800)
    assert proc.returncode == 0, proc.stderr
    assert "hello (app)" in proc.stdout and "null (floor)" in proc.stdout

    report = json.loads((out / "b.json").read_text())
    jsonschema.validate(report, json.loads(schema_file("bench").read_text()))
    assert report["schema"] == 1 and report["runs"] == 3 and report["command"].startswith("uniforge bench")
    results = figures(report)
    assert set(results) == {("hello", "qemu-x86_64"), ("null", "qemu-x86_64")}
    hello, floor = results["hello", "qemu-x86_64"], results["null", "qemu-x86_64"]

    size = hello["size"]
    assert size["file"] > 0 and size["text"] > 0 and size["bss"] > 0
    assert {"boot", "console", "exit", "process", "libc", "app"} <= set(size["modules"])
    assert all(m["file"] > 0 for name, m in size["modules"].items() if name != "generated")
    assert floor["size"]["file"] < size["file"]

    assert set(hello["boot_ms"]) == set(BOOT_STEPS)
    for step in BOOT_STEPS:
        check_summary(hello["boot_ms"][step], runs=3)
    for i in range(3):      # within one boot: first byte, then main, then exit
        first, main, exit_ = (hello["boot_ms"][step]["samples"][i] for step in BOOT_STEPS)
        assert first <= main <= exit_
    assert set(floor["boot_ms"]) == {"exit"}
    check_summary(floor["boot_ms"]["exit"], runs=3)
    check_summary(hello["guest_entry_to_main_us"])

    assert 0 < floor["min_memory_kib"] < hello["min_memory_kib"] <= 64 * 1024
    for kind in ("cold", "warm"):
        check_summary(hello["build_s"][kind])
    # Each ratio is hello's figure over the floor's, both measured in this run.
    assert hello["vs_floor"] == {
        "size": pytest.approx(hello["size"]["file"] / floor["size"]["file"]),
        "boot_exit": pytest.approx(hello["boot_ms"]["exit"]["median"] / floor["boot_ms"]["exit"]["median"]),
        "min_memory": pytest.approx(hello["min_memory_kib"] / floor["min_memory_kib"])}
    assert hello["vs_floor"]["size"] > 1 and hello["vs_floor"]["min_memory"] > 1

    with open(out / "b.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"size_bytes", "min_memory_kib", "boot_exit_ms", "guest_entry_to_main_us", "build_cold_s"} <= {
        r["figure"] for r in rows if r["subject"] == "hello"}
    assert all(float(r["median"]) > 0 for r in rows)
    assert (out / "b.png").read_bytes().startswith(b"\x89PNG")


def test_bench_linux_peer(tmp_path, target):
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("the Linux peer comes from Debian packages: no apt-get/dpkg-deb here")
    app = copy_example("hello", tmp_path)
    proc = uniforge("bench", str(app), "-t", "qemu-x86_64", "-n", "1", "--no-build-times", "--peer", "linux",
                    "--json", str(tmp_path / "b.json"), timeout=1800)
    assert proc.returncode == 0, proc.stderr
    results = figures(json.loads((tmp_path / "b.json").read_text()))
    linux, hello = results["linux", "qemu-x86_64"], results["hello", "qemu-x86_64"]
    assert linux["kind"] == "peer"
    assert linux["size"]["bzimage"] > 0 and linux["size"]["initramfs"] > 0 and linux["size"]["text"] > 0
    assert linux["size"]["file"] > hello["size"]["file"]
    for step in BOOT_STEPS:
        check_summary(linux["boot_ms"][step], runs=1)
    assert linux["boot_ms"]["main"]["median"] <= linux["boot_ms"]["exit"]["median"]
    assert linux["min_memory_kib"] > hello["min_memory_kib"]


@pytest.mark.uniforge(targets=["qemu-x86_64", "qemu-armv7"])
def test_the_linux_peer_runs_a_program_on_its_arch(tmp_path, target):
    """bench/threads.py's peer on each arch that has one: threadprobe linked by `uniforge cc` as a static Linux
    executable, run as the /init of Debian's kernel for the target (amd64, armhf armmp) in the target's QEMU, prints
    its three figures and powers off. One boot, ~10 s under TCG."""
    from uniforge.bench import linuxpeer
    from uniforge.bench.boottime import timed_boot
    from uniforge.building import cclink, targets
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("the Linux peer comes from Debian packages: no apt-get/dpkg-deb here")
    app = copy_example("threadprobe", tmp_path)
    uniforge("cc", "-t", target, "main.c", "-o", "threadprobe-linux", cwd=app, check=True)
    loaded = targets.load(target)
    peer = linuxpeer.prepare(linuxpeer.arch_of(loaded), program=linuxpeer.Program(
        cclink.program_of(app / "threadprobe-linux").read_bytes(), ("bench",)))
    boot = timed_boot(linuxpeer.qemu_command(loaded, peer), marker=None, timeout=300)
    assert boot.returncode == 0 and linuxpeer.LINE.decode() in boot.console, boot.console[-3000:]
    figures = re.search(r"bench: create_join_ns=(\d+) futex_round_trip_ns=(\d+) yield_switch_ns=(\d+)",
                        boot.console)
    assert figures and all(int(x) > 0 for x in figures.groups()), boot.console[-3000:]


def test_bench_refuses_xen_targets_in_one_line(tmp_path):
    app = copy_example("hello", tmp_path)
    proc = uniforge("bench", str(app), "-t", "xen-x86_64", "-n", "1")
    assert proc.returncode == ExitCode.BENCH
    assert "uniforge: error: uniforge bench times QEMU targets; xen-x86_64 boots under Xen" in proc.stderr
    assert "Traceback" not in proc.stderr and "bench/xen_boot_time.py" in proc.stderr
