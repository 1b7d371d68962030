"""Maps code addresses of an image to functions, files and lines, for crash backtraces.

Functions come from the ELF symbol table, files and lines from the DWARF line programs (versions 4 and 5: zig's
clang emits 5 by default); both are flattened once into sorted arrays searched with bisect. The functions inlined
at an address come from the debug info of its compilation unit, parsed only when an address in it is looked up.
C++ functions are named as their source spells them, qualified and with their parameters (`Circle::area() const`),
from their mangled names.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass
from pathlib import Path

from elftools.dwarf.ranges import BaseAddressEntry
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from . import dwarf_lines
from .demangle import demangle

_SCOPES = ("DW_TAG_subprogram", "DW_TAG_inlined_subroutine", "DW_TAG_lexical_block")


@dataclass(frozen=True)
class Frame:
    function: str | None
    file: str | None
    line: int | None


@dataclass(frozen=True)
class Location:
    # Innermost first: the code at the address, then each function it was inlined into, at the call's line.
    frames: tuple[Frame, ...]
    symbol: str | None  # the ELF symbol around the address
    offset: int  # from the symbol's start; 0 without a symbol


class Symbolizer:
    """Answers address lookups for one ELF file (an unstripped image)."""

    def __init__(self, elf_path: Path | str):
        self._elf = ELFFile(io.BytesIO(Path(elf_path).read_bytes()))  # kept: debug info is parsed on demand
        self._read_functions()
        self._read_lines()

    def lookup(self, addr: int) -> Location:
        symbol, offset = self._function_at(addr)
        i = bisect.bisect_right(self._line_addrs, addr) - 1
        if i < 0 or self._line_rows[i][0] == dwarf_lines.END:
            return Location((), symbol, offset)
        _, cu_index, file_number, line = self._line_rows[i]
        files = self._files[cu_index]
        file = files[file_number] if file_number < len(files) else None
        frames = []
        # Walk out from the innermost inlined function: each one's caller is at its call site.
        for scope in reversed(self._scopes(cu_index, addr)):
            frames.append(Frame(_name(scope), file, line))
            if scope.tag == "DW_TAG_inlined_subroutine":
                call_file = scope.attributes.get("DW_AT_call_file")
                call_line = scope.attributes.get("DW_AT_call_line")
                file = files[call_file.value] if call_file and call_file.value < len(files) else None
                line = call_line.value if call_line else None
        return Location(tuple(frames) or (Frame(symbol and demangle(symbol), file, line),), symbol, offset)

    def format(self, addr: int, is_return_address: bool = True) -> str:
        """'FUNCTION at FILE:LINE' (followed by ', inlined in CALLER at FILE:LINE' for each function it was
        inlined into), 'FUNCTION+0xOFF' without line information, or '??'.

        A return address points after its call instruction, which may be the first byte of the next line or
        function, so it is looked up at addr - 1; a faulting pc (the first frame of a backtrace) is exact. On ARM a
        return into Thumb code has bit 0 set, which is not part of the address.
        """
        code = addr & self._address_mask
        probe = code - 1 if is_return_address else code
        where = self.lookup(probe)
        if where.frames:
            return ", inlined in ".join(_describe(frame) for frame in where.frames)
        if where.symbol is not None:
            return f"{demangle(where.symbol)}+{where.offset + code - probe:#x}"
        return "??"

    def _read_functions(self) -> None:
        # Code section index -> its end address: where an unsized symbol (an assembly label) stops at the latest.
        code_ends = {
            i: s["sh_addr"] + s["sh_size"]
            for i, s in enumerate(self._elf.iter_sections())
            if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR
        }
        symtab = self._elf.get_section_by_name(".symtab")
        # On ARM, bit 0 of a function's address says "Thumb code"; the code itself starts at the even address.
        self._address_mask = address_mask = ~1 if self._elf["e_machine"] == "EM_ARM" else ~0
        found = []
        for sym in symtab.iter_symbols() if symtab else ():
            kind = sym["st_info"]["type"]
            # NOTYPE: assembly labels such as _start carry no .type directive.
            if kind not in ("STT_FUNC", "STT_NOTYPE") or not sym.name or sym.name.startswith(".L") or sym.name.startswith("$"):
                continue
            if sym["st_shndx"] not in code_ends:
                continue
            start, size = sym["st_value"] & address_mask, sym["st_size"]
            # At one address, prefer a sized symbol, then a global one (aliases: memcpy over __memcpy_local).
            rank = (size > 0, sym["st_info"]["bind"] != "STB_LOCAL")
            found.append((start, rank, start + size if size else code_ends[sym["st_shndx"]], sym.name))
        found.sort()
        self._starts: list[int] = []
        self._functions: list[tuple[int, str]] = []  # (end, name); an unsized one also ends at the next start
        for start, _, end, name in found:
            if self._starts and self._starts[-1] == start:
                self._functions[-1] = (end, name)  # sorted by rank: the last one wins
            else:
                self._starts.append(start)
                self._functions.append((end, name))

    def _function_at(self, addr: int) -> tuple[str | None, int]:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0 or addr >= self._functions[i][0]:
            return None, 0  # before the first function, or in padding after one
        return self._functions[i][1], addr - self._starts[i]

    def _read_lines(self) -> None:
        self._cus = []
        self._files: list[list[str]] = []  # by compilation unit: paths by DWARF file number
        rows = []
        if self._elf.has_dwarf_info():
            # A linked file's debug info holds final addresses; relocations it kept (--emit-relocs, as callsite.py
            # links) were already applied, and applying REL ones again would add their addend twice.
            self._dwarf = self._elf.get_dwarf_info(relocate_dwarf_sections=False)
            section = self._dwarf.debug_line_sec.stream.getvalue() if self._dwarf.debug_line_sec else b""
            byteorder = "little" if self._elf.little_endian else "big"
            for cu in self._dwarf.iter_CUs():
                program = self._dwarf.line_program_for_CU(cu)
                if program is None:
                    continue
                index = len(self._cus)
                self._cus.append(cu)
                self._files.append(dwarf_lines.file_names(program, dwarf_lines.comp_dir(cu)))
                rows.extend((a, kind, index, f, n) for a, kind, f, n in dwarf_lines.rows(program, section, byteorder))
        # Ends of sequences sort first at equal addresses, so code that starts where another sequence ends is
        # found; rows of one sequence at one address keep their order (stable sort) and the last one wins.
        rows.sort(key=lambda r: (r[0], r[1]))
        self._line_addrs = [r[0] for r in rows]
        self._line_rows = [r[1:] for r in rows]  # (kind, compilation unit, file number, line)

    def _scopes(self, cu_index: int, addr: int) -> list:
        """The DIEs of the function at `addr` and of the functions inlined into it there, outermost first."""
        cu = self._cus[cu_index]
        scopes, die = [], cu.get_top_DIE()
        while True:
            inner = next(
                (c for c in die.iter_children() if c.tag in _SCOPES and self._contains(cu, c, addr)), None
            )
            if inner is None:
                return scopes
            if inner.tag != "DW_TAG_lexical_block":
                scopes.append(inner)
            die = inner

    def _contains(self, cu, die, addr: int) -> bool:
        attrs = die.attributes
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            low, high = attrs["DW_AT_low_pc"].value, attrs["DW_AT_high_pc"]
            # high_pc is an address (class address) or, since DWARF 4 usually, a length (class constant).
            end = high.value if high.form.startswith("DW_FORM_addr") else low + high.value
            return low <= addr < end
        if "DW_AT_ranges" not in attrs:
            return False
        top = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
        base = top.value if top else 0
        for entry in self._dwarf.range_lists().get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
            if isinstance(entry, BaseAddressEntry):
                base = entry.base_address
                continue
            offset = 0 if entry.is_absolute else base
            if entry.begin_offset + offset <= addr < entry.end_offset + offset:
                return True
        return False


def _describe(frame: Frame) -> str:
    place = f"{frame.file}:{frame.line}" if frame.line else frame.file  # line 0: code of no particular line
    return f"{frame.function or '??'} at {place}"


def _name(die) -> str | None:
    """A function DIE's name, also through the abstract origin of an inlined or out-of-line instance, and the
    declaration it specifies: a C++ function's mangled (linkage) name demangled, else its plain name."""
    name = None
    while die is not None:
        attrs = die.attributes
        for key in ("DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
            if key in attrs:
                return demangle(attrs[key].value.decode(errors="replace"))
        if name is None and "DW_AT_name" in attrs:
            name = attrs["DW_AT_name"].value.decode(errors="replace")
        link = next((a for a in ("DW_AT_abstract_origin", "DW_AT_specification") if a in attrs), None)
        die = die.get_DIE_from_attribute(link) if link else None
    return name
