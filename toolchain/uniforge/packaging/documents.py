"""The documents clouds and orchestrators take beside a disk (no OpenStack or Kubernetes is needed to write them;
the tests check them against the consumers' own schemas):

  openstack   NAME.TARGET.FORMAT.openstack.json: the body of Glance's image create (v2) with the image properties
              Nova reads (compute-libvirt-image metadefs): disk format, firmware type, machine type, disk bus,
              kernel command line (empty: the image has the app's own built in), minimum RAM
  kubevirt    NAME.TARGET.kubevirt.yaml: a KubeVirt VirtualMachine (kubevirt.io/v1) that boots the containerDisk
              (oci.py) through firmware, with its console on the first serial port

JSON is YAML: the VirtualMachine is written as indented JSON, which every YAML reader takes."""
from __future__ import annotations

import json
import re

from ..building.targets import Target
from ..core import sizes
from ..core.errors import ImageError
from .libvirt import bus_for

FIRMWARE_TYPES = {"bios": "bios", "uefi": "uefi"}       # Glance's hw_firmware_type for [firmware] names
GLANCE_DISK_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhdx": "vhdx", "iso": "iso"}


def check(target: Target, fmt: str) -> None:
    """ImageError unless the consumer runs the target's disks: Glance knows BIOS and UEFI firmware only, KubeVirt
    runs x86_64 and 64-bit ARM guests only."""
    if fmt == "openstack" and not set(target.firmware.firmwares()) & set(FIRMWARE_TYPES):
        raise ImageError(f"{target.name} makes no OpenStack document: its disks boot with "
                         f"{', '.join(target.firmware.firmwares())}, and Glance's firmware types are "
                         f"{' and '.join(FIRMWARE_TYPES)}")
    if fmt == "kubevirt" and target.arch != "x86_64":
        raise ImageError(f"{target.name} makes no KubeVirt VirtualMachine: KubeVirt runs no {target.arch} guests")


def openstack(target: Target, booted: str, disk_format: str, *, memory: str, disk_bytes: int) -> str:
    table = target.firmware
    firmware = next(f for f in table.firmwares() if f in FIRMWARE_TYPES)
    machine = table.machines[0]
    bus, _ = bus_for(table, disk_format, machine)
    min_ram = max(sizes.mib(memory), table.uefi_min_mib if firmware == "uefi" else 0)     # what the firmware needs
    properties = {
        "name": booted, "disk_format": GLANCE_DISK_FORMATS[disk_format], "container_format": "bare",
        "min_ram": min_ram, "min_disk": max(1, -(-disk_bytes // (1 << 30))),
        "architecture": target.arch if target.arch == "x86_64" else "armv7l",
        "hw_firmware_type": FIRMWARE_TYPES[firmware], "hw_machine_type": machine, "hw_disk_bus": bus,
        "os_command_line": "",
    }
    return json.dumps(properties, indent=2, sort_keys=True) + "\n"


def kubevirt(target: Target, app: str, image_reference: str, *, memory: str) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", f"{app}-{target.name}".lower()).strip("-")
    machine = target.firmware.machines[0]
    vm = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": app}},
        "spec": {
            "runStrategy": "Once",          # the app's exit ends the VM for good, as `uniforge run` does
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": app}},
                "spec": {
                    "domain": {
                        "machine": {"type": machine},
                        "resources": {"requests": {"memory": f"{sizes.mib(memory)}Mi"}},
                        "devices": {
                            "disks": [{"name": "boot", "bootOrder": 1, "disk": {"bus": "sata"}}],
                            "autoattachGraphicsDevice": False,
                            "autoattachSerialConsole": True,
                        },
                    },
                    "volumes": [{"name": "boot", "containerDisk": {"image": image_reference,
                                                                   "path": f"/disk/{app}.{target.name}.qcow2"}}],
                },
            },
        },
    }
    return json.dumps(vm, indent=2, sort_keys=True) + "\n"
