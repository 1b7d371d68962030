"""The EFI stub that makes an ARMv7 zImage a UEFI application (\\EFI\\BOOT\\BOOTARM.EFI on the disk): our own small
loader (efistub/: stub_entry.S and stub.c) in a PE/COFF file written here from the PE/COFF specification, with the
zImage after it as it is, so the image's own bytes (and direct kernel boot) do not change. The firmware loads the
file anywhere and calls the stub, which leaves boot services and enters the zImage as U-Boot's bootz would (see
stub.c). The stub is built once per toolchain and target CPU, in the build cache."""
from __future__ import annotations

import struct
from pathlib import Path

from elftools.elf.elffile import ELFFile

from ..building.compiler import CompileJob, Toolchain
from ..building.targets import Target
from ..core import cache
from ..core.errors import ImageError

SOURCES = ("stub_entry.S", "stub.c")
# Soft-float and no unaligned accesses: the firmware's state is the stub's (UEFI on AArch32 promises neither VFP
# nor alignment-fault checks off). Position independent, with no relocations: the firmware loads it anywhere.
TRIPLE = "arm-freestanding-eabi"
CFLAGS = ("-marm", "-mfloat-abi=soft", "-mno-unaligned-access", "-Os", "-fPIC", "-ffreestanding",
          "-fno-stack-protector", "-fvisibility=hidden", "-ffunction-sections")
PARAMS_OFFSET = 4                           # struct stub_params in the stub (stub_entry.S)
DTB_ROOM = 1 << 20                          # below the link address: where QEMU puts an ELF image's device tree

# PE/COFF (Microsoft's "PE Format" specification): values used here.
MACHINE_ARMTHUMB_MIXED = 0x01C2             # what UEFI calls 32-bit ARM images
FILE_EXECUTABLE_IMAGE, FILE_32BIT_MACHINE, FILE_DEBUG_STRIPPED = 0x0002, 0x0100, 0x0200
PE32_MAGIC = 0x10B
SUBSYSTEM_EFI_APPLICATION = 10
SECTION_CODE, SECTION_EXECUTE, SECTION_READ = 0x00000020, 0x20000000, 0x40000000
ALIGN = 0x1000                              # sections and their file offsets alike: the file is the image in memory
DATA_DIRECTORIES = 16
OPTIONAL_HEADER_SIZE = 96 + 8 * DATA_DIRECTORIES
PE_OFFSET = 0x40                            # after the MS-DOS header, whose e_lfanew (at 0x3c) points here


def source_dir() -> Path:
    return Path(__file__).parent / "efistub"


def stub(target: Target) -> bytes:
    """The stub's flat bytes (entry first), built on first use."""
    sources = [source_dir() / name for name in SOURCES]
    script = source_dir() / "stub.ld"
    toolchain = Toolchain(TRIPLE, target.compiler.cpu)
    args = (*toolchain.target_args(), *CFLAGS, f"-I{source_dir()}")
    key = cache.digest(toolchain.version, *args, *(p.read_bytes() for p in [*sources, script, source_dir() / "efi.h"]))

    def build(out: Path) -> None:
        objects = [out / f"{source.stem}.o" for source in sources]
        for source, obj in zip(sources, objects):
            toolchain.compile(CompileJob(source, obj, args))
        toolchain.link(out / "stub.elf", ["-T", str(script), "--gc-sections", *map(str, objects)])
        with open(out / "stub.elf", "rb") as f:
            (out / "stub.bin").write_bytes(ELFFile(f).get_section_by_name(".text").data())

    folder, _ = cache.entry("efistub", key, build)
    return (folder / "stub.bin").read_bytes()


def application(target: Target, zimage: bytes, elf: Path) -> bytes:
    """BOOTARM.EFI for the image `elf` (its zImage's bytes `zimage`): a PE32 file with one section, the stub and
    then the zImage, each on a page."""
    load_address, image_end = _extent(elf)
    code = bytearray(stub(target))
    payload_offset = _align(len(code))
    struct.pack_into("<5I", code, PARAMS_OFFSET, payload_offset, len(zimage), load_address, image_end, DTB_ROOM)
    section = bytes(code) + bytes(payload_offset - len(code)) + zimage
    section += bytes(_align(len(section)) - len(section))
    return _pe32(section)


def _extent(elf: Path) -> tuple[int, int]:
    """Where the image's first loaded byte goes, and where its memory (.bss, the boot stack) ends."""
    with open(elf, "rb") as f:
        loads = [(s["p_paddr"], s["p_memsz"]) for s in ELFFile(f).iter_segments("PT_LOAD")]
    if not loads:
        raise ImageError(f"{elf}: no loadable segment")
    start = min(address for address, _ in loads)
    if start < DTB_ROOM:
        raise ImageError(f"{elf}: linked at {start:#x}, leaving no room for the device tree below it")
    return start, max(address + size for address, size in loads)


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _pe32(section: bytes) -> bytes:
    """The headers (one page: MS-DOS stub header, PE signature, COFF header, PE32 optional header, section table)
    and the section. No base relocations: the code is position independent. Every date is 0 (reproducible)."""
    dos = bytearray(PE_OFFSET)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, PE_OFFSET)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", MACHINE_ARMTHUMB_MIXED, 1, 0, 0, 0, OPTIONAL_HEADER_SIZE,
                       FILE_EXECUTABLE_IMAGE | FILE_32BIT_MACHINE | FILE_DEBUG_STRIPPED)
    rva = ALIGN
    optional = struct.pack(
        "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
        PE32_MAGIC, 0, 0, len(section), 0, 0,
        rva, rva, rva + len(section),                   # entry point (the stub's first byte), code, data bases
        0, ALIGN, ALIGN,                                # image base (anywhere), section and file alignment
        0, 0, 0, 0, 0, 0, 0,                            # OS, image and subsystem versions, Win32VersionValue
        rva + len(section), ALIGN, 0,                   # size of image, of headers, checksum
        SUBSYSTEM_EFI_APPLICATION, 0,                   # subsystem, DLL characteristics
        0, 0, 0, 0, 0, DATA_DIRECTORIES)                # stack and heap sizes, loader flags
    optional += bytes(8 * DATA_DIRECTORIES)             # no exports, imports, relocations, ...
    section_header = struct.pack("<8sIIIIIIHHI", b".text", len(section), rva, len(section), rva, 0, 0, 0, 0,
                                 SECTION_CODE | SECTION_EXECUTE | SECTION_READ)
    headers = bytes(dos) + coff + optional + section_header
    return headers + bytes(ALIGN - len(headers)) + section
