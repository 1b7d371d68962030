"""The disk formats clouds take, converted from the raw disk with qemu-img (Debian's qemu-utils), then made
reproducible: qemu-img writes a random content ID into a VMDK's descriptor and random write GUIDs and a random
disk ID (SCSI page 83) into a VHDX's headers and metadata; here they are derived from the disk's own bytes
instead (VMDK: VMware's Virtual Disk Format 5.0; VHDX: Microsoft's VHDX Format Specification 1.0, sections 2.2,
2.6)."""
import hashlib
import re
import uuid
from pathlib import Path

from . import tools

QEMU_IMG_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhdx": "vhdx"}

_VHDX_HEADERS = (0x10000, 0x20000)              # two copies, the current one with the larger sequence number
_VHDX_HEADER_SIZE = 4096
_VHDX_REGION_TABLE = 0x30000
_VHDX_METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e")
_VHDX_PAGE83 = uuid.UUID("beca12ab-b2e6-4523-93ef-c309e000c746")


def convert(raw: Path, fmt: str, out: Path) -> None:
    """`raw` converted to `fmt` at `out` (whose name a VMDK records: write it where it will stay named so)."""
    qemu_img = tools.tool("qemu-img", "qemu-utils")
    if fmt == "raw":
        out.write_bytes(raw.read_bytes())
        return
    tools.run([qemu_img, "convert", "-f", "raw", "-O", QEMU_IMG_FORMATS[fmt], str(raw), str(out)],
              f"converting the disk to {fmt} (qemu-img)")
    seed = hashlib.sha256(raw.read_bytes()).digest()
    if fmt == "vmdk":
        _vmdk_content_id(out, seed)
    elif fmt == "vhdx":
        _vhdx_ids(out, seed)


def _vmdk_content_id(path: Path, seed: bytes) -> None:
    """The descriptor's random CID (written without leading zeros, so of varying width) replaced by 8 digits from
    the seed, the descriptor re-padded with NULs to its sectors (the sparse header's descriptorOffset/Size)."""
    data = bytearray(path.read_bytes())
    if data[:4] != b"KDMV":
        raise AssertionError(f"{path}: not a sparse VMDK")
    offset = int.from_bytes(data[28:36], "little") * 512
    size = int.from_bytes(data[36:44], "little") * 512
    text = bytes(data[offset:offset + size]).split(b"\0", 1)[0]
    cid = hashlib.sha256(seed + b"vmdk cid").hexdigest()[:8].encode()
    text, count = re.subn(rb"\nCID=[0-9a-f]{1,8}\n", b"\nCID=" + cid + b"\n", text)
    if count != 1 or len(text) > size:
        raise AssertionError(f"{path}: no CID line in the VMDK descriptor")
    data[offset:offset + size] = text.ljust(size, b"\0")
    path.write_bytes(bytes(data))


def _vhdx_ids(path: Path, seed: bytes) -> None:
    data = bytearray(path.read_bytes())
    log_guid = _guid(seed, "log").bytes_le
    headers = [data[offset:offset + _VHDX_HEADER_SIZE] for offset in _VHDX_HEADERS]
    if any(header[:4] != b"head" for header in headers):
        raise AssertionError(f"{path}: no VHDX headers at {_VHDX_HEADERS}")
    # Random sequence numbers too: 1 and 2 instead, in the same order (the larger marks the current header).
    order = sorted(range(len(headers)), key=lambda i: int.from_bytes(headers[i][8:16], "little"))
    for rank, i in enumerate(order):
        header = headers[i]
        header[8:16] = (rank + 1).to_bytes(8, "little")
        header[16:32] = _guid(seed, "file write").bytes_le
        header[32:48] = _guid(seed, "data write").bytes_le
        if any(header[48:64]):
            header[48:64] = log_guid
        _checksum(header, 4)
        data[_VHDX_HEADERS[i]:_VHDX_HEADERS[i] + _VHDX_HEADER_SIZE] = header
    # The log's entries (also a stale one qemu-img leaves while the headers name no log) carry a log GUID.
    log_length = int.from_bytes(headers[0][68:72], "little")
    entry = log_offset = int.from_bytes(headers[0][72:80], "little")
    while entry < log_offset + log_length and data[entry:entry + 4] == b"loge":
        length = int.from_bytes(data[entry + 8:entry + 12], "little")
        block = data[entry:entry + length]
        block[32:48] = log_guid
        _checksum(block, 4)
        data[entry:entry + length] = block
        entry += length or log_length
    metadata = _vhdx_region(data, _VHDX_METADATA_REGION)
    count = int.from_bytes(data[metadata + 10:metadata + 12], "little")
    for i in range(count):
        entry = metadata + 32 + 32 * i
        if uuid.UUID(bytes_le=bytes(data[entry:entry + 16])) == _VHDX_PAGE83:
            item = metadata + int.from_bytes(data[entry + 16:entry + 20], "little")
            data[item:item + 16] = _guid(seed, "page 83").bytes_le
    path.write_bytes(bytes(data))


def _checksum(block: bytearray, at: int) -> None:
    """VHDX's checksum of a structure: CRC-32C of it with the checksum field zero, stored in that field."""
    block[at:at + 4] = bytes(4)
    block[at:at + 4] = crc32c(bytes(block)).to_bytes(4, "little")


def _vhdx_region(data: bytearray, wanted: uuid.UUID) -> int:
    table = _VHDX_REGION_TABLE
    count = int.from_bytes(data[table + 8:table + 12], "little")
    for i in range(count):
        entry = table + 16 + 32 * i
        if uuid.UUID(bytes_le=bytes(data[entry:entry + 16])) == wanted:
            return int.from_bytes(data[entry + 16:entry + 24], "little")
    raise AssertionError(f"no VHDX region {wanted}")


def _guid(seed: bytes, what: str) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.sha256(seed + what.encode()).digest()[:16], version=4)


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), which VHDX checksums its headers with."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF
