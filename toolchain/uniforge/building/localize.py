"""Make symbols of a relocatable ELF object local, in Python: what `objcopy --keep-global-symbols` does, without a
host tool beside the pinned compiler (zig has no objcopy that can, and Debian's would make the images depend on the
host's binutils or LLVM).

ELF wants the local symbols first in .symtab (its sh_info is the index of the first global), so a symbol made local
moves, and everything that names a symbol by its index follows it: relocation entries (REL and RELA), a section
group's signature, the extended section-index table. Every table keeps its size and place: the file's layout does
not change. ELF32 and ELF64, either byte order.
"""
import struct
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LinkError

ET_REL = 1
SHT_SYMTAB, SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB_SHNDX = 2, 4, 9, 17, 18
SHT_LLVM_ADDRSIG = 0x6FFF4C03       # symbol indices as ULEB128 (for --icf=safe)
STB_LOCAL = 0
SHN_UNDEF, SHN_COMMON = 0, 0xFFF2


@dataclass(frozen=True)
class _Class:
    """Where the fields are for one ELF class (1: 32-bit, 2: 64-bit)."""
    header: str             # e_type .. e_shstrndx, after e_ident
    section: str            # Elf_Shdr
    symbol: str             # Elf_Sym
    info: int               # st_info's position in Elf_Sym
    shndx: int              # st_shndx's
    word: str               # an address-sized field: r_offset, r_info
    sym_shift: int          # r_info >> sym_shift is the symbol index


_CLASSES = {1: _Class("HHIIIIIHHHHHH", "IIIIIIIIII", "IIIBBH", 3, 5, "I", 8),
            2: _Class("HHIQQQIHHHHHH", "IIQQQQIIQQ", "IBBHQQ", 1, 3, "Q", 32)}


@dataclass
class _Section:
    index: int
    at: int                 # where its header is in the file
    fields: list            # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...

    type = property(lambda self: self.fields[1])
    offset = property(lambda self: self.fields[4])
    size = property(lambda self: self.fields[5])
    link = property(lambda self: self.fields[6])
    info = property(lambda self: self.fields[7])
    entsize = property(lambda self: self.fields[9])


def localize(path: Path, keep) -> list[str]:
    """Makes every defined global symbol of the relocatable object at path local unless its name is in keep;
    rewrites the file in place. Returns the names made local, sorted."""
    data = bytearray(path.read_bytes())
    elf = _Elf(data, path)
    symtab = elf.symtab()
    strtab = elf.sections[symtab.link]
    fmt = struct.Struct(elf.order + elf.cls.symbol)
    count = symtab.size // fmt.size
    symbols = [list(fmt.unpack_from(data, symtab.offset + i * fmt.size)) for i in range(count)]
    first_global = symtab.info

    def name(sym) -> str:
        start = strtab.offset + sym[0]
        return bytes(data[start:data.index(0, start)]).decode()

    hidden = [i for i in range(first_global, count)
              if symbols[i][elf.cls.shndx] != SHN_UNDEF and name(symbols[i]) not in keep]
    if not hidden:
        return []
    for i in hidden:
        if symbols[i][elf.cls.shndx] == SHN_COMMON:
            raise LinkError(f"{path}: '{name(symbols[i])}' is a common symbol, which cannot be made local",
                            hint="compile with -fno-common")
        symbols[i][elf.cls.info] = (STB_LOCAL << 4) | (symbols[i][elf.cls.info] & 0xF)
    moved = set(hidden)
    order = [*range(first_global), *hidden, *(i for i in range(first_global, count) if i not in moved)]
    new_index = [0] * count
    for new, old in enumerate(order):
        new_index[old] = new
        fmt.pack_into(data, symtab.offset + new * fmt.size, *symbols[old])
    symtab.fields[7] = first_global + len(hidden)
    elf.write_header(symtab)

    for section in elf.sections:
        if section.link != symtab.index or section is symtab:
            continue
        if section.type in (SHT_REL, SHT_RELA):
            elf.renumber_relocations(section, new_index)
        elif section.type == SHT_GROUP:
            section.fields[7] = new_index[section.info]             # the group's signature symbol
            elf.write_header(section)
        elif section.type == SHT_SYMTAB_SHNDX:
            word = struct.Struct(elf.order + "I")
            entries = [word.unpack_from(data, section.offset + i * 4)[0] for i in range(count)]
            for new, old in enumerate(order):
                word.pack_into(data, section.offset + new * 4, entries[old])
        elif section.type == SHT_LLVM_ADDRSIG:
            # LLVM's own mark of a table whose indices no longer hold (ld.lld -r and llvm-objcopy set it too):
            # linkers then treat every symbol as address-significant.
            section.fields[6] = 0
            elf.write_header(section)
        else:
            raise LinkError(f"{path}: section {section.index} (type {section.type:#x}) refers to the symbol table in "
                            f"a way uniforge does not know: cannot move symbols")
    path.write_bytes(data)
    return sorted(name(symbols[i]) for i in hidden)


class _Elf:
    """The section headers of a relocatable ELF object held in a bytearray, read and written back in place."""

    def __init__(self, data: bytearray, path: Path):
        self.data, self.path = data, path
        if data[:4] != b"\x7fELF" or data[4] not in _CLASSES or data[5] not in (1, 2):
            raise LinkError(f"{path}: not an ELF object")
        self.cls = _CLASSES[data[4]]
        self.order = "<" if data[5] == 1 else ">"
        header = struct.unpack_from(self.order + self.cls.header, data, 16)
        e_type, e_shoff, e_shentsize, e_shnum = header[0], header[5], header[10], header[11]
        if e_type != ET_REL:
            raise LinkError(f"{path}: not a relocatable object (ELF type {e_type})")
        self._section = struct.Struct(self.order + self.cls.section)
        if e_shnum == 0 and e_shoff:        # more than 0xff00 sections: the count is section 0's sh_size
            e_shnum = self._section.unpack_from(data, e_shoff)[5]
        self.sections = [_Section(i, at, list(self._section.unpack_from(data, at)))
                         for i, at in enumerate(range(e_shoff, e_shoff + e_shnum * e_shentsize, e_shentsize))]

    def symtab(self) -> _Section:
        tables = [s for s in self.sections if s.type == SHT_SYMTAB]
        if len(tables) != 1:
            raise LinkError(f"{self.path}: {len(tables)} symbol tables where a relocatable object has one")
        return tables[0]

    def write_header(self, section: _Section) -> None:
        self._section.pack_into(self.data, section.at, *section.fields)

    def renumber_relocations(self, section: _Section, new_index: list[int]) -> None:
        """r_info's symbol index, through new_index; the type bits and everything else stay."""
        word = struct.Struct(self.order + self.cls.word)
        entry = section.entsize or (2 if section.type == SHT_REL else 3) * word.size
        mask = (1 << self.cls.sym_shift) - 1
        shift = self.cls.sym_shift
        for at in range(section.offset + word.size, section.offset + section.size, entry):
            (info,) = word.unpack_from(self.data, at)
            word.pack_into(self.data, at, (new_index[info >> shift] << shift) | (info & mask))
