"""The boot loaders put on disk images, one class each, chosen by the target's [firmware] `loader`: GRUB 2 (x86_64:
BIOS and UEFI, and ISOs) and U-Boot (ARMv7: QEMU's virt with Debian's u-boot-qemu). A loader lays out the boot
disk around the kernel, and says how `uniforge run` hands the guest a command line at boot without changing the
disk (the disk's own is empty: the image has the app's built in)."""
from __future__ import annotations

import abc
import os
import time
from pathlib import Path
from typing import ClassVar

from ..building.targets import Target
from ..core.errors import ImageError
from . import efistub, fat, gpt, grub, tools

# The OEM string (SMBIOS type 11) GRUB's config reads `uniforge run`'s command line from.
OEM_PREFIX = "uniforge:cmdline="
# Where `uniforge run` puts U-Boot's environment text for the boot script to import: RAM U-Boot leaves alone
# until the script runs (between QEMU's device tree at the start of RAM and the script's own load address).
UBOOT_ENV_ADDRESS = 0x40180000
UBOOT_ENV_SIZE = 0x1000


class Loader(abc.ABC):
    name: ClassVar[str]
    makes_iso: ClassVar[bool] = False

    def __init__(self, target: Target):
        self.target = target

    @abc.abstractmethod
    def disk(self, kernel: Path, elf: Path, *, seed: bytes, epoch: int, work: Path) -> bytes:
        """The raw boot disk for `kernel` (the form the loader boots: the ELF, or the zImage on ARM) of the image
        `elf`."""

    def iso(self, kernel: Path, out: Path, *, seed: bytes, epoch: int, work: Path) -> None:
        raise ImageError(f"{self.target.name} makes no ISO: its boot loader ({self.name}) boots disks only")

    @abc.abstractmethod
    def run_options(self, cmdline: str, work: Path, firmware: str) -> list[str]:
        """QEMU options that give the guest this kernel command line at boot (`uniforge run`) through `firmware`
        (one of the target's [firmware] names)."""

    @staticmethod
    def kernel_path(kernel: Path) -> str:
        return f"/boot/{kernel.name}"


class Grub(Loader):
    """A GPT disk: a BIOS boot partition with GRUB's core image (the MBR's code loads it) and an EFI system
    partition with GRUB as a UEFI application, grub.cfg and the kernel, which GRUB boots with multiboot2."""

    name = "grub"
    makes_iso = True

    def esp_files(self, kernel: Path, work: Path) -> dict[str, bytes]:
        path = self.kernel_path(kernel)
        return {"EFI/BOOT/BOOTX64.EFI": grub.efi_application(work), "boot/grub/grub.cfg": grub.config(path).encode(),
                path.lstrip("/"): kernel.read_bytes()}

    def disk(self, kernel: Path, elf: Path, *, seed: bytes, epoch: int, work: Path) -> bytes:
        core = grub.bios_core(work)
        esp = fat.image(self.esp_files(kernel, work), label="UNIFORGE", seed=seed, epoch=epoch)
        partitions = [gpt.Partition(gpt.BIOS_BOOT, "BIOS boot", core), gpt.Partition(gpt.EFI_SYSTEM, "EFI system", esp)]
        core_lba = gpt.layout(partitions)[0][0].first_lba
        partitions[0] = gpt.Partition(gpt.BIOS_BOOT, "BIOS boot", grub.place_core(core, core_lba))
        image, _ = gpt.disk(partitions, seed=seed, mbr_code=grub.boot_sector_code(core_lba))
        return image

    def iso(self, kernel: Path, out: Path, *, seed: bytes, epoch: int, work: Path) -> None:
        """A hybrid ISO made with xorriso as grub-mkrescue makes one (whose volume ID comes from the clock, so it
        is never the same twice): El Torito for BIOS (GRUB's El Torito core) and for UEFI (the same EFI system
        partition as the disk's, also a GPT partition for USB sticks), GRUB's hybrid MBR, the kernel and grub.cfg
        in the ISO 9660 tree; every date SOURCE_DATE_EPOCH's."""
        xorriso = tools.tool("xorriso", "xorriso")
        stage = work / "iso"
        (stage / "boot" / "grub").mkdir(parents=True)
        path = self.kernel_path(kernel)
        (stage / path.lstrip("/")).write_bytes(kernel.read_bytes())
        (stage / "boot" / "grub" / "grub.cfg").write_text(grub.config(path))
        (stage / "boot" / "grub" / "eltorito.img").write_bytes(grub.eltorito_core(work))
        (stage / "efi.img").write_bytes(fat.image(self.esp_files(kernel, work), label="UNIFORGE", seed=seed,
                                                  epoch=epoch))
        for item in [stage, *stage.rglob("*")]:
            os.utime(item, (epoch, epoch))
        hybrid_mbr = grub.modules_dir(grub.BIOS_DIR) / "boot_hybrid.img"
        date = time.strftime("%Y%m%d%H%M%S00", time.gmtime(epoch))
        tools.run([xorriso, "-as", "mkisofs", "-graft-points", "-V", "UNIFORGE", f"--modification-date={date}",
                   "-b", "boot/grub/eltorito.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                   "--grub2-boot-info", "--grub2-mbr", str(hybrid_mbr),
                   "--efi-boot", "efi.img", "-efi-boot-part", "--efi-boot-image", "--protective-msdos-label",
                   "-r", "-o", str(out), str(stage)],
                  "making the ISO (xorriso)", env={"SOURCE_DATE_EPOCH": str(epoch)})

    def run_options(self, cmdline: str, work: Path, firmware: str) -> list[str]:
        return smbios_oem_string(oem_string(cmdline))


