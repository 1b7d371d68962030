"""localize.py on objects written byte by byte for the purpose (ELF64 and ELF32, both byte orders, every table that
names a symbol by its index), read back with pyelftools, an ELF reader of its own."""
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from uniforge.building.localize import localize
from uniforge.core.errors import LinkError

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH, SHT_REL = 1, 2, 3, 4, 5, 9
SHT_GROUP, SHT_SYMTAB_SHNDX = 17, 18
SHT_LLVM_ADDRSIG = 0x6FFF4C03
LOCAL, GLOBAL, WEAK = 0, 1, 2
NOTYPE, OBJECT, FUNC, SECTION, FILE = 0, 1, 2, 3, 4
UNDEF, ABS, COMMON = 0, 0xFFF1, 0xFFF2
TEXT, DATA = 1, 2                   # section indices of .text and .data below

# (name, bind, type, section): the locals first, as ELF wants, then the globals in no particular order.
SYMBOLS = [("", LOCAL, NOTYPE, UNDEF), ("t.c", LOCAL, FILE, ABS), ("", LOCAL, SECTION, TEXT),
           ("helper", LOCAL, FUNC, TEXT),
           ("uf_pub", GLOBAL, FUNC, TEXT), ("uf_priv", GLOBAL, FUNC, TEXT), ("ext", GLOBAL, NOTYPE, UNDEF),
           ("uf_weak", WEAK, FUNC, TEXT), ("uf_data", GLOBAL, OBJECT, DATA), ("uf_priv2", GLOBAL, OBJECT, DATA),
           ("weak_ref", WEAK, NOTYPE, UNDEF), ("uf_abs", GLOBAL, NOTYPE, ABS)]
FIRST_GLOBAL = 4
KEEP = {"uf_pub", "uf_data", "ext", "weak_ref"}
HIDDEN = ["uf_abs", "uf_priv", "uf_priv2", "uf_weak"]
GROUP_SIGNATURE = 5                 # uf_priv: a COMDAT group named by a symbol that becomes local
RELOCATED = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 5, 4]     # the symbols the relocation entries name, in order

FORMATS = {  # (class, byte order, machine, relocation type, R_* type)
    "elf64-x86_64": (2, "<", 62, SHT_RELA, 2),
    "elf32-arm": (1, "<", 40, SHT_REL, 2),
    "elf32-armbe": (1, ">", 40, SHT_REL, 2),
}


