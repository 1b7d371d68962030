"""uniforge bench's own logic on synthetic boots: statistics, ratios, the memory bisection, the turn order, the
conversion of guest ticks, the report's CSV form, and the Linux peer's initramfs and kernel extraction. No QEMU."""

import lzma
import math
import random
from types import SimpleNamespace

import pytest

from uniforge.bench import measure
from uniforge.bench.benchreport import csv_rows
from uniforge.bench.boottime import Boot, GuestTicks
from uniforge.bench.linuxpeer import (HTTP_LINE, LINE, NET_DRIVERS, http_init, initramfs, load_order, nginx_init,
                                      redis_init, vmlinux_from_bzimage)
from uniforge.core.errors import BenchError

X86 = SimpleNamespace(name="qemu-x86_64", bench=SimpleNamespace(host_tsc=True))
ARM = SimpleNamespace(name="qemu-armv7", bench=SimpleNamespace(host_tsc=False))


def boot(exit_s=0.05, *, first=None, marker=None, guest=None, console="", returncode=1) -> Boot:
    return Boot(returncode, console, first, marker, exit_s, guest)


def test_summary_is_median_min_max():
    assert measure.summarize([3, 1, 2]) == {"median": 2, "min": 1, "max": 3}
    assert measure.summarize([4, 1, 2, 3]) == {"median": 2.5, "min": 1, "max": 4}


def test_ratio_needs_both_figures():
    assert measure.ratio(3, 2) == 1.5
    assert measure.ratio(None, 2) is None
    assert measure.ratio(3, None) is None
    assert measure.ratio(3, 0) is None


@pytest.mark.parametrize("seed", range(20))
def test_bisection_finds_the_threshold_in_log_steps(seed):
    rng = random.Random(seed)
    resolution = rng.choice([1, 64, 1024])
    high = rng.randrange(2, 1 << 20) * resolution
    threshold = rng.randrange(1, high + 1)
    probes = []

    def passes(value):
        probes.append(value)
        return value >= threshold

    found = measure.bisect_min(passes, high, resolution=resolution)
    assert found % resolution == 0 or found == high
    assert found >= threshold and found - resolution < threshold
    assert len(probes) <= math.ceil(math.log2(high / resolution)) + 2


def test_bisection_refuses_a_failing_upper_bound():
    with pytest.raises(BenchError, match="known-good"):
        measure.bisect_min(lambda value: False, 1024, resolution=64)


def subject(name, kind, target=X86, *, succeeded=lambda b: True, marker=None, size=1000):
    return measure.Subject(name=name, kind=kind, target=target, command=lambda kib: [name, str(kib)],
                           memory_kib=65536, marker=marker, succeeded=succeeded, size={"file": size})


def test_subjects_take_turns_after_a_warm_up(monkeypatch):
    order = []
    monkeypatch.setattr(measure, "timed_boot", lambda command, **_: order.append(command[0]) or boot())
    subjects = [subject("null", "floor"), subject("hello", "app"), subject("linux", "peer")]
    measure.measure_boots(subjects, runs=3)
    assert order == ["null", "hello", "linux"] * 4
    assert [len(s.boots) for s in subjects] == [3, 3, 3]


def test_a_failed_boot_stops_the_bench(monkeypatch):
    monkeypatch.setattr(measure, "timed_boot", lambda command, **_: boot(returncode=None))
    with pytest.raises(BenchError, match="hello on qemu-x86_64 failed to boot: timed out"):
        measure.measure_boots([subject("hello", "app", succeeded=lambda b: b.returncode is not None)], runs=1)


def test_minimum_memory_bisects_on_the_qemu_size(monkeypatch):
    monkeypatch.setattr(measure, "timed_boot", lambda command, **_: boot(returncode=int(command[1])))
    s = subject("hello", "app", succeeded=lambda b: b.returncode >= 1500)
    s.boots = [boot(0.05)]
    assert measure.min_memory_kib(s) == 1536      # the next multiple of 64 KiB


def test_guest_ticks_use_the_guest_rate_else_the_host_tsc_where_it_is_the_guests():
    arm = boot(guest=GuestTicks(entry=1000, main=63500, hz=62_500_000))
    assert measure._ticks_us(arm, ARM, None) == pytest.approx(1000.0)
    x86 = boot(guest=GuestTicks(entry=0, main=2_600_000, hz=0))
    assert measure._ticks_us(x86, X86, 2_600_000_000) == pytest.approx(1000.0)
    assert measure._ticks_us(x86, X86, None) is None
    assert measure._ticks_us(boot(), X86, 1) is None


