"""Symbols of relocatable objects, read with pyelftools: the only source of what a module exports and needs."""
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

from elftools.elf.elffile import ELFFile


def object_symbols(source: Path | BinaryIO) -> dict[str, list[str]]:
    """Global symbols an object (a path, or an open binary file) defines, those it needs, and those it refers to
    weakly (apart: like the linker, the resolver pulls nothing in for a weak reference); of the defined ones, those
    defined weakly (defaults: another object's strong definition replaces them)."""
    defined, undefined, weak, defaults = set(), set(), set(), set()
    with open(source, "rb") if isinstance(source, (str, Path)) else nullcontext(source) as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab else ():
            bind = sym["st_info"]["bind"]
            if bind == "STB_LOCAL" or not sym.name:
                continue
            if sym["st_shndx"] != "SHN_UNDEF":
                defined.add(sym.name)
                if bind == "STB_WEAK":
                    defaults.add(sym.name)
            else:
                (weak if bind == "STB_WEAK" else undefined).add(sym.name)
    return {"defined": sorted(defined), "undefined": sorted(undefined - defined), "weak": sorted(weak - defined),
            "defaults": sorted(defaults)}


# Sections an object keeps whenever the linker takes it (KEEP in the linker scripts: static constructors and
# destructors), and the unwind tables, which refer to every function's LSDA and the personality routine.
_ALWAYS = (".init_array", ".fini_array", ".preinit_array", ".eh_frame")


def section_symbols(path: Path, name: str) -> dict[str, dict[str, list[str]]]:
    """An object compiled with -ffunction-sections as the linker's --gc-sections sees it: for each section that
    defines global symbols, those symbols and what its section and the sections it reaches need (relocations,
    followed within the object), with what the object always keeps (_ALWAYS). The resolver walks these like archive
    members ("NAME(section)"), so a large member (libc++'s locale.o) pulls in only what the app's code reaches."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        symbols = list(symtab.iter_symbols()) if symtab else []
        sections = list(elf.iter_sections())
        defines: dict[int, set[str]] = {}
        for sym in symbols:
            if sym["st_info"]["bind"] != "STB_LOCAL" and sym.name and isinstance(sym["st_shndx"], int):
                defines.setdefault(sym["st_shndx"], set()).add(sym.name)
        edges: dict[int, set[int]] = {i: set() for i in range(len(sections))}
        needs: dict[int, set[tuple[str, bool]]] = {i: set() for i in range(len(sections))}
        for section in sections:
            if section["sh_type"] not in ("SHT_REL", "SHT_RELA"):
                if section["sh_flags"] & 0x80:          # SHF_LINK_ORDER: ARM's .ARM.exidx.text.f goes with .text.f
                    edges[section["sh_link"]].add(sections.index(section))
                continue
            source = section["sh_info"]
            from_unwind = sections[source].name.startswith(".eh_frame")
            for reloc in section.iter_relocations():
                sym = symbols[reloc["r_info_sym"]]
                where = sym["st_shndx"]
                if where == "SHN_UNDEF":
                    if sym.name:
                        needs[source].add((sym.name, sym["st_info"]["bind"] == "STB_WEAK"))
                elif isinstance(where, int) and not (from_unwind and sections[where]["sh_flags"] & 0x4):
                    edges[source].add(where)    # the unwind tables keep a function only if something else does

        def reach(roots: list[int]) -> set[int]:
            seen, todo = set(), list(roots)
            while todo:
                i = todo.pop()
                if i not in seen:
                    seen.add(i)
                    todo.extend(edges[i])
            return seen
        always = reach([i for i, s in enumerate(sections) if s.name.startswith(_ALWAYS)])
        units = {}
        for i, names in sorted(defines.items()):
            reached = reach([i]) | always
            wanted = {need for j in reached for need in needs[j]}
            strong = {name for name, weak in wanted if not weak}
            units[f"{name}({sections[i].name})"] = {
                "defined": sorted(names), "undefined": sorted(strong - names),
                "weak": sorted({name for name, weak in wanted if weak} - strong - names)}
        return units
