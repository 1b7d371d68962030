"""Maps code addresses of an image to function, file and line, for crash backtraces.

Functions come from the ELF symbol table, files and lines from the DWARF line programs (versions 4 and 5: zig's
clang emits 5). Both are flattened once into sorted arrays searched with bisect, so a lookup costs no DWARF parsing.
"""

from __future__ import annotations

import bisect
import posixpath
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

# lld writes these as the address of code that --gc-sections dropped; their line rows must not match real code.
_TOMBSTONES = (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Location:
    function: str | None
    offset: int  # from the function's start; 0 when function is None
    file: str | None
    line: int | None


class Symbolizer:
    """Answers address lookups for one ELF file (an unstripped image)."""

    def __init__(self, elf_path: Path | str):
        with open(elf_path, "rb") as f:
            elf = ELFFile(f)
            self._read_functions(elf)
            self._read_lines(elf)

    def lookup(self, addr: int) -> Location:
        function, offset = self._function_at(addr)
        file, line = self._line_at(addr)
        return Location(function, offset, file, line)

    def format(self, addr: int, is_return_address: bool = True) -> str:
        """'FUNCTION at FILE:LINE', 'FUNCTION+0xOFF' or '??'.

        A return address points after its call instruction, which may be the first byte of the next line or
        function, so it is looked up at addr - 1; a faulting pc (the first frame of a backtrace) is exact.
        """
        probe = addr - 1 if is_return_address else addr
        where = self.lookup(probe)
        if where.line is not None:
            return f"{where.function or '??'} at {where.file}:{where.line}"
        if where.function is not None:
            return f"{where.function}+{where.offset + addr - probe:#x}"
        return "??"

    def _read_functions(self, elf: ELFFile) -> None:
        code_sections = {
            i for i, s in enumerate(elf.iter_sections()) if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR
        }
        symtab = elf.get_section_by_name(".symtab")
        # On ARM, bit 0 of a function's address says "Thumb code"; the code itself starts at the even address.
        address_mask = ~1 if elf["e_machine"] == "EM_ARM" else ~0
        found = []
        for sym in symtab.iter_symbols() if symtab else ():
            kind = sym["st_info"]["type"]
            # NOTYPE: assembly labels such as _start carry no .type directive.
            if kind not in ("STT_FUNC", "STT_NOTYPE") or not sym.name or sym.name.startswith(".L"):
                continue
            if sym["st_shndx"] not in code_sections:
                continue
            # At one address, prefer a sized symbol, then a global one (aliases: memcpy over __memcpy_local).
            rank = (sym["st_size"] > 0, sym["st_info"]["bind"] != "STB_LOCAL")
            found.append((sym["st_value"] & address_mask, rank, sym["st_size"], sym.name))
        found.sort()
        self._starts: list[int] = []
        self._functions: list[tuple[int, str]] = []  # (size, name); size 0 reaches to the next symbol
        for start, _, size, name in found:
            if self._starts and self._starts[-1] == start:
                self._functions[-1] = (size, name)  # sorted by rank: the last one wins
            else:
                self._starts.append(start)
                self._functions.append((size, name))

    def _function_at(self, addr: int) -> tuple[str | None, int]:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0:
            return None, 0
        size, name = self._functions[i]
        offset = addr - self._starts[i]
        if size and offset >= size:
            return None, 0  # padding between functions
        return name, offset

    def _read_lines(self, elf: ELFFile) -> None:
        rows: list[tuple[int, int, str | None, int | None]] = []
        if elf.has_dwarf_info():
            dwarf = elf.get_dwarf_info()
            section = dwarf.debug_line_sec.stream.getvalue() if dwarf.debug_line_sec else b""
            byteorder = "little" if elf.little_endian else "big"
            for cu in dwarf.iter_CUs():
                program = dwarf.line_program_for_CU(cu)
                if program is not None:
                    rows.extend(_line_rows(program, section, byteorder, _comp_dir(cu)))
        # End-of-sequence rows sort first at equal addresses, so code that starts where another sequence ends
        # is found; rows of one sequence at one address keep their order and the last one wins.
        rows.sort(key=lambda r: (r[0], r[1]))
        self._line_addrs = [r[0] for r in rows]
        self._line_rows = [(r[2], r[3]) for r in rows]

    def _line_at(self, addr: int) -> tuple[str | None, int | None]:
        i = bisect.bisect_right(self._line_addrs, addr) - 1
        return self._line_rows[i] if i >= 0 else (None, None)


def _comp_dir(cu) -> str:
    attr = cu.get_top_DIE().attributes.get("DW_AT_comp_dir")
    return attr.value.decode(errors="replace") if attr else ""


def _file_names(program, comp_dir: str) -> list[str]:
    """File names by DWARF file number: 0-based in version 5 (entry 0 is the primary file, directory 0 the
    compilation directory); 1-based in version 4, where directory 0 is the compilation directory."""
    header = program.header
    dirs = [d.decode(errors="replace") for d in header["include_directory"]]
    if header["version"] < 5:
        dirs = [comp_dir] + dirs
    names = []
    for entry in header["file_entry"]:
        name = entry.name.decode(errors="replace")
        index = entry.dir_index or 0
        directory = dirs[index] if index < len(dirs) else ""
        names.append(posixpath.join(comp_dir, directory, name))  # join keeps the last absolute part
    return names if header["version"] >= 5 else [""] + names


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _sleb(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    value, pos = _uleb(data, pos)
    bits = 7 * (pos - start)
    return (value - (1 << bits) if value >> (bits - 1) & 1 else value), pos


def _line_rows(program, data: bytes, byteorder: str, comp_dir: str):
    """Runs one line program (DWARF 2-5, section 6.2) and yields (address, order, file, line) rows; order 0
    marks the end of a sequence (no line from there on).

    pyelftools decodes the header; the opcodes are run here because its decoder builds an object per row and
    takes seconds for a 1 MB image. Columns, views, discriminators and VLIW op indexes are not needed.
    """
    header = program.header
    files = _file_names(program, comp_dir)
    min_length = header["minimum_instruction_length"]
    line_base, line_range, opcode_base = header["line_base"], header["line_range"], header["opcode_base"]
    operand_counts = header["standard_opcode_lengths"]
    const_add_pc = (255 - opcode_base) // line_range * min_length

    pos, end = program.program_start_offset, program.program_end_offset
    address, file, line, sequence = 0, 1, 1, []
    while pos < end:
        op = data[pos]
        pos += 1
        if op >= opcode_base:  # special opcode: advance both, then append a row
            step = op - opcode_base
            address += step // line_range * min_length
            line += line_base + step % line_range
            sequence.append((address, 1, file, line))
        elif op == 0:  # extended opcode
            size, pos = _uleb(data, pos)
            sub, operand = data[pos], pos + 1
            pos += size
            if sub == 1:  # DW_LNE_end_sequence
                # Code that the linker dropped keeps a tombstone start address: skip its sequence whole.
                if sequence and sequence[0][0] not in _TOMBSTONES:
                    yield from ((a, o, files[f] if 0 <= f < len(files) else None, n) for a, o, f, n in sequence)
                    yield (address, 0, None, None)
                address, file, line, sequence = 0, 1, 1, []
            elif sub == 2:  # DW_LNE_set_address
                address = int.from_bytes(data[operand:pos], byteorder)
        elif op == 1:  # DW_LNS_copy
            sequence.append((address, 1, file, line))
        elif op == 2:  # DW_LNS_advance_pc
            step, pos = _uleb(data, pos)
            address += step * min_length
        elif op == 3:  # DW_LNS_advance_line
            step, pos = _sleb(data, pos)
            line += step
        elif op == 4:  # DW_LNS_set_file
            file, pos = _uleb(data, pos)
        elif op == 8:  # DW_LNS_const_add_pc
            address += const_add_pc
        elif op == 9:  # DW_LNS_fixed_advance_pc
            address += int.from_bytes(data[pos:pos + 2], byteorder)
            pos += 2
        else:  # flags and operands that do not move address, file or line
            for _ in range(operand_counts[op - 1]):
                _, pos = _uleb(data, pos)