def test_results_have_ratios_to_the_floor_of_the_same_target(monkeypatch):
    monkeypatch.setattr(measure, "host_tsc_hz", lambda: 1_000_000_000)
    floor, app = subject("null", "floor", size=500), subject("hello", "app", size=2000)
    arm_floor = subject("null", "floor", ARM, size=100)
    floor.boots = [boot(e) for e in (0.020, 0.022, 0.030)]
    app.boots = [boot(e, first=e - 0.002, marker=e - 0.001, guest=GuestTicks(0, 50_000, 0)) for e in
                 (0.021, 0.024, 0.040)]
    arm_floor.boots = [boot(0.1)]
    records = measure.results([floor, app, arm_floor], {0: 1024, 1: 2048, 2: 512}, {})
    hello = records[1]
    assert hello["boot_ms"]["exit"]["median"] == pytest.approx(24.0)
    assert hello["boot_ms"]["main"]["min"] == pytest.approx(20.0)
    assert hello["vs_floor"] == {"size": 4.0, "boot_exit": pytest.approx(24 / 22), "min_memory": 2.0}
    assert hello["guest_entry_to_main_us"]["median"] == pytest.approx(50.0)
    assert "first_byte" not in records[0]["boot_ms"]
    assert records[2]["vs_floor"]["size"] == 1.0

    rows = {(r["subject"], r["target"], r["figure"]): r for r in csv_rows({"results": records})}
    assert rows["hello", "qemu-x86_64", "size_bytes"]["vs_floor"] == 4.0
    assert rows["hello", "qemu-x86_64", "boot_main_ms"]["max"] == pytest.approx(39.0)
    assert rows["null", "qemu-armv7", "min_memory_kib"]["median"] == 512


def read_newc(data: bytes) -> dict[str, tuple[int, int, bytes]]:
    """name -> (mode, rdev major << 8 | minor, contents), read independently of the writer."""
    entries, at = {}, 0
    while True:
        assert data[at:at + 6] == b"070701"
        fields = [int(data[at + 6 + 8 * i:at + 14 + 8 * i], 16) for i in range(13)]
        name_size, file_size = fields[11], fields[6]
        name = data[at + 110:at + 110 + name_size - 1].decode()
        start = (at + 110 + name_size + 3) & ~3
        if name == "TRAILER!!!":
            return entries
        entries[name] = (fields[1], fields[9] << 8 | fields[10], data[start:start + file_size])
        at = (start + file_size + 3) & ~3


def test_the_peer_initramfs_has_console_busybox_and_init():
    entries = read_newc(initramfs(b"\x7fELF busybox"))
    assert entries["dev/console"][:2] == (0o020600, 5 << 8 | 1)
    assert entries["bin/busybox"] == (0o100755, 0, b"\x7fELF busybox")
    mode, _, init = entries["init"]
    assert mode == 0o100755 and init.startswith(b"#!/bin/busybox sh\n")
    assert LINE in init and b"poweroff -f" in init


def test_the_nginx_peer_initramfs_keeps_executables_executable():
    """The nginx peer's files: binaries and libraries with their mode (0755), data files 0644, folders made."""
    entries = read_newc(initramfs(b"busybox", nginx_init("10.0.0.2/24", ["virtio_net"]), [
        ("usr/sbin/nginx", b"\x7fELF nginx", 0o100755), ("lib64/ld-linux-x86-64.so.2", b"\x7fELF ld", 0o100755),
        ("etc/nginx.conf", b"daemon off;")]))
    assert entries["usr/sbin/nginx"][0] == entries["lib64/ld-linux-x86-64.so.2"][0] == 0o100755
    assert entries["etc/nginx.conf"] == (0o100644, 0, b"daemon off;")
    assert entries["usr"][0] == entries["usr/sbin"][0] == 0o040755
    init = entries["init"][2]
    assert b"ip addr add 10.0.0.2/24 dev eth0" in init and b"/usr/sbin/nginx -e stderr -c /etc/nginx.conf" in init
    assert HTTP_LINE in init


def test_the_redis_peer_init_becomes_redis_server_with_the_given_options():
    """bench/port_redis.py's peer: the NIC's modules in order, its address, then init is redis-server itself (its
    end ends the VM), with the configuration file and the options both servers get, quoted for the shell."""
    init = redis_init("10.79.1.2/24", ["virtio", "virtio_net"], ("--maxclients", "992", "--save", ""))
    assert init.startswith(b"#!/bin/busybox sh\nset -e\n")
    assert b"for m in virtio virtio_net; do $b insmod /modules/$m.ko; done" in init
    assert b"ip addr add 10.79.1.2/24 dev eth0" in init
    assert init.endswith(b"exec /usr/bin/redis-server /etc/redis.conf --maxclients 992 --save ''\n")


def test_vmlinux_comes_out_of_the_xz_stream():
    kernel = b"\x7fELF" + bytes(range(256)) * 64
    bzimage = b"MZ setup code" * 50 + lzma.compress(kernel, format=lzma.FORMAT_XZ) + b"trailer"
    assert vmlinux_from_bzimage(bzimage) == kernel
    with pytest.raises(BenchError, match="no XZ stream"):
        vmlinux_from_bzimage(b"MZ gzip kernel")


# Debian's virtio-net modules as their .modinfo says (linux-image-6.1.0-amd64): the load order is derived from these.
DEPENDS = {"virtio_net": ["virtio_ring", "virtio", "net_failover"], "net_failover": ["failover"], "failover": [],
           "virtio": [], "virtio_ring": [], "virtio_mmio": ["virtio", "virtio_ring"],
           "virtio_pci": ["virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_ring"],
           "virtio_pci_modern_dev": [], "virtio_pci_legacy_dev": [], "e1000": []}


