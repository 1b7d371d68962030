"""Virtio drivers in real QEMU on every transport: virtio-mmio (microvm, ARM virt) and virtio-pci (q35).

The probe apps (tests/apps/nicprobe, blkprobe) call uf_netdev_get / uf_blkdev_get themselves, so the resolver links
the NIC or block driver and the target's one transport; QEMU's devices come from the runner's `net` and
`disks` (`uniforge run --net/--disk`)."""
import re

import pytest

from conftest import app_dir, compiled_modules, image_modules, targets_with
from uniforge.building import targets

pytestmark = pytest.mark.uniforge(needs=["net", "disk"])
VIRTIO_MODULES = {"virtio", "virtio-mmio", "virtio-pci", "virtio-net", "virtio-blk", "x86-irq"}
QEMU_FIRST_NIC_MAC = "52:54:00:12:34:56"    # QEMU's default MAC for the first NIC without mac=
SLIRP_GATEWAY_MAC = "52:55:0a:00:02:02"     # QEMU user networking's gateway 10.0.2.2 (slirp: 52:55 + its IP)
SECTOR = 512
DISK_SECTORS = 2048


def run(uniforge_build, target, app, args=(), **boot):
    """The app built for the target, booted with Image.boot's keywords to its end: its Result."""
    return uniforge_build(app_dir(app), target).run(args, timeout=90, **boot)


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
    # blkprobe maps memory itself: where module demand exists, its disk test reaches the device through demand-zero
    # pages too.
    assert ("demand" in modules) == ("demand" in available), modules


def test_nic_arp_gateway(uniforge_build, target):
    result = run(uniforge_build, target, "nicprobe", net="user")
    out = result.console
    assert result.status == 0, out + result.message
    assert f"nicprobe: virtio-net0 mac {QEMU_FIRST_NIC_MAC} mtu 1500" in out
    assert "nicprobe: frames of bad lengths refused" in out
    assert "nicprobe: sent 300 ARP requests" in out            # more than the transmit ring holds
    assert f"nicprobe: 10.0.2.2 is-at {SLIRP_GATEWAY_MAC}" in out
    assert "nicprobe: woken by the NIC's interrupt" in out
    assert "a second NIC" not in out


def test_no_nic(uniforge_build, target):
    result = run(uniforge_build, target, "nicprobe", net="none")
    assert result.status == 1, result.console + result.message
    assert "nicprobe: no NIC" in result.console


def pattern(sector, mul, add):
    return bytes((mul * sector + i + add) & 0xff for i in range(SECTOR))


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"".join(pattern(s, 7, 0) for s in range(DISK_SECTORS)))
    return path


def test_disk_read_write_flush(uniforge_build, target, disk):
    before = disk.read_bytes()
    result = run(uniforge_build, target, "blkprobe", ["rw"], disks=[disk])
    out = result.console
    assert result.status == 0, out + result.message
    assert f"virtio-blk0 {DISK_SECTORS} sectors of 512 bytes, read-only 0, flush 1" in out
    assert "blkprobe: re-read what was written" in out
    assert "blkprobe: wrote and read back 400 sectors in demand-zero memory" in out
    assert "blkprobe: a read into a read-only page: -14" in out     # -EFAULT
    after = disk.read_bytes()
    expected = bytearray(before)
    for s in range(100, 132):
        expected[s * SECTOR:(s + 1) * SECTOR] = pattern(s, 13, 1)
    expected[200 * SECTOR:201 * SECTOR] = b"B" * SECTOR        # the later of two writes to one sector
    for s in range(300, 700):                                   # written from demand-zero memory
        expected[s * SECTOR:(s + 1) * SECTOR] = pattern(s, 29, 3)
    assert after == bytes(expected)


def test_disk_with_a_queue_of_four(uniforge_build, target, disk):
    """A queue of 4 descriptors (QEMU's seg_max is then 2): a device request carries a header, two runs and its
    status, so each of blkprobe's buffers in demand-zero memory goes as many device requests, sectors cut across
    them, one at a time; the disk ends as with a full queue."""
    device = targets.load(target).qemu.disk_device
    result = run(uniforge_build, target, "blkprobe", ["rw"], disks=[disk],
                 extra_qemu_args=["-global", f"{device}.queue-size=4"])
    assert result.status == 0, result.console + result.message
    assert "blkprobe: wrote and read back 400 sectors in demand-zero memory" in result.console
    assert disk.read_bytes()[300 * SECTOR:700 * SECTOR] == b"".join(pattern(s, 29, 3) for s in range(300, 700))


def test_read_only_disk_refuses_writes(uniforge_build, target, disk):
    before = disk.read_bytes()
    result = run(uniforge_build, target, "blkprobe", ["ro"], disks=[f"{disk}:ro"])
    out = result.console
    assert result.status == 0, out + result.message
    assert "read-only 1" in out
    assert "blkprobe: write refused: -30" in out                # -EROFS
    assert disk.read_bytes() == before


def test_first_disk_given_is_disk_0(uniforge_build, target, disk, tmp_path):
    second = tmp_path / "second.img"
    second.write_bytes(bytes(SECTOR * 8))
    result = run(uniforge_build, target, "blkprobe", ["ro"], disks=[f"{disk}:ro", f"{second}:ro"])
    assert result.status == 0, result.console + result.message
    assert f"virtio-blk0 {DISK_SECTORS} sectors" in result.console


def test_no_disk(uniforge_build, target):
    result = run(uniforge_build, target, "blkprobe", ["rw"])
    assert result.status == 1, result.console + result.message
    assert "blkprobe: no disk" in result.console


def test_argv_has_no_words_the_machine_appends(uniforge_build, target):
    """microvm would append virtio_mmio.device=... after our `--`; the target turns that off (module virtio-mmio
    probes the fixed slots), and no machine adds words of its own."""
    result = run(uniforge_build, target, "hello", ["only"], net="user")
    assert result.status == 0, result.console + result.message
    assert re.findall(r"argv\[\d+\] = .*", result.console) == ["argv[1] = only"]


@pytest.mark.uniforge(targets=[name for name in targets_with("net", "disk")
                               if "virtio-pci" in targets.load(name).picks])
def test_pci_without_msix_falls_back_to_polling(uniforge_build, disk, target):
    """virtio-pci devices with MSI-X turned off (vectors=0): the drivers poll with deadlines instead."""
    result = run(uniforge_build, target, "blkprobe", ["rw"],
                 extra_qemu_args=["-drive", f"file={disk},if=none,id=d0,format=raw",
                                  "-device", "virtio-blk-pci,drive=d0,vectors=0"])
    assert result.status == 0, result.console + result.qemu_stderr
    assert "blkprobe: re-read what was written" in result.console

    result = run(uniforge_build, target, "nicprobe",
                 extra_qemu_args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,vectors=0"])
    assert f"nicprobe: 10.0.2.2 is-at {SLIRP_GATEWAY_MAC}" in result.console, result.console
    assert result.status == 4, result.console       # and the probe notices that no interrupt woke it
