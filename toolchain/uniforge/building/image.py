"""Post-link: the manifest every image carries (section .uniforge, JSON) and the checks of the boot format."""
import json
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..core.errors import ImageError

SECTION = ".uniforge"
PVH_NOTE = ("Xen", 18)          # XEN_ELFNOTE_PHYS32_ENTRY


def encode(manifest: dict, reserve: int = 0) -> bytes:
    """The manifest as compact JSON, space-padded by `reserve` bytes so it can be rewritten in place later."""
    data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return data + b" " * reserve


def rewrite(image: Path, manifest: dict) -> None:
    """Replace the manifest in place (same size; the bytes after the link are known only then)."""
    offset, size = _section(image)
    data = encode(manifest)
    if len(data) > size:
        raise AssertionError(f"manifest grew past its reserved {size} bytes")
    with open(image, "r+b") as f:
        f.seek(offset)
        f.write(data.ljust(size))


def read(image: Path) -> dict:
    offset, size = _section(image)
    with open(image, "rb") as f:
        f.seek(offset)
        raw = f.read(size)
    try:
        return json.loads(raw)
    except ValueError:
        raise ImageError(f"{image}: the uniforge manifest is damaged") from None


def _section(image: Path) -> tuple[int, int]:
    try:
        with open(image, "rb") as f:
            section = ELFFile(f).get_section_by_name(SECTION)
            if section is None:
                raise ImageError(f"{image}: not a uniforge image (no {SECTION} section)")
            return section["sh_offset"], section["sh_size"]
    except FileNotFoundError:
        raise ImageError(f"{image}: no such file") from None
    except (ELFError, OSError) as e:
        raise ImageError(f"{image}: not an ELF image ({e})") from None


ZIMAGE_MAGIC = 0x016F2818      # Linux ARM zImage, little-endian at offset 0x24


# Boot protocols whose loaders take a flat file rather than the ELF: the suffix of that second form.
RAW_FORMS = {"zimage": ".zImage"}


def package(image: Path, protocol: str, raw: Path | None = None) -> Path | None:
    """Checks the image for its boot protocol and writes the flat form the protocol's loaders take, if any (to
    `raw`, by default beside the image: its name + the form's suffix). Returns that file."""
    suffix = RAW_FORMS.get(protocol)
    if suffix is None:
        check_boot(image, protocol)
        return None
    raw = raw or image.with_name(image.name + suffix)
    write_raw(image, raw)
    check_boot(raw, protocol)
    return raw


def write_raw(elf: Path, out: Path) -> None:
    """The loaded bytes of an ELF as one flat file from its lowest load address (what a zImage loader copies);
    gaps between segments become zeros, bss is left for the image to clear."""
    with open(elf, "rb") as f:
        loads = sorted((s["p_paddr"], s.data()) for s in ELFFile(f).iter_segments("PT_LOAD") if s["p_filesz"])
    base = loads[0][0]
    raw = bytearray()
    for addr, data in loads:
        raw[len(raw):addr - base] = bytes(addr - base - len(raw))
        raw[addr - base:addr - base + len(data)] = data
    out.write_bytes(bytes(raw))


def check_boot(image: Path, protocol: str) -> None:
    """The image must carry what its boot protocol needs: a PVH entry note (pvh), the zImage magic (zimage)."""
    if protocol == "zimage":
        with open(image, "rb") as f:
            head = f.read(0x30)
        if len(head) < 0x30 or int.from_bytes(head[0x24:0x28], "little") != ZIMAGE_MAGIC:
            raise ImageError(f"{image}: no zImage magic at offset 0x24: boot loaders will refuse it",
                             hint="the target's boot module must start the image with the zImage header")
        return
    if protocol != "pvh":
        return
    with open(image, "rb") as f:
        for segment in ELFFile(f).iter_segments("PT_NOTE"):
            if any((note["n_name"], note["n_type"]) == PVH_NOTE for note in segment.iter_notes()):
                return
    raise ImageError(f"{image}: no PVH entry note (Xen, type 18) in a PT_NOTE segment: QEMU cannot boot it",
                     hint="the target's boot module must emit .note.Xen and the linker script keep it")


def loaded_sections(image: Path) -> tuple[set[str], set[str]]:
    """Names of the sections loaded into memory, and of those among them that take no file bytes (bss)."""
    with open(image, "rb") as f:
        sections = [s for s in ELFFile(f).iter_sections() if s["sh_flags"] & 0x2]      # SHF_ALLOC
        return {s.name for s in sections}, {s.name for s in sections if s["sh_type"] == "SHT_NOBITS"}
