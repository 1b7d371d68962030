"""Where the app refers to a symbol: 'FUNCTION at FILE:LINE' for each place, for errors that name the app's own code.

An app object is linked alone, undefined symbols left at 0 and relocations kept (`--emit-relocs`), so each of its
references to another symbol has an address, which the symbolizer turns into a function and a line of its source.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

from .compiler import Toolchain
from ..core.errors import LinkError
from .symbolize import Symbolizer

LINK_ARGS = ("--emit-relocs", "--unresolved-symbols=ignore-all", "--noinhibit-exec", "-static", "-e", "0",
             "-z", "max-page-size=4096")


class CallSites:
    """The references of the app's objects (name -> object file) to other symbols; each object linked on first
    use, in `work`."""

    def __init__(self, toolchain: Toolchain, objects: dict[str, Path], work: Path):
        self._toolchain = toolchain
        self._objects = objects
        self._work = work
        self._linked: dict[str, tuple[Symbolizer, dict[str, list[int]]] | None] = {}

    def describe(self, obj: str, symbol: str, most: int = 3) -> list[str]:
        """Up to `most` places in object `obj` that refer to `symbol`, first ones first; [] if none is known."""
        linked = self._link(obj)
        if linked is None:
            return []
        symbolizer, references = linked
        return [symbolizer.format(addr, is_return_address=False) for addr in sorted(references[symbol])[:most]]

    def _link(self, obj: str):
        if obj not in self._linked:
            self._linked[obj] = None
            image = self._work / "callsites" / (obj.replace("/", "_") + ".elf")
            image.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._toolchain.link(image, [*LINK_ARGS, str(self._objects[obj])])
                self._linked[obj] = (Symbolizer(image), _references(image))
            except (LinkError, OSError, KeyError):
                pass            # the error being explained is said without the places
        return self._linked[obj]


def _references(image: Path) -> dict[str, list[int]]:
    """Symbol -> addresses of the code that refers to it, from the relocations the link kept."""
    found: dict[str, list[int]] = defaultdict(list)
    with open(image, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        for section in elf.iter_sections():
            if not isinstance(section, RelocationSection) or not section["sh_info"]:
                continue
            if not elf.get_section(section["sh_info"])["sh_flags"] & SH_FLAGS.SHF_EXECINSTR:
                continue
            for reloc in section.iter_relocations():
                found[symtab.get_symbol(reloc["r_info_sym"]).name].append(reloc["r_offset"])
    return found
