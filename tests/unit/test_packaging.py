"""Packaging (toolchain/uniforge/packaging/) without the host tools: the GPT, the formats' rules, the OCI layout's
determinism, the documents. The artifacts themselves are booted by tests/integration/test_artifacts.py."""
import json
import uuid
import xml.etree.ElementTree as ET
import zlib

import pytest

from uniforge import packaging
from uniforge.building import targets
from uniforge.core.errors import ImageError
from uniforge.packaging import diskformats, documents, gpt, libvirt, loaders, oci


def test_the_gpt_has_a_protective_mbr_two_valid_headers_and_the_partitions_where_the_entries_say():
    parts = [gpt.Partition(gpt.BIOS_BOOT, "BIOS boot", b"core" * 300),
             gpt.Partition(gpt.EFI_SYSTEM, "EFI system", b"\xaa" * 5000)]
    disk, placed = gpt.disk(parts, seed=b"s", mbr_code=b"\xeb\x63")
    sectors = len(disk) // 512
    assert len(disk) % (1 << 20) == 0 and disk[:2] == b"\xeb\x63" and disk[510:512] == b"\x55\xaa"
    assert disk[446 + 4] == 0xEE
    for header_lba, entries_lba in ((1, 2), (sectors - 1, sectors - 33)):
        header = bytearray(disk[header_lba * 512:header_lba * 512 + 92])
        assert header[:8] == b"EFI PART"
        crc = int.from_bytes(header[16:20], "little")
        header[16:20] = bytes(4)
        assert zlib.crc32(header) == crc
        entries = disk[entries_lba * 512:(entries_lba + 32) * 512]
        assert zlib.crc32(entries) == int.from_bytes(disk[header_lba * 512 + 88:header_lba * 512 + 92], "little")
        for i, p in enumerate(placed):
            entry = entries[128 * i:128 * (i + 1)]
            assert uuid.UUID(bytes_le=entry[:16]) == p.partition.type
            first = int.from_bytes(entry[32:40], "little")
            assert disk[first * 512:first * 512 + len(p.partition.data)] == p.partition.data
    assert gpt.disk(parts, seed=b"s")[0][512:] == disk[512:] and gpt.disk(parts, seed=b"t")[0] != disk


def test_crc32c_is_castagnolis():
    assert diskformats.crc32c(b"123456789") == 0xE3069283


def test_formats_are_checked_before_anything_is_made():
    q35, armv7, microvm = (targets.load(n) for n in ("qemu-x86_64-q35", "qemu-armv7", "qemu-x86_64"))
    assert packaging.check_formats(q35, ["qcow2", "iso", "qcow2"]) == ["qcow2", "iso"]
    assert packaging.check_formats(q35, ["kubevirt"]) == ["kubevirt", "oci", "qcow2"]
    assert packaging.check_formats(q35, ["openstack"]) == ["openstack", "qcow2"]
    with pytest.raises(ImageError, match="unknown artifact format 'qcow'") as e:
        packaging.check_formats(q35, ["qcow"])
    assert e.value.hint == "did you mean 'qcow2'?"
    with pytest.raises(ImageError, match="qemu-armv7 makes no ISO"):
        packaging.check_formats(armv7, ["iso"])
    with pytest.raises(ImageError, match="qemu-x86_64 makes no disk images"):
        packaging.check_formats(microvm, ["raw"])
    with pytest.raises(ImageError, match="qemu-armv7 makes no libvirt domain"):
        packaging.check_formats(armv7, ["libvirt"])
    with pytest.raises(ImageError, match="-f oci"):
        packaging.check_formats(q35, ["raw"], push="localhost:5000/a:1")
    with pytest.raises(ImageError, match="expected REGISTRY/REPOSITORY:TAG"):
        packaging.check_formats(q35, ["oci"], push="hello")


def test_grub_gets_the_guests_own_words_in_its_quoting():
    assert loaders.oem_string('X="a b" -- "c d" it\\\'s') == "uniforge:cmdline='X=a b' '--' 'c d' 'it'\\''s'"
    assert loaders.oem_string("") == "uniforge:cmdline="


def test_libvirt_domains_are_well_formed_and_boot_what_they_say():
    q35 = targets.load("qemu-x86_64-q35")
    kernel = ET.fromstring(libvirt.domain(q35, "app.qemu-x86_64-q35", memory="64M", cmdline="-- a"))
    assert kernel.find("os/kernel").text == "/var/lib/libvirt/images/app.qemu-x86_64-q35"
    assert kernel.find("os/cmdline").text == "-- a" and kernel.find("memory").text == "64"
    disk = ET.fromstring(libvirt.domain(q35, "app.qemu-x86_64-q35.qcow2", memory="64M", disk_format="qcow2",
                                        machine="pc", firmware="uefi"))
    assert disk.find("os").get("firmware") == "efi" and disk.find("os/type").get("machine") == "pc"
    assert disk.find("devices/disk/target").get("bus") == "ide" and disk.find("os/kernel") is None
    assert disk.find("sysinfo/oemStrings/entry").text == "uniforge:cmdline="