class UBoot(Loader):
    """A GPT disk with one FAT partition (an EFI system partition, also marked legacy-BIOS-bootable, where U-Boot's
    distro boot looks) holding the zImage and boot.scr, the boot script (made with mkimage from Debian's
    u-boot-tools), which loads the zImage and starts it with `bootz` and U-Boot's device tree; and for UEFI
    (Debian's qemu-efi-arm), EFI/BOOT/BOOTARM.EFI, the zImage behind our EFI stub (efistub.py), which the firmware
    boots from the removable-media path. U-Boot runs boot.scr first (its distro boot tries scripts before EFI)."""

    name = "u-boot"

    def script(self, kernel: Path) -> str:
        return f"""\
# Boots {self.kernel_path(kernel)} (Linux's ARM boot protocol). Its console is the first UART.
# The kernel command line: library-OS options and environment, then -- and the app's arguments. Empty here: the
# image has the app's own built in. `uniforge run` passes one as environment text at {UBOOT_ENV_ADDRESS:#x}.
setenv uf_cmdline ""
env import -t {UBOOT_ENV_ADDRESS:#x} {UBOOT_ENV_SIZE:#x} uf_cmdline
setenv bootargs "${{uf_cmdline}}"
load ${{devtype}} ${{devnum}}:${{distro_bootpart}} ${{kernel_addr_r}} {self.kernel_path(kernel)}
bootz ${{kernel_addr_r}} - ${{fdtcontroladdr}}
"""

    def disk(self, kernel: Path, elf: Path, *, seed: bytes, epoch: int, work: Path) -> bytes:
        mkimage = tools.tool("mkimage", "u-boot-tools")
        source, script = work / "boot.cmd", work / "boot.scr"
        source.write_text(self.script(kernel))
        tools.run([mkimage, "-A", "arm", "-O", "linux", "-T", "script", "-C", "none", "-n", "uniforge boot script",
                   "-d", str(source), str(script)], "making the U-Boot boot script (mkimage)",
                  env={"SOURCE_DATE_EPOCH": str(epoch)})
        zimage = kernel.read_bytes()
        files = {"boot/boot.scr": script.read_bytes(), self.kernel_path(kernel).lstrip("/"): zimage,
                 "EFI/BOOT/BOOTARM.EFI": efistub.application(self.target, zimage, elf)}
        boot = fat.image(files, label="UNIFORGE", seed=seed, epoch=epoch)
        image, _ = gpt.disk([gpt.Partition(gpt.EFI_SYSTEM, "boot", boot, gpt.LEGACY_BIOS_BOOTABLE)], seed=seed)
        return image

    def run_options(self, cmdline: str, work: Path, firmware: str) -> list[str]:
        if firmware == "uefi":          # the EFI stub takes the OEM string's text as the command line, as it is
            return smbios_oem_string(OEM_PREFIX + cmdline)
        env = work / "uboot-env.txt"
        text = f"uf_cmdline={cmdline}\n"
        if "\n" in text[:-1] or len(text) >= UBOOT_ENV_SIZE:
            raise ImageError("U-Boot takes a command line of one line, under 4 KiB")
        env.write_bytes(text.encode() + b"\0")
        path = str(env).replace(",", ",,")         # QEMU's option syntax
        return ["-device", f"loader,file={path},addr={UBOOT_ENV_ADDRESS:#x},force-raw=on"]


LOADERS: dict[str, type[Loader]] = {loader.name: loader for loader in (Grub, UBoot)}


def loader_for(target: Target) -> Loader:
    """The boot loader the target's [firmware] table names; ImageError if the target makes no disks."""
    if target.firmware is None:
        raise ImageError(f"{target.name} makes no disk images: its images boot only as a kernel",
                         hint="targets with a [firmware] table make them, e.g. qemu-x86_64-q35 and qemu-armv7")
    if target.firmware.loader not in LOADERS:
        raise ImageError(f"{target.path} [firmware]: key 'loader': no boot loader named '{target.firmware.loader}'",
                         hint=f"known: {', '.join(LOADERS)}")
    return LOADERS[target.firmware.loader](target)


def smbios_oem_string(text: str) -> list[str]:
    """QEMU's options for an SMBIOS OEM string (type 11) `text` (a comma doubled: QEMU's option syntax)."""
    return ["-smbios", "type=11,value=" + text.replace(",", ",,")]


def oem_string(cmdline: str) -> str:
    """The SMBIOS OEM string grub.cfg takes a kernel command line from. GRUB joins the words it is given, each
    quoted the way the guest reads it back (in double quotes if it has a space; a backslash before backslashes
    and quotes): so it is given the guest's own words (libos/process/cmdline.c), in GRUB's script quoting."""
    return OEM_PREFIX + " ".join("'" + word.replace("'", "'\\''") + "'" for word in _guest_words(cmdline))


def _guest_words(text: str) -> list[str]:
    """The words the guest makes of a command line: outside double quotes, whitespace separates; a double quote
    opens or closes a quoted part; a backslash makes the next character literal (uf_cmdline_split)."""
    words, i, spaces = [], 0, " \t\n\v\f\r"
    while i < len(text):
        while i < len(text) and text[i] in spaces:
            i += 1
        if i == len(text):
            break
        word, quoted = [], False
        while i < len(text) and (quoted or text[i] not in spaces):
            if text[i] == '"':
                quoted = not quoted
            elif text[i] == "\\" and i + 1 < len(text):
                i += 1
                word.append(text[i])
            else:
                word.append(text[i])
            i += 1
        i += 1
        words.append("".join(word))
    return words
