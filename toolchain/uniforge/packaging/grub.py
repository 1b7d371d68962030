"""GRUB 2 from Debian, put on a disk by our own code: the BIOS boot sector and core image (grub-pc-bin), the UEFI
application (grub-efi-amd64-bin), both made with grub-mkimage, and the grub.cfg both read from the EFI system
partition. What grub-install and grub-bios-setup would do to a real disk is done here to bytes: the boot sector is
GRUB's boot.img with the core image's address patched in, and the core image's first sector lists the sectors of
the rest (GRUB's include/grub/i386/pc/boot.h names the offsets)."""
from pathlib import Path

from . import tools

BIOS_DIR = Path("/usr/lib/grub/i386-pc")
EFI_DIR = Path("/usr/lib/grub/x86_64-efi")
PACKAGES = {BIOS_DIR: tools.LOADER_FILES[f"{BIOS_DIR}/moddep.lst"], EFI_DIR: tools.LOADER_FILES[f"{EFI_DIR}/moddep.lst"]}

# What grub.cfg needs: the GPT and FAT of the disk, ISO 9660 (UEFI firmware starts GRUB from an ISO's El Torito
# image, and GRUB then reads the ISO's file system), the script language of `normal`,
# multiboot2, and the commands that read `uniforge run`'s command line from an SMBIOS OEM string.
MODULES = ("part_gpt", "fat", "iso9660", "normal", "test", "multiboot2", "smbios", "regexp", "eval")
BIOS_MODULES = ("biosdisk",)

SECTOR = 512
# boot.img (the MBR's code): the LBA of the core image's first sector, and a jump that skips the check of the BIOS
# drive number, replaced by two NOPs for a hard disk (some BIOSes pass a floppy's number though they booted one).
KERNEL_SECTOR = 0x5C
DRIVE_CHECK = 0x66
# diskboot.img (the core image's first sector) ends with a block list: where the rest of the core lies.
BLOCKLIST_START = SECTOR - 12           # u64 first sector, u16 count, u16 segment to load to
LOAD_SEGMENT = 0x820

# The BIOS core image starts from the disk it was booted from ($root: "hd0") with no partition: the ESP is the
# GPT's second partition. UEFI's starts from the ESP itself.
BIOS_EARLY_CONFIG = 'set root="${root},gpt2"\nset prefix="(${root})/boot/grub"\n'


def eltorito_core(work: Path) -> bytes:
    """GRUB's core image for a BIOS booting an ISO (El Torito, no emulation): reads /boot/grub/grub.cfg on it."""
    out = work / "eltorito.img"
    tools.run([grub_mkimage(), "-O", "i386-pc-eltorito", "-d", str(modules_dir(BIOS_DIR)), "-p", "/boot/grub",
               "-o", str(out), *BIOS_MODULES, *MODULES], "making GRUB's El Torito core (grub-mkimage)")
    return out.read_bytes()


def grub_mkimage() -> str:
    return tools.tool("grub-mkimage", "grub-common")


def modules_dir(directory: Path) -> Path:
    return tools.data_file(directory / "moddep.lst", PACKAGES[directory]).parent


def bios_core(work: Path) -> bytes:
    """GRUB's core image for BIOS: reads grub.cfg from the ESP (partition 2) of the disk it booted from."""
    early = work / "early-bios.cfg"
    early.write_text(BIOS_EARLY_CONFIG)
    out = work / "core.img"
    tools.run([grub_mkimage(), "-O", "i386-pc", "-d", str(modules_dir(BIOS_DIR)), "-p", "/boot/grub",
               "-c", str(early), "-o", str(out), *BIOS_MODULES, *MODULES], "making GRUB's BIOS core (grub-mkimage)")
    return out.read_bytes()


def efi_application(work: Path) -> bytes:
    """GRUB as a UEFI application (EFI/BOOT/BOOTX64.EFI): reads /boot/grub/grub.cfg from its own partition."""
    out = work / "BOOTX64.EFI"
    tools.run([grub_mkimage(), "-O", "x86_64-efi", "-d", str(modules_dir(EFI_DIR)), "-p", "/boot/grub",
               "-o", str(out), *MODULES], "making GRUB's UEFI application (grub-mkimage)")
    return out.read_bytes()


def boot_sector_code(core_lba: int) -> bytes:
    """The MBR's boot code (its first 440 bytes): GRUB's boot.img, told where the core image starts."""
    code = bytearray((modules_dir(BIOS_DIR) / "boot.img").read_bytes()[:440])
    code[KERNEL_SECTOR:KERNEL_SECTOR + 8] = core_lba.to_bytes(8, "little")
    code[DRIVE_CHECK:DRIVE_CHECK + 2] = b"\x90\x90"
    return bytes(code)


def place_core(core: bytes, core_lba: int) -> bytes:
    """The core image as it lies at `core_lba`: its first sector's block list names the sectors after it."""
    sectors = -(-len(core) // SECTOR)
    core = bytearray(core.ljust(sectors * SECTOR, b"\0"))
    entry = (core_lba + 1).to_bytes(8, "little") + (sectors - 1).to_bytes(2, "little") + \
        LOAD_SEGMENT.to_bytes(2, "little")
    core[BLOCKLIST_START:SECTOR] = entry
    return bytes(core)


def config(kernel: str) -> str:
    """grub.cfg: boot `kernel` (a path on the boot partition) with multiboot2, with no menu. The kernel command
    line is empty (the image has the app's built in), or the one `uniforge run` passes as an SMBIOS OEM string
    "uniforge:cmdline=WORDS" (WORDS in GRUB's quoting; QEMU's -smbios type=11, libvirt's <oemStrings>)."""
    return f"""\
# Boots {kernel} (multiboot2). Its console is the first serial port.
# The kernel command line: library-OS options and environment, then -- and the app's arguments. Empty here: the
# image has the app's own built in. `uniforge run` passes one as an SMBIOS OEM string "uniforge:cmdline=...".
set uf_cmdline=""
# Keep the firmware's video mode: without one (no VGA device) GRUB on UEFI would fail to set any and say so.
set gfxpayload=keep
if smbios --type 11 --get-string 4 --set uf_oem; then
    if regexp --set 1:uf_cmdline '^uniforge:cmdline=(.*)$' "$uf_oem"; then
        set uf_from=smbios
    fi
fi
eval "multiboot2 {kernel} $uf_cmdline"
boot
"""