def test_oci_layouts_are_the_same_bytes_twice(tmp_path):
    q35 = targets.load("qemu-x86_64-q35")
    disk, kernel = tmp_path / "app.qcow2", tmp_path / "app"
    disk.write_bytes(b"qcow2" * 1000)
    kernel.write_bytes(b"\x7fELF" * 100)
    layouts = []
    for name in ("one", "two"):
        oci.write_layout(tmp_path / name, tag="t", disk=disk, kernel=kernel, cmdline="", target=q35, app="app",
                         epoch=315532800)
        layouts.append({p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*")
                        if p.is_file()})
    assert layouts[0] == layouts[1]
    index = json.loads(layouts[0][next(p for p in layouts[0] if p.name == "index.json")])
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]] == ["t", "t-kernel"]


def test_documents_describe_the_disk():
    q35 = targets.load("qemu-x86_64-q35")
    glance = json.loads(documents.openstack(q35, "app.q.qcow2", "qcow2", memory="128M", disk_bytes=3 << 20))
    assert (glance["disk_format"], glance["min_ram"], glance["min_disk"]) == ("qcow2", 128, 1)
    assert (glance["hw_firmware_type"], glance["hw_machine_type"], glance["hw_disk_bus"]) == ("bios", "q35", "sata")
    vm = json.loads(documents.kubevirt(q35, "app", "registry.example/app:1", memory="64M"))
    volume = vm["spec"]["template"]["spec"]["volumes"][0]["containerDisk"]
    assert volume == {"image": "registry.example/app:1", "path": "/disk/app.qemu-x86_64-q35.qcow2"}


def test_a_missing_host_tool_is_one_line_naming_its_debian_package(monkeypatch, tmp_path):
    from uniforge.core.errors import ToolError
    from uniforge.packaging import tools
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    monkeypatch.setattr(tools, "SBIN", ())
    with pytest.raises(ToolError, match="'xorriso' is not installed: install Debian's xorriso"):
        loaders.Grub(targets.load("qemu-x86_64-q35")).iso(tmp_path / "k", tmp_path / "o.iso", seed=b"", epoch=0,
                                                          work=tmp_path)
    with pytest.raises(ToolError, match="/usr/share/nonexistent/OVMF_CODE.fd is missing: install Debian's"):
        tools.firmware_file("/usr/share/nonexistent/OVMF_CODE.fd")
    assert tools.package_of("/usr/share/OVMF/OVMF_CODE_4M.fd") == "ovmf"
    assert tools.package_of("/usr/lib/u-boot/qemu_arm/u-boot.bin") == "u-boot-qemu"


def test_the_armv7_efi_application_is_a_pe32_file_with_the_zimage_as_it_is(tmp_path):
    """BOOTARM.EFI: the PE/COFF headers UEFI's loader reads (llvm-readobj, a consumer of its own, reads them the
    same), the stub at the entry point with where the zImage goes, and the zImage's bytes unchanged after it."""
    import shutil
    import struct
    import subprocess
    from uniforge.packaging import efistub
    elf = tmp_path / "app.elf"
    # A small ELF as the image: RX at 0x40100040 (4 KiB), RW memory to 0x40140000.
    header = struct.pack("<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + bytes(9), 2, 40, 1, 0x40100040, 52, 0, 0,
                         52, 32, 2, 40, 0, 0)
    phdrs = struct.pack("<8I", 1, 0x1000, 0x40100040, 0x40100040, 0x1000, 0x1000, 5, 0x1000)
    phdrs += struct.pack("<8I", 1, 0x2000, 0x40101040, 0x40101040, 0, 0x3efc0, 6, 0x1000)
    zimage = bytes(range(256)) * 16
    elf.write_bytes((header + phdrs).ljust(0x1000, b"\0") + zimage)
    data = efistub.application(targets.load("qemu-armv7"), zimage, elf)
    assert data[:2] == b"MZ" and struct.unpack_from("<I", data, 0x3C)[0] == 0x40
    assert data[0x40:0x44] == b"PE\0\0"
    machine, sections = struct.unpack_from("<HH", data, 0x44)
    assert (machine, sections) == (0x01C2, 1)                       # ARM (Thumb mixed), one section
    optional = 0x40 + 24
    magic, = struct.unpack_from("<H", data, optional)
    entry, = struct.unpack_from("<I", data, optional + 16)
    size_of_image, size_of_headers = struct.unpack_from("<II", data, optional + 56)
    subsystem, = struct.unpack_from("<H", data, optional + 68)
    assert (magic, subsystem, entry, size_of_headers) == (0x10B, 10, 0x1000, 0x1000)    # PE32, EFI application
    assert size_of_image == len(data) and len(data) % 0x1000 == 0
    stub = efistub.stub(targets.load("qemu-armv7"))
    payload_offset, payload_size, load_address, image_end, dtb_room = struct.unpack_from("<5I", data, 0x1004)
    assert (payload_size, load_address, image_end, dtb_room) == (len(zimage), 0x40100040, 0x40140000, 1 << 20)
    assert payload_offset >= len(stub) and data[0x1000 + payload_offset:][:len(zimage)] == zimage
    assert data[0x1000 + 24:0x1000 + len(stub)] == stub[24:]    # the stub's code, after its parameters
    assert efistub.application(targets.load("qemu-armv7"), zimage, elf) == data        # reproducible
    if shutil.which("llvm-readobj"):
        efi = tmp_path / "BOOTARM.EFI"
        efi.write_bytes(data)
        shown = subprocess.run(["llvm-readobj", "--file-headers", "--sections", str(efi)], capture_output=True,
                               text=True, check=True).stdout
        assert "IMAGE_FILE_MACHINE_THUMB (0x1C2)" in shown and "IMAGE_SUBSYSTEM_EFI_APPLICATION" in shown, shown
