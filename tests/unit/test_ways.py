"""The ways to boot (platforms/): which class a target's `runner` chooses, and the QEMU command lines they build,
the Xen rigs' included, checked word by word. No QEMU and no download: the hypervisor and the board's device tree
are stand-ins."""
import dataclasses
from pathlib import Path

import pytest

from uniforge.building import image as images
from uniforge.building import targets
from uniforge.building.targets import Xen
from uniforge.core.errors import BenchError, ImageError, RunError, TargetError
from uniforge.platforms import RUNNERS, WAYS, qemu, run_image, way_for, way_to_boot, xen, xenrig, xl
from uniforge.platforms.run import STATUS_CHARDEV
from uniforge.platforms.way import BootRequest, raw_form
from uniforge.running.devices import Disk, Network


def option(command, name):
    return command[command.index(name) + 1]


def options(command, name):
    return [command[i + 1] for i, word in enumerate(command) if word == name]


@pytest.fixture
def rig(tmp_path, monkeypatch):
    """A stand-in hypervisor, and the board's device tree as the arguments it was made with."""
    hypervisor = tmp_path / "xen-4.17"
    hypervisor.write_bytes(b"xen")
    monkeypatch.setattr(xenrig, "hypervisor", lambda target: hypervisor)
    made = {}

    def board_dtb(target, memory_mib, work):
        made["board"] = (target.qemu.machine, memory_mib)
        return work / "board.dtb"

    def domu_dtb(board, out, **values):
        made["domu"] = values
        return out

    monkeypatch.setattr(xen, "board_dtb", board_dtb)
    monkeypatch.setattr(xen, "domu_dtb", domu_dtb)
    return hypervisor, made


