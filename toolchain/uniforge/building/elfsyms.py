"""Symbols of relocatable objects, read with pyelftools: the only source of what a module exports and needs."""
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

from elftools.elf.elffile import ELFFile


def object_symbols(source: Path | BinaryIO) -> dict[str, list[str]]:
    """Global symbols an object (a path, or an open binary file) defines, those it needs, and those it refers to
    weakly (apart: like the linker, the resolver pulls nothing in for a weak reference)."""
    defined, undefined, weak = set(), set(), set()
    with open(source, "rb") if isinstance(source, (str, Path)) else nullcontext(source) as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab else ():
            bind = sym["st_info"]["bind"]
            if bind == "STB_LOCAL" or not sym.name:
                continue
            if sym["st_shndx"] != "SHN_UNDEF":
                defined.add(sym.name)
            else:
                (weak if bind == "STB_WEAK" else undefined).add(sym.name)
    return {"defined": sorted(defined), "undefined": sorted(undefined - defined), "weak": sorted(weak - defined)}