def write_object(path: Path, fmt: str, *, kind: int = 1, symbols=SYMBOLS, extra_section=None,
                 many_sections: bool = False) -> Path:
    """A relocatable object: .text, .data, a group, relocations, .symtab, .strtab, .symtab_shndx, .llvm_addrsig;
    many_sections: the section count in section 0's sh_size (e_shnum 0), as for more than 0xff00 sections."""
    cls, order, machine, rel_type, r_type = FORMATS[fmt]
    wide = cls == 2
    strtab = bytearray(b"\0")
    offsets = []
    for name, *_ in symbols:
        offsets.append(len(strtab) if name else 0)
        strtab += name.encode() + b"\0" if name else b""
    sym = struct.Struct(order + ("IBBHQQ" if wide else "IIIBBH"))
    symtab = b"".join(
        sym.pack(offsets[i], (bind << 4) | typ, 0, shndx, 16 * i, 4) if wide else
        sym.pack(offsets[i], 16 * i, 4, (bind << 4) | typ, 0, shndx)
        for i, (_, bind, typ, shndx) in enumerate(symbols))
    word = "Q" if wide else "I"
    shift = 32 if wide else 8
    if rel_type == SHT_RELA:
        relocs = b"".join(struct.pack(order + word + word + ("q" if wide else "i"), 8 * n, (s << shift) | r_type, -n)
                          for n, s in enumerate(RELOCATED))
    else:
        relocs = b"".join(struct.pack(order + word + word, 8 * n, (s << shift) | r_type)
                          for n, s in enumerate(RELOCATED))
    shndx = b"".join(struct.pack(order + "I", 1000 + i) for i in range(len(symbols)))    # not real: followable
    # (name, type, flags, link, info, entsize, data); indices: 1 .text 2 .data 3 .group 4 .rel 5 .symtab ...
    sections = [(".text", SHT_PROGBITS, 6, 0, 0, 0, bytes(200)), (".data", SHT_PROGBITS, 3, 0, 0, 0, bytes(200)),
                (".group", SHT_GROUP, 0, 5, GROUP_SIGNATURE, 4, struct.pack(order + "II", 1, TEXT)),
                (".rela.text" if rel_type == SHT_RELA else ".rel.text", rel_type, 0x40, 5, TEXT,
                 (3 if rel_type == SHT_RELA else 2) * (8 if wide else 4), relocs),
                (".symtab", SHT_SYMTAB, 0, 6, FIRST_GLOBAL, sym.size, symtab),
                (".strtab", SHT_STRTAB, 0, 0, 0, 0, bytes(strtab)),
                (".symtab_shndx", SHT_SYMTAB_SHNDX, 0, 5, 0, 4, shndx),
                (".llvm_addrsig", SHT_LLVM_ADDRSIG, 0x80000000, 5, 0, 0, bytes([4, 5]))]
    if extra_section:
        sections.append(extra_section)
    names = bytearray(b"\0")
    name_at = []
    for s in [*sections, (".shstrtab",)]:
        name_at.append(len(names))
        names += s[0].encode() + b"\0"
    sections.append((".shstrtab", SHT_STRTAB, 0, 0, 0, 0, bytes(names)))
    header_size = 64 if wide else 52
    body = bytearray()
    placed = []
    for s in sections:
        body += bytes(-(header_size + len(body)) % 8)
        placed.append(header_size + len(body))
        body += s[6]
    body += bytes(-(header_size + len(body)) % 8)
    shoff = header_size + len(body)
    count = len(sections) + 1
    shdr = struct.Struct(order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
    table = shdr.pack(0, 0, 0, 0, 0, count if many_sections else 0, 0, 0, 0, 0)
    for i, (s, at) in enumerate(zip(sections, placed)):
        _, typ, flags, link, info, entsize, data = s
        table += shdr.pack(name_at[i], typ, flags, 0, at, len(data), link, info, 8, entsize)
    ident = b"\x7fELF" + bytes([cls, 1 if order == "<" else 2, 1]) + bytes(9)
    header = struct.pack(order + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"), kind, machine, 1, 0, 0, shoff, 0,
                         header_size, 0, 0, shdr.size, 0 if many_sections else count, count - 1)
    path.write_bytes(ident + header + body + table)
    return path


def read(path: Path) -> dict:
    """What pyelftools sees: symbols in order, each relocation's symbol name, the group's signature, the
    extended index table by symbol name, the address-significance table's link."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        symbols = [(s.name, s["st_info"]["bind"]) for s in symtab.iter_symbols()]
        rel = next(s for s in elf.iter_sections() if s["sh_type"] in ("SHT_REL", "SHT_RELA"))
        relocated = [(r["r_offset"], r["r_info_type"], symbols[r["r_info_sym"]][0] or r["r_info_sym"],
                      r.entry.get("r_addend")) for r in rel.iter_relocations()]
        group = elf.get_section_by_name(".group")
        raw = elf.get_section_by_name(".symtab_shndx").data()
        order = "<" if elf.little_endian else ">"
        shndx = {symbols[i][0] or i: struct.unpack_from(order + "I", raw, 4 * i)[0] for i in range(len(symbols))}
        return {"symbols": symbols, "first_global": symtab["sh_info"], "relocated": relocated,
                "signature": symbols[group["sh_info"]][0], "shndx": shndx,
                "addrsig_link": elf.get_section_by_name(".llvm_addrsig")["sh_link"],
                "values": {s.name: (s["st_value"], s["st_size"], s["st_shndx"]) for s in symtab.iter_symbols()}}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("many_sections", [False, True])
def test_hidden_symbols_become_local_and_everything_follows_them(tmp_path, fmt, many_sections):
    path = write_object(tmp_path / "m.o", fmt, many_sections=many_sections)
    before = read(path)
    assert localize(path, KEEP) == HIDDEN
    after = read(path)
    binds = dict(after["symbols"])
    assert all(binds[name] == "STB_LOCAL" for name in HIDDEN)
    assert {n: b for n, b in after["symbols"] if n in KEEP} == {n: b for n, b in before["symbols"] if n in KEEP}
    # Locals first, sh_info the first global: what ELF wants and linkers rely on.
    locals_ = [b == "STB_LOCAL" for _, b in after["symbols"]]
    assert locals_ == sorted(locals_, reverse=True)
    assert after["first_global"] == FIRST_GLOBAL + len(HIDDEN) == locals_.count(True)
    # Every table that names a symbol by index still names the same one.
    assert after["relocated"] == before["relocated"]
    assert after["signature"] == before["signature"] == "uf_priv"
    assert after["shndx"] == before["shndx"]
    assert after["values"] == before["values"]
    # The address-significance table's indices no longer hold: unlinked, as LLVM's own tools leave it.
    assert (before["addrsig_link"], after["addrsig_link"]) == (5, 0)
    assert path.stat().st_size == (tmp_path / "m.o").stat().st_size


def test_the_order_within_locals_and_globals_is_kept(tmp_path):
    path = write_object(tmp_path / "m.o", "elf64-x86_64")
    localize(path, KEEP)
    names = [n for n, _ in read(path)["symbols"]]
    assert names == ["", "t.c", "", "helper", "uf_priv", "uf_weak", "uf_priv2", "uf_abs",
                     "uf_pub", "ext", "uf_data", "weak_ref"]


def test_nothing_to_hide_leaves_the_file_as_it_was(tmp_path):
    path = write_object(tmp_path / "m.o", "elf32-arm")
    original = path.read_bytes()
    assert localize(path, KEEP | set(HIDDEN)) == []
    assert path.read_bytes() == original
    localize(path, KEEP)
    once = path.read_bytes()
    assert localize(path, KEEP) == [] and path.read_bytes() == once       # already local: nothing moves


def test_undefined_symbols_stay_global_whatever_keep_says(tmp_path):
    path = write_object(tmp_path / "m.o", "elf64-x86_64")
    assert localize(path, set()) == sorted(HIDDEN + ["uf_data", "uf_pub"])
    binds = dict(read(path)["symbols"])
    assert binds["ext"] == "STB_GLOBAL" and binds["weak_ref"] == "STB_WEAK"


def test_a_common_symbol_cannot_be_made_local(tmp_path):
    symbols = [*SYMBOLS[:-1], ("uf_common", GLOBAL, OBJECT, COMMON)]
    path = write_object(tmp_path / "m.o", "elf64-x86_64", symbols=symbols)
    with pytest.raises(LinkError, match="'uf_common' is a common symbol") as e:
        localize(path, KEEP)
    assert e.value.hint == "compile with -fno-common"


def test_a_table_it_does_not_know_is_refused_not_corrupted(tmp_path):
    path = write_object(tmp_path / "m.o", "elf32-arm", extra_section=(".hash", SHT_HASH, 2, 5, 0, 4, bytes(8)))
    original = path.read_bytes()
    with pytest.raises(LinkError, match="refers to the symbol table in a way uniforge does not know"):
        localize(path, KEEP)
    assert path.read_bytes() == original


@pytest.mark.parametrize("data, kind, message", [(b"not an object at all", 1, "not an ELF object"),
                                                 (None, 2, "not a relocatable object")])
def test_what_is_not_a_relocatable_object_is_refused(tmp_path, data, kind, message):
    path = tmp_path / "x"
    if data is None:
        write_object(path, "elf64-x86_64", kind=kind)
    else:
        path.write_bytes(data)
    with pytest.raises(LinkError, match=message):
        localize(path, KEEP)