@pytest.fixture
def work(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def image(tmp_path, name, raw_suffix=None):
    path = tmp_path / name
    path.write_bytes(b"\x7fELF")
    if raw_suffix:
        path.with_name(name + raw_suffix).write_bytes(b"raw form")
    return path


def test_every_target_has_a_way_and_each_way_a_target():
    chosen = {name: type(way_for(targets.load(name))) for name in targets.names()}
    assert set(chosen.values()) == set(RUNNERS.values())
    assert set(WAYS) - set(RUNNERS) == {"firmware", "libvirt"}         # chosen by what is booted, not by a target
    assert chosen["qemu-x86_64"] is qemu.PlainQemu and chosen["xen-armv7-dom0less"] is xen.XenDom0less
    assert chosen["xen-x86_64-dom0"] is chosen["xen-armv7-dom0"] is xen.XenDom0
    assert chosen["xen-x86_64"] is chosen["xen-armv7"] is xl.XenXl


def test_an_unknown_runner_is_named_with_a_suggestion():
    target = dataclasses.replace(targets.load("qemu-x86_64"), runner="xen-domo")
    with pytest.raises(TargetError, match="no way to boot named 'xen-domo'") as e:
        way_for(target)
    assert e.value.hint == "did you mean 'xen-dom0'?"


def test_a_way_takes_exactly_the_tables_it_reads():
    xen_table = targets.load("xen-x86_64-dom0").xen
    with pytest.raises(TargetError, match="runner 'qemu' does not read a \\[xen\\] table"):
        way_for(dataclasses.replace(targets.load("qemu-x86_64"), xen=xen_table))
    with pytest.raises(TargetError, match="runner 'xen-dom0' needs a \\[xen\\] table"):
        way_for(dataclasses.replace(targets.load("xen-x86_64-dom0"), xen=None))
    bad_loader = dataclasses.replace(xen_table, dom0_loader="pxe")
    with pytest.raises(TargetError, match="'dom0_loader' must be one of multiboot, guest-loader"):
        way_for(dataclasses.replace(targets.load("xen-x86_64-dom0"), xen=bad_loader))
    xl_table = targets.load("xen-x86_64").xl
    with pytest.raises(TargetError, match="runner 'xen-dom0' does not read a \\[xl\\] table"):
        way_for(dataclasses.replace(targets.load("xen-x86_64-dom0"), xl=xl_table))
    with pytest.raises(TargetError, match="runner 'xen-xl' needs a \\[xl\\] table"):
        way_for(dataclasses.replace(targets.load("xen-x86_64"), xl=None))
    with pytest.raises(TargetError, match="'bus' must be pci or mmio"):
        way_for(dataclasses.replace(targets.load("xen-x86_64"), xl=dataclasses.replace(xl_table, bus="isa")))


def test_plain_qemu_boots_the_image_as_its_kernel(tmp_path, work):
    way = way_for(targets.load("qemu-armv7"))
    kernel = image(tmp_path, "app.qemu-armv7", ".zImage")
    request = BootRequest(args=("a b",), cmdline="X=1", memory="128M", network=Network("user"),
                          disks=(Disk(Path("/d,1.img"), True),), extra_qemu_args=("-smp", "2"))
    command = way.command(kernel, request, work)
    assert command[:2] == ["qemu-system-arm", "-nodefaults"]
    assert option(command, "-machine") == "virt,highmem=off" and option(command, "-m") == "128M"
    assert option(command, "-kernel") == str(kernel)          # the ELF: QEMU loads it as it is
    assert option(command, "-append") == 'X=1 -- "a b"'
    assert options(command, "-device")[-2:] == ["virtio-net-device,netdev=net0", "virtio-blk-device,drive=disk0"]
    assert option(command, "-drive") == "file=/d,,1.img,if=none,id=disk0,format=raw,readonly=on"
    assert command[-2:] == ["-smp", "2"]
    # A plain process: the guest's status channel goes to a chardev of its own, which the runner gives otherwise.
    bench = way.bench_command(kernel, memory="1536K")
    at = bench.index("-chardev")
    assert bench[at:at + 2] == ["-chardev", f"null,id={STATUS_CHARDEV}"]
    assert bench[:at] + bench[at + 2:] == way.command(kernel, BootRequest(memory="1536K"), work)
    assert options(command, "-semihosting-config")[-1] == f"chardev={STATUS_CHARDEV}"
    assert option(way.command(kernel, BootRequest(), work), "-m") == "64M"      # the target's


def test_xen_dom0_on_x86_64_is_a_multiboot_module(tmp_path, work, rig):
    hypervisor, _ = rig
    way = way_for(targets.load("xen-x86_64-dom0"))
    kernel = image(tmp_path, "app.xen-x86_64-dom0")
    command = way.command(kernel, BootRequest(args=("a,b",), memory="96M", extra_qemu_args=("-s",)), work)
    assert command == [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", f"{96 + 448}M", "-serial", "stdio",
        "-device", "amd-iommu",
        "-kernel", str(hypervisor),
        "-append", "console=com1 com1=115200,8n1 dom0=pvh loglvl=all guest_loglvl=all dom0_mem=96M",
        # Xen drops the module's first word (its file name: a link without spaces); -initrd splits at commas.
        "-initrd", f"{work / 'kernel'} -- a,,b",
        "-s",
    ]
    assert (work / "kernel").resolve() == kernel.resolve()


def test_xen_dom0_on_armv7_comes_through_the_guest_loader(tmp_path, work, rig):
    hypervisor, _ = rig
    target = targets.load("xen-armv7-dom0")
    kernel = image(tmp_path, "app,1.xen-armv7-dom0", ".zImage")
    command = way_for(target).command(kernel, BootRequest(cmdline="uf.debug=1"), work)
    assert option(command, "-machine") == "virt,virtualization=on,gic-version=2"
    assert option(command, "-m") == "1024M"                 # at least min_board_mib
    assert option(command, "-append") == "console=dtuart loglvl=all guest_loglvl=all dom0_mem=64M"
    zimage = kernel.with_name(kernel.name + ".zImage")      # Xen on ARM loads the zImage form
    assert option(command, "-device") == (f"guest-loader,addr={target.xen.load_address:#x},"
                                          f"kernel={str(zimage).replace(',', ',,')},bootargs=uf.debug=1 --")
    assert "-semihosting-config" not in command and "-dtb" not in command


def test_xen_dom0less_puts_the_domu_in_the_boards_device_tree(tmp_path, work, rig):
    hypervisor, made = rig
    target = targets.load("xen-armv7-dom0less")
    kernel = image(tmp_path, "app.xen-armv7-dom0less", ".zImage")
    command = way_for(target).command(kernel, BootRequest(args=("x",), memory="600M"), work)
    assert made["board"] == ("virt,virtualization=on,gic-version=2", 600 + 512)
    assert made["domu"] == {"xen": target.xen, "kernel_size": len(b"raw form"), "guest_cmdline": "-- x",
                            "memory_mib": 600}
    assert option(command, "-dtb") == str(work / "xen.dtb") and option(command, "-kernel") == str(hypervisor)
    assert option(command, "-device") == (f"loader,file={kernel}.zImage,addr={target.xen.load_address:#x},"
                                          "force-raw=on")
    assert "-append" not in command         # Xen's command line is in the device tree


def test_the_raw_form_is_the_builds_or_made_in_the_work_folder(tmp_path, work):
    elf = tmp_path / "missing.elf"
    assert raw_form(elf, "pvh", work) == elf                # PVH loaders take the ELF
    kernel = image(tmp_path, "k.xen-armv7", ".zImage")
    assert raw_form(kernel, "zimage", work) == kernel.with_name("k.xen-armv7.zImage")      # what the build wrote
    assert raw_form(kernel.with_name("k.xen-armv7.zImage"), "zimage", work) == kernel.with_name("k.xen-armv7.zImage")
    # A floor kernel has none beside it: the rig writes one, its zImage magic checked.
    floor = way_for(targets.load("xen-armv7")).floor()
    made = raw_form(floor, "zimage", work)
    assert made.parent == work and int.from_bytes(made.read_bytes()[0x24:0x28], "little") == images.ZIMAGE_MAGIC
    with pytest.raises(ImageError, match="no zImage magic"):    # QEMU's ARM floor is no zImage
        raw_form(way_for(targets.load("qemu-armv7")).floor(), "zimage", work)


def test_xen_refuses_devices_and_bench_in_one_line(tmp_path):
    way = way_for(targets.load("xen-x86_64-dom0"))
    for request in (BootRequest(network=Network("user")), BootRequest(disks=(Disk(Path("d.img")),))):
        with pytest.raises(RunError, match="xen-x86_64-dom0 has no network or disk devices"):
            way.check(request)
    with pytest.raises(BenchError, match="uniforge bench times QEMU targets; xen-x86_64-dom0 boots under Xen"):
        way.check_bench()
    domu = way_for(targets.load("xen-x86_64"))
    domu.check(BootRequest(network=Network("user"), disks=(Disk(Path("d.img")),)))     # a domU under xl has them
    with pytest.raises(BenchError, match="xen-x86_64 boots under Xen") as e:
        domu.check_bench()
    assert "bench/xen_domu.py" in e.value.hint
    way_for(targets.load("qemu-x86_64")).check_bench()


def test_memory_is_checked_before_anything_runs(tmp_path):
    """`uniforge run -t xen-x86_64 --mem 64MB` used to end in a KeyError traceback."""
    with pytest.raises(RunError, match="--mem: '64MB' is not a size like 64M or 1G"):
        run_image(targets.load("xen-x86_64"), tmp_path / "never-read", memory="64MB")


def test_host_support_names_what_is_missing():
    target = targets.load("qemu-x86_64")
    missing = dataclasses.replace(target, qemu=dataclasses.replace(target.qemu, binary="qemu-system-nonexistent"))
    assert way_for(missing).host_support() == (False, "qemu-system-nonexistent is not installed")
    assert way_for(dataclasses.replace(targets.load("xen-x86_64"), qemu=missing.qemu)).host_support().ok is False
    assert way_for(target).host_check is None
    assert way_for(targets.load("kvm-x86_64")).host_check[0] == "KVM guests"
    assert way_for(targets.load("xen-armv7")).host_check[0] == "Xen hypervisors"


def test_board_memory_is_the_guests_and_xens():
    xen_table = Xen(package="p", file="f", guest_type="pvh", args="", reserved_mib=100, min_board_mib=300)
    way = way_for(dataclasses.replace(targets.load("xen-x86_64-dom0"), xen=dataclasses.replace(xen_table,
                                                                                          dom0_loader="multiboot")))
    assert way.board_mib(BootRequest(memory="64M")) == 300
    assert way.board_mib(BootRequest(memory="1G")) == 1024 + 100


def test_a_disk_boots_through_the_targets_firmware_with_its_boot_loaders_command_line(tmp_path, work):
    from uniforge.platforms import way_to_boot
    from uniforge.platforms.firmware import FirmwareBoot
    target = targets.load("qemu-x86_64-q35")
    disk = tmp_path / "app.qemu-x86_64-q35.qcow2"
    disk.write_bytes(b"disk")
    way = way_to_boot(target, disk, firmware="uefi", machine="pc")
    assert isinstance(way, FirmwareBoot)
    request = BootRequest(args=("a b", "it's"), cmdline="X=1", disks=(Disk(Path("/d.img")),))
    command = way.command(disk, request, work)
    assert option(command, "-machine") == "pc" and "-kernel" not in command and "-bios" not in command
    assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in options(command, "-device")
    assert f"isa-debugcon,iobase=0xe9,chardev={STATUS_CHARDEV}" in options(command, "-device")    # the status channel
    assert "/usr/share/qemu/qboot.rom" not in command
    flash = options(command, "-drive")[:2]
    assert flash[0].endswith("file=/usr/share/OVMF/OVMF_CODE_4M.fd") and "readonly=on" in flash[0]
    assert flash[1] == f"if=pflash,format=raw,unit=1,file={work / 'uefi-vars.fd'}"    # a copy: OVMF writes it
    assert options(command, "-drive")[2] == f"if=none,id=uf-boot,format=qcow2,snapshot=on,file={disk}"
    assert "ide-hd,drive=uf-boot,bootindex=0" in options(command, "-device")
    assert option(command, "-smbios") == "type=11,value=uniforge:cmdline='X=1' '--' 'a b' 'it'\\''s'"
    assert options(command, "-device")[-1] == "virtio-blk-pci,drive=disk0"           # the app's disk 0
    bios = way_to_boot(target, disk).command(disk, BootRequest(), work)
    assert option(bios, "-bios") == "/usr/share/seabios/bios-256k.bin" and option(bios, "-machine") == "q35"
    with pytest.raises(RunError, match="firmware bios or uefi, not 'uboot'"):
        way_to_boot(target, disk, firmware="uboot")
    with pytest.raises(RunError, match="--firmware and --machine choose how a disk image boots"):
        way_to_boot(target, tmp_path / "app.qemu-x86_64-q35", machine="pc")
    with pytest.raises(RunError, match="qemu-x86_64's images do not boot from disks"):
        way_to_boot(targets.load("qemu-x86_64"), disk)          # `uniforge run DISK -t qemu-x86_64`


def test_an_armv7_disk_boots_through_u_boot_with_the_command_line_in_ram(tmp_path, work):
    from uniforge.packaging.loaders import UBOOT_ENV_ADDRESS
    from uniforge.platforms import way_to_boot
    target = targets.load("qemu-armv7")
    disk = tmp_path / "app.qemu-armv7.raw"
    disk.write_bytes(b"disk")
    command = way_to_boot(target, disk).command(disk, BootRequest(args=("a b",)), work)
    assert option(command, "-bios") == "/usr/lib/u-boot/qemu_arm/u-boot.bin"
    assert "nvme,serial=uniforge-boot,drive=uf-boot,bootindex=0" in options(command, "-device")
    assert f"loader,file={work / 'uboot-env.txt'},addr={UBOOT_ENV_ADDRESS:#x},force-raw=on" in options(command, "-device")
    assert (work / "uboot-env.txt").read_bytes() == b'uf_cmdline=-- "a b"\n\0'


def test_an_armv7_disk_boots_through_uefi_with_the_command_line_in_an_oem_string(tmp_path, work):
    """AAVMF from flash (code read-only, a copy of the variables), at least the RAM it needs; our EFI stub reads
    the guest's command line as it is from the OEM string (no boot loader quoting in between)."""
    from uniforge.platforms import way_to_boot
    target = targets.load("qemu-armv7")
    disk = tmp_path / "app.qemu-armv7.qcow2"
    disk.write_bytes(b"disk")
    way = way_to_boot(target, disk, firmware="uefi")
    command = way.command(disk, BootRequest(args=("a b", "c,d")), work)
    flash = options(command, "-drive")[:2]
    assert flash[0].endswith("file=/usr/share/AAVMF/AAVMF32_CODE.fd") and "readonly=on" in flash[0]
    assert flash[1] == f"if=pflash,format=raw,unit=1,file={work / 'uefi-vars.fd'}"
    assert "-bios" not in command and "uboot-env.txt" not in " ".join(command)
    assert option(command, "-smbios") == 'type=11,value=uniforge:cmdline=-- "a b" c,,d'
    assert way.memory(BootRequest()) == "128M" and way.memory(BootRequest(memory="1G")) == "1G"
    assert way_to_boot(target, disk).firmware == "uboot"        # the default: U-Boot boots faster
    with pytest.raises(RunError, match=r"^qemu-armv7's disks boot with firmware uboot or uefi, not 'bios'$"):
        way_to_boot(target, disk, firmware="bios")
