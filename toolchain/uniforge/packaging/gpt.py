"""GUID partition tables, written by our own code (UEFI specification 2.10, section 5.3): a protective MBR (whose
first 440 bytes may hold a BIOS boot loader's code), the primary header and entries after it, their backup copies at
the disk's end. The GUIDs are derived from a seed, never random, so that one input gives one disk."""
import hashlib
import uuid
import zlib
from dataclasses import dataclass

SECTOR = 512
ENTRIES = 128                           # the usual array: 128 entries of 128 bytes, 32 sectors
ENTRY_SIZE = 128
ENTRY_SECTORS = ENTRIES * ENTRY_SIZE // SECTOR
FIRST_USABLE = 2 + ENTRY_SECTORS        # after the MBR, the header and the entries
MBR_CODE = 440                          # boot code in the MBR, before the disk signature and partition table

BIOS_BOOT = uuid.UUID("21686148-6449-6e6f-744e-656564454649")      # GRUB's core image, for BIOS boots
EFI_SYSTEM = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")     # FAT, read by UEFI firmware
LEGACY_BIOS_BOOTABLE = 1 << 2           # attribute bit 2: the partition U-Boot's distro boot (and BIOSes) look in


@dataclass(frozen=True)
class Partition:
    type: uuid.UUID
    name: str
    data: bytes                         # its contents; the partition is as long, rounded up to whole sectors
    attributes: int = 0


@dataclass(frozen=True)
class Placed:
    partition: Partition
    first_lba: int
    sectors: int


def layout(partitions: list[Partition], *, align: int = 8) -> tuple[list[Placed], int]:
    """Where each partition goes (first LBAs aligned to `align` sectors) and the disk's size in sectors, with room
    for the backup table and rounded up to whole MiB (what cloud image formats expect of a virtual size)."""
    placed, lba = [], FIRST_USABLE
    for p in partitions:
        lba = -(-lba // align) * align
        sectors = -(-len(p.data) // SECTOR)
        placed.append(Placed(p, lba, sectors))
        lba += sectors
    mib = (1 << 20) // SECTOR
    total = -(-(lba + ENTRY_SECTORS + 1) // mib) * mib
    return placed, total


def disk(partitions: list[Partition], *, seed: bytes, mbr_code: bytes = b"") -> tuple[bytes, list[Placed]]:
    """The whole disk image: protective MBR (with `mbr_code` in its first 440 bytes), GPT, partitions, backup GPT."""
    if len(mbr_code) > MBR_CODE:
        raise ValueError(f"MBR boot code is {len(mbr_code)} bytes, more than {MBR_CODE}")
    placed, total = layout(partitions)
    image = bytearray(total * SECTOR)
    image[0:SECTOR] = _protective_mbr(mbr_code, total)
    entries = b"".join(_entry(p, _guid(seed, f"partition {i}")) for i, p in enumerate(placed))
    entries = entries.ljust(ENTRIES * ENTRY_SIZE, b"\0")
    last_usable = total - ENTRY_SECTORS - 2
    disk_guid = _guid(seed, "disk")
    primary = _header(1, total - 1, last_usable, disk_guid, 2, entries)
    backup = _header(total - 1, 1, last_usable, disk_guid, total - 1 - ENTRY_SECTORS, entries)
    image[SECTOR:2 * SECTOR] = primary
    image[2 * SECTOR:FIRST_USABLE * SECTOR] = entries
    for p in placed:
        start = p.first_lba * SECTOR
        image[start:start + len(p.partition.data)] = p.partition.data
    image[(total - 1 - ENTRY_SECTORS) * SECTOR:(total - 1) * SECTOR] = entries
    image[(total - 1) * SECTOR:] = backup
    return bytes(image), placed


def _guid(seed: bytes, what: str) -> uuid.UUID:
    """A version-4-shaped GUID made from the seed, not from randomness."""
    return uuid.UUID(bytes=hashlib.sha256(seed + b"\0" + what.encode()).digest()[:16], version=4)


def _protective_mbr(code: bytes, total: int) -> bytes:
    mbr = bytearray(SECTOR)
    mbr[0:len(code)] = code
    # One partition of type 0xEE over the whole disk (or as much as 32 bits count): "this disk is GPT".
    entry = bytes([0x00, 0x00, 0x02, 0x00, 0xEE, 0xFF, 0xFF, 0xFF]) + (1).to_bytes(4, "little") + \
        min(total - 1, 0xFFFFFFFF).to_bytes(4, "little")
    mbr[446:462] = entry
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def _entry(p: Placed, unique: uuid.UUID) -> bytes:
    name = p.partition.name.encode("utf-16-le")
    if len(name) > 72:
        raise ValueError(f"partition name {p.partition.name!r} is longer than 36 UTF-16 units")
    return (p.partition.type.bytes_le + unique.bytes_le + p.first_lba.to_bytes(8, "little")
            + (p.first_lba + p.sectors - 1).to_bytes(8, "little") + p.partition.attributes.to_bytes(8, "little")
            + name.ljust(72, b"\0"))


def _header(my_lba: int, alternate_lba: int, last_usable: int, disk_guid: uuid.UUID, entries_lba: int,
            entries: bytes) -> bytes:
    def fields(crc: int) -> bytes:
        return (b"EFI PART" + (0x00010000).to_bytes(4, "little") + (92).to_bytes(4, "little")
                + crc.to_bytes(4, "little") + bytes(4) + my_lba.to_bytes(8, "little")
                + alternate_lba.to_bytes(8, "little") + FIRST_USABLE.to_bytes(8, "little")
                + last_usable.to_bytes(8, "little") + disk_guid.bytes_le + entries_lba.to_bytes(8, "little")
                + ENTRIES.to_bytes(4, "little") + ENTRY_SIZE.to_bytes(4, "little")
                + zlib.crc32(entries).to_bytes(4, "little"))
    header = fields(zlib.crc32(fields(0)))
    return header.ljust(SECTOR, b"\0")
