"""Virtio drivers in real QEMU on every transport: virtio-mmio (microvm, ARM virt) and virtio-pci (q35).

The probe apps (tests/apps/nicprobe, blkprobe) call uf_netdev_get / uf_blkdev_get themselves, so the resolver links
the NIC or block driver and the target's one transport; QEMU's devices come from `uniforge run --net/--disk`."""
import io
import re

import pytest

from conftest import compiled_modules, image_modules, require_target, targets_with, uniforge
from uniforge.building import targets
from uniforge.platforms import run_image

pytestmark = pytest.mark.uniforge(needs=["net", "disk"])
VIRTIO_MODULES = {"virtio", "virtio-mmio", "virtio-pci", "virtio-net", "virtio-blk", "x86-irq"}
QEMU_FIRST_NIC_MAC = "52:54:00:12:34:56"    # QEMU's default MAC for the first NIC without mac=
SLIRP_GATEWAY_MAC = "52:55:0a:00:02:02"     # QEMU user networking's gateway 10.0.2.2 (slirp: 52:55 + its IP)
SECTOR = 512
DISK_SECTORS = 2048


def run(folder, image, *args, timeout=90):
    proc = uniforge("run", image, "--timeout", str(timeout), *args, cwd=folder, timeout=timeout + 120)
    return proc, proc.stdout.replace("\r\n", "\n")


def test_hello_has_no_virtio(built, target):
    folder = built("hello", target)
    modules = image_modules(f"build/hello.{target}", cwd=folder)
    assert not modules & VIRTIO_MODULES, modules


def test_probes_link_their_driver_and_the_targets_transport(built, target):
    """The driver, the virtio core and the transport the target picks; the other transport never. The interrupt
    routing module comes with them where the library OS has one for the arch."""
    picks = set(targets.load(target).picks)
    _, available = compiled_modules(target)
    for app, driver in (("nicprobe", "virtio-net"), ("blkprobe", "virtio-blk")):
        folder = built(app, target)
        modules = image_modules(f"build/{app}.{target}", cwd=folder)
        assert {driver, "virtio"} | picks <= modules, modules
        assert len(modules & {"virtio-mmio", "virtio-pci"}) == 1, modules
        assert ("x86-irq" in modules) == ("x86-irq" in available), modules


def test_nic_arp_gateway(built, target):
    folder = built("nicprobe", target)
    proc, out = run(folder, f"build/nicprobe.{target}", "--net", "user")
    assert proc.returncode == 0, out + proc.stderr
    assert f"nicprobe: virtio-net0 mac {QEMU_FIRST_NIC_MAC} mtu 1500" in out
    assert "nicprobe: frames of bad lengths refused" in out
    assert "nicprobe: sent 300 ARP requests" in out            # more than the transmit ring holds
    assert f"nicprobe: 10.0.2.2 is-at {SLIRP_GATEWAY_MAC}" in out
    assert "nicprobe: woken by the NIC's interrupt" in out
    assert "a second NIC" not in out


def test_no_nic(built, target):
    folder = built("nicprobe", target)
    proc, out = run(folder, f"build/nicprobe.{target}", "--net", "none")
    assert proc.returncode == 1, out + proc.stderr
    assert "nicprobe: no NIC" in out


def pattern(sector, mul, add):
    return bytes((mul * sector + i + add) & 0xff for i in range(SECTOR))


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"".join(pattern(s, 7, 0) for s in range(DISK_SECTORS)))
    return path


def test_disk_read_write_flush(built, target, disk):
    folder = built("blkprobe", target)
    before = disk.read_bytes()
    proc, out = run(folder, f"build/blkprobe.{target}", "--disk", str(disk), "--", "rw")
    assert proc.returncode == 0, out + proc.stderr
    assert f"virtio-blk0 {DISK_SECTORS} sectors of 512 bytes, read-only 0, flush 1" in out
    assert "blkprobe: re-read what was written" in out
    after = disk.read_bytes()
    expected = bytearray(before)
    for s in range(100, 132):
        expected[s * SECTOR:(s + 1) * SECTOR] = pattern(s, 13, 1)
    expected[200 * SECTOR:201 * SECTOR] = b"B" * SECTOR        # the later of two writes to one sector
    assert after == bytes(expected)


def test_read_only_disk_refuses_writes(built, target, disk):
    folder = built("blkprobe", target)
    before = disk.read_bytes()
    proc, out = run(folder, f"build/blkprobe.{target}", "--disk", f"{disk}:ro", "--", "ro")
    assert proc.returncode == 0, out + proc.stderr
    assert "read-only 1" in out
    assert "blkprobe: write refused: -30" in out                # -EROFS
    assert disk.read_bytes() == before


def test_first_disk_given_is_disk_0(built, target, disk, tmp_path):
    second = tmp_path / "second.img"
    second.write_bytes(bytes(SECTOR * 8))
    folder = built("blkprobe", target)
    proc, out = run(folder, f"build/blkprobe.{target}", "--disk", f"{disk}:ro", "--disk", f"{second}:ro", "--", "ro")
    assert proc.returncode == 0, out + proc.stderr
    assert f"virtio-blk0 {DISK_SECTORS} sectors" in out


def test_no_disk(built, target):
    folder = built("blkprobe", target)
    proc, out = run(folder, f"build/blkprobe.{target}", "--", "rw")
    assert proc.returncode == 1, out + proc.stderr
    assert "blkprobe: no disk" in out


def test_argv_has_no_words_the_machine_appends(built, target):
    """microvm would append virtio_mmio.device=... after our `--`; the target turns that off (module virtio-mmio
    probes the fixed slots), and no machine adds words of its own."""
    folder = built("hello", target)
    proc, out = run(folder, f"build/hello.{target}", "--net", "user", "--", "only")
    assert proc.returncode == 0, out + proc.stderr
    assert re.findall(r"argv\[\d+\] = .*", out) == ["argv[1] = only"]


@pytest.mark.parametrize("pci_target", [name for name in targets_with("net", "disk")
                                        if "virtio-pci" in targets.load(name).picks])
def test_pci_without_msix_falls_back_to_polling(built, disk, pci_target):
    """virtio-pci devices with MSI-X turned off (vectors=0): the drivers poll with deadlines instead."""
    require_target(pci_target)
    target = targets.load(pci_target)
    folder = built("blkprobe", target.name)
    result = run_image(target, folder / f"build/blkprobe.{target.name}", args=["rw"], console=io.StringIO(),
                       timeout=120, extra_qemu_args=["-drive", f"file={disk},if=none,id=d0,format=raw",
                                                     "-device", "virtio-blk-pci,drive=d0,vectors=0"])
    assert result.exit_code == 0, result.console + result.qemu_stderr
    assert "blkprobe: re-read what was written" in result.console

    folder = built("nicprobe", target.name)
    result = run_image(target, folder / f"build/nicprobe.{target.name}", console=io.StringIO(), timeout=120,
                       extra_qemu_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,vectors=0"])
    assert f"nicprobe: 10.0.2.2 is-at {SLIRP_GATEWAY_MAC}" in result.console, result.console
    assert result.exit_code == 4, result.console       # and the probe notices that no interrupt woke it