def test_kernel_modules_load_after_what_they_depend_on():
    order = load_order(DEPENDS, NET_DRIVERS)
    assert set(order) == set(DEPENDS) - {"e1000"}           # the drivers and what they need, nothing else
    for name in order:
        assert all(order.index(dep) < order.index(name) for dep in DEPENDS[name]), order
    with pytest.raises(BenchError, match="no module virtio_blk \\(needed by virtio_net\\)"):
        load_order({**DEPENDS, "virtio_net": ["virtio_blk"]}, NET_DRIVERS)
    with pytest.raises(BenchError, match="cycle: virtio -> failover -> virtio"):
        load_order({**DEPENDS, "virtio": ["failover"], "failover": ["virtio"]}, ["virtio"])


def test_the_web_servers_init_loads_the_modules_in_order():
    init = http_init("10.0.0.2/24", ["a", "b_c"]).decode()
    assert "for m in a b_c; do $b insmod /modules/$m.ko; done" in init
    assert "$b ip addr add 10.0.0.2/24 dev eth0" in init and HTTP_LINE.decode() in init
    # netfront's eth0 appears once it has met netback through xenbus, after insmod returned
    assert init.index("until $b ip link show eth0") < init.index("ip link set eth0 up")


@pytest.mark.parametrize("arch, kernel, xen_type", [("x86_64", "vmlinux", "pv"), ("armv7", "kernel", "pvh")])
def test_the_linux_domu_config_boots_the_peers_files_as_its_archs_guest_and_never_restarts(tmp_path, arch, kernel,
                                                                                          xen_type):
    """x86_64's kernel boots as a PV domU (as PVH it stops before its first console byte under the rig), ARM's as
    xl's one ARM guest type."""
    from uniforge.bench.linuxpeer import ARCHES, Peer, xl_config
    config = xl_config(Peer(tmp_path / kernel, tmp_path / "initramfs.cpio", 1, "6.1", ARCHES[arch]), "peer", 256)
    lines = set(config.splitlines())
    assert {f'type = "{xen_type}"', f'kernel = "{kernel}"', 'ramdisk = "initramfs.cpio"', "memory = 256",
            'on_reboot = "destroy"', 'on_crash = "destroy"'} <= lines, config
    assert 'cmdline = "console=hvc0 quiet panic=-1"' in lines, config


def test_every_target_arch_of_a_xen_target_has_a_linux_domu_peer():
    """bench/xen_domu.py boots the Linux peer of the target's arch as a domU on every xl target."""
    from uniforge.bench.linuxpeer import arch_of
    from uniforge.building import targets
    for name in ("xen-x86_64", "xen-armv7"):
        assert arch_of(targets.load(name)).xen_type in ("pv", "pvh")


@pytest.mark.parametrize("name", ["qemu-x86_64", "qemu-armv7"])
def test_the_peers_command_names_every_chardev_its_devices_use(tmp_path, name):
    """A plain QEMU process: the target's status device writes to a chardev the command itself defines (null),
    else QEMU refuses to start (isa-debugcon's chardev=uf-status, semihosting's)."""
    import re

    from uniforge.bench.linuxpeer import Peer, arch_of, qemu_command
    from uniforge.building import targets
    target = targets.load(name)
    command = " ".join(qemu_command(target, Peer(tmp_path / "kernel", tmp_path / "initramfs", 1, "6.1",
                                                 arch_of(target))))
    used = set(re.findall(r"chardev=([\w-]+)", command))
    defined = set(re.findall(r"-chardev \w+,id=([\w-]+)", command))
    assert used and used <= defined, command


def test_every_target_with_the_linux_peer_has_its_arch_and_console(tmp_path):
    """The peer's kernel prints on the serial console of the target's machine (8250 on microvm/q35, PL011 on
    virt): a wrong console= would leave the figures unread. It boots on plain QEMU only: a Xen target that inherits
    a QEMU target's [bench] must say so."""
    from uniforge.bench.linuxpeer import Peer, arch_of, qemu_command
    from uniforge.building import targets
    consoles = {}
    every = list(map(targets.load, targets.names()))
    assert {t.name for t in every if t.bench.peer == "linux"} == {t.name for t in every if t.runner == "qemu"}
    for target in every:
        if target.bench.peer == "linux":
            command = qemu_command(target, Peer(tmp_path / "kernel", tmp_path / "initramfs", 1, "6.1",
                                                arch_of(target)))
            consoles[target.name] = command[command.index("-append") + 1].split()[0]
    assert consoles["qemu-x86_64"] == "console=ttyS0" and consoles["qemu-armv7"] == "console=ttyAMA0", consoles


def test_a_target_without_a_peer_kernel_is_refused_in_one_line():
    from uniforge.bench.linuxpeer import arch_of
    with pytest.raises(BenchError, match="no kernel for riscv-box's arch"):
        arch_of(SimpleNamespace(name="riscv-box", arch="riscv64"))
