"""A disk image booted through firmware (`uniforge run build/NAME.TARGET.qcow2`): the target's [firmware] table
says which machines and firmware boot its disks (SeaBIOS or OVMF with GRUB on x86_64, U-Boot on ARMv7), with the
boot disk on a device model the image has no driver for, so the app's own disks (`--disk`) and NIC stay as with
direct boot. The disk is never written (a snapshot), and the guest's command line reaches it the way its boot
loader reads one at boot (packaging/loaders.py: an SMBIOS OEM string for GRUB, environment text for U-Boot)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import packaging
from ..building.targets import Target
from ..core import sizes
from ..core.errors import RunError
from ..packaging import tools
from ..packaging.loaders import loader_for
from ..running.devices import check_tap, escape, qemu_options
from .qemu import base_command
from .run import kernel_cmdline
from .way import BootRequest, QemuProcessWay, Support


class FirmwareBoot(QemuProcessWay):
    runner = "firmware"
    tables = ("firmware",)
    # The firmware and the boot loader read the serial line too (a key stops GRUB's countdown, U-Boot's autoboot):
    # the host's stdin waits until the app asks for it, when they are long gone.
    console_input = True
    input_when_wanted = True

    def __init__(self, target: Target, *, firmware: str | None = None, machine: str | None = None):
        super().__init__(target)
        table = target.firmware
        self.firmware = firmware or table.firmwares()[0]
        if self.firmware not in table.firmwares():
            raise RunError(f"{target.name}'s disks boot with firmware {' or '.join(table.firmwares())}, "
                           f"not '{self.firmware}'")
        self.machine = machine or table.machines[0]
        if self.machine not in table.machines:
            raise RunError(f"{target.name}'s disks boot on machine {' or '.join(table.machines)}, "
                           f"not '{self.machine}'")
        self.loader = loader_for(target)

    def files(self) -> list[str]:
        table = self.target.firmware
        return {"bios": [table.bios], "uefi": [table.uefi, table.uefi_vars], "uboot": [table.uboot]}[self.firmware]

    def host_needs(self) -> Support:
        missing = [f for f in self.files() if not Path(f).exists()]
        if missing:
            return Support(False, f"{missing[0]} is missing: install Debian's {tools.package_of(missing[0])}")
        return Support(True, f"{self.firmware} firmware, {self.loader.name} from the disk")

    def memory(self, request: BootRequest) -> str:
        """The guest's RAM, raised to what the UEFI firmware needs if less."""
        memory = super().memory(request)
        floor = self.target.firmware.uefi_min_mib if self.firmware == "uefi" else 0
        return f"{floor}M" if sizes.mib(memory) < floor else memory

    def check(self, request: BootRequest) -> None:
        if request.network.mode == "tap":
            check_tap(request.network)

    def command(self, image: Path, request: BootRequest, work: Path) -> list[str]:
        fmt = packaging.disk_format(image)
        if fmt is None:
            raise RunError(f"{image.name} is not a disk image (.{', .'.join(packaging.BOOTABLE)})")
        if not image.is_file():
            raise RunError(f"{image}: no such disk image")
        table, q = self.target.firmware, self.target.qemu
        # The guest's status channel as with direct boot (the target's [qemu] `status`): its whole exit status.
        command = [*base_command(self.target, self.memory(request), machine=self.machine, args=table.args),
                   *q.status, *self._firmware_options(work), *self._boot_disk(image, fmt)]
        return [*command, *self.loader.run_options(kernel_cmdline(request.cmdline, request.args), work,
                                                          self.firmware),
                *qemu_options(q.nic_device, q.disk_device, request.network, request.disks),
                *request.extra_qemu_args]

    def _firmware_options(self, work: Path) -> list[str]:
        files = [tools.firmware_file(f) for f in self.files()]
        if self.firmware != "uefi":
            return ["-bios", str(files[0])]
        variables = work / "uefi-vars.fd"          # the firmware writes its variables: a copy per boot
        shutil.copyfile(files[1], variables)
        return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={escape(files[0])}",
                "-drive", f"if=pflash,format=raw,unit=1,file={escape(variables)}"]

    def _boot_disk(self, image: Path, fmt: str) -> list[str]:
        table = self.target.firmware
        if fmt == "iso":
            drive, device = "format=raw,readonly=on", table.cdrom_device
        else:
            drive, device = f"format={fmt},snapshot=on", table.boot_device
        return ["-drive", f"if=none,id=uf-boot,{drive},file={escape(image)}",
                "-device", f"{device},drive=uf-boot,bootindex=0"]
