"""libvirt domains (templates/libvirt.xml.j2): one that boots the image as its kernel (direct kernel boot, qboot as
with `uniforge run`), and one per disk artifact that boots it through firmware. The file a domain boots lies in
libvirt's default storage pool (/var/lib/libvirt/images: where a deployment copies it, and where `uniforge run
--via libvirt` does), so the XML is the same wherever the image was built. The guest's console is the first serial
port, logged; the app ends the machine with the exit device, and the domain stops with it. `uniforge run --via
libvirt` adds the guest's status channel, to a file, and so has the app's exit status."""
from __future__ import annotations

from pathlib import Path

from ..building.generate import render
from ..building.targets import Firmware, Target
from ..core import sizes
from ..core.errors import ImageError
from .loaders import OEM_PREFIX, oem_string

IMAGES = Path("/var/lib/libvirt/images")
LOGS = Path("/var/log/libvirt/qemu")
QBOOT = "/usr/share/qemu/qboot.rom"
MACHINES = ("q35", "pc")                   # the machines libvirt runs that these images boot on
_BUSES = {"ide-hd": ("sata", "sda"), "ide-cd": ("sata", "sdb")}


def check(target: Target) -> None:
    """ImageError unless libvirt can run the target's images as uniforge runs them (x86_64, on q35 or pc, with
    the isa-debug-exit device)."""
    if target.arch != "x86_64" or target.exit != "isa-debug-exit" or target.runner != "qemu" \
            or target.qemu.machine.split(",")[0] not in MACHINES:
        raise ImageError(f"{target.name} makes no libvirt domain: libvirt runs the x86_64 targets on "
                         f"{' or '.join(MACHINES)} here", hint="qemu-x86_64-q35 makes one")


def domain(target: Target, booted: str, *, memory: str, disk_format: str | None = None, cmdline: str = "",
           images: Path = IMAGES, name: str | None = None, console_log: Path | None = None,
           firmware: str = "bios", machine: str | None = None,
           status_channel: tuple[str, Path] | None = None) -> str:
    """The domain XML for `booted` (a file name in `images`): the image as the kernel when `disk_format` is None,
    else a disk of that format booted through `firmware` (bios or uefi). `status_channel` (the chardev id the
    target's [qemu] `status` device writes to, a file): the guest's status channel written to that file, for
    whoever waits for the app's exit status (QEMU, as libvirt's user, must be able to write it)."""
    check(target)
    name = name or booted
    values = dict(file_name=f"{booted}.libvirt.xml", booted=booted, name=name, images=images,
                  memory_mib=sizes.mib(memory), arch=target.arch, qboot=QBOOT,
                  console_log=console_log or LOGS / f"{name}.console.log", uefi=False, kernel=None, disk=None,
                  cdrom=False, cmdline=_xml_text(cmdline), oem_string=_xml_text(OEM_PREFIX),
                  status_chardev=status_channel[0] if status_channel else None,
                  status_file=status_channel[1] if status_channel else None,
                  status_options=[_xml_text(arg) for arg in target.qemu.status])
    if disk_format is None:
        values.update(machine=machine or target.qemu.machine, kernel=images / booted)
    else:
        table = target.firmware
        cdrom = disk_format == "iso"
        machine = machine or table.machines[0]
        bus, dev = bus_for(table, disk_format, machine)
        values.update(machine=machine, disk=images / booted, disk_format="raw" if cdrom else disk_format,
                      cdrom=cdrom, disk_bus=bus, disk_dev=dev, uefi=firmware == "uefi",
                      oem_string=_xml_text(oem_string(cmdline)))
    return render("libvirt.xml.j2", **values)


def bus_for(table: Firmware, disk_format: str, machine: str) -> tuple[str, str]:
    """libvirt's bus and device name for the boot disk's device model ([firmware] boot_device, cdrom_device): IDE
    on pc, SATA (AHCI) on q35; else virtio (over PCI: on ARM, where the image drives virtio-mmio only)."""
    cdrom = disk_format == "iso"
    bus, dev = _BUSES.get(table.cdrom_device if cdrom else table.boot_device, ("virtio", "vda"))
    if bus == "sata" and machine.split(",")[0] == "pc":
        bus, dev = "ide", "hdc" if cdrom else "hda"
    return bus, dev


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
