"""Runs DWARF line programs (versions 2 to 5, section 6.2 of the standard) into plain rows, for symbolize.py.

pyelftools parses each program's header (file and directory tables, which differ between versions 4 and 5); the
opcodes are run here because pyelftools' decoder builds an object per row and takes seconds for a 1 MB image.
Columns, views, discriminators and VLIW op indexes are not needed and not kept.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

# lld writes these as the address of code that --gc-sections dropped; their rows must not match real code.
_TOMBSTONES = (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)

END = 0  # row kind: the end of a sequence, no line from its address on
ROW = 1  # row kind: a line starts at this address


def comp_dir(cu) -> str:
    attr = cu.get_top_DIE().attributes.get("DW_AT_comp_dir")
    return attr.value.decode(errors="replace") if attr else ""


def file_names(program, compilation_dir: str) -> list[str]:
    """Paths by DWARF file number: 0-based in version 5 (entry 0 is the primary file, directory 0 the compilation
    directory); 1-based in version 4, where directory 0 is the compilation directory."""
    header = program.header
    dirs = [d.decode(errors="replace") for d in header["include_directory"]]
    if header["version"] < 5:
        dirs = [compilation_dir] + dirs
    names = []
    for entry in header["file_entry"]:
        name = entry.name.decode(errors="replace")
        index = entry.dir_index or 0
        directory = dirs[index] if index < len(dirs) else ""
        # join keeps the last absolute part; normpath turns zig's "./." prefixes into plain relative paths.
        names.append(posixpath.normpath(posixpath.join(compilation_dir, directory, name)))
    return names if header["version"] >= 5 else [""] + names


def rows(program, section: bytes, byteorder: str) -> Iterator[tuple[int, int, int, int]]:
    """(address, kind, file number, line) for each row of `program`, whose opcodes are in `section`
    (.debug_line's bytes); sequences of dropped code are left out."""
    header = program.header
    min_length = header["minimum_instruction_length"]
    line_base, line_range, opcode_base = header["line_base"], header["line_range"], header["opcode_base"]
    operand_counts = header["standard_opcode_lengths"]
    const_add_pc = (255 - opcode_base) // line_range * min_length

    pos, end = program.program_start_offset, program.program_end_offset
    address, file, line, sequence = 0, 1, 1, []
    while pos < end:
        op = section[pos]
        pos += 1
        if op >= opcode_base:  # special opcode: advance address and line, then append a row
            step = op - opcode_base
            address += step // line_range * min_length
            line += line_base + step % line_range
            sequence.append((address, ROW, file, line))
        elif op == 0:  # extended opcode
            size, pos = _uleb(section, pos)
            sub, operand = section[pos], pos + 1
            pos += size
            if sub == 1:  # DW_LNE_end_sequence
                if sequence and sequence[0][0] not in _TOMBSTONES:
                    yield from sequence
                    yield (address, END, 0, 0)
                address, file, line, sequence = 0, 1, 1, []
            elif sub == 2:  # DW_LNE_set_address
                address = int.from_bytes(section[operand:pos], byteorder)
        elif op == 1:  # DW_LNS_copy
            sequence.append((address, ROW, file, line))
        elif op == 2:  # DW_LNS_advance_pc
            step, pos = _uleb(section, pos)
            address += step * min_length
        elif op == 3:  # DW_LNS_advance_line
            step, pos = _sleb(section, pos)
            line += step
        elif op == 4:  # DW_LNS_set_file
            file, pos = _uleb(section, pos)
        elif op == 8:  # DW_LNS_const_add_pc
            address += const_add_pc
        elif op == 9:  # DW_LNS_fixed_advance_pc
            address += int.from_bytes(section[pos:pos + 2], byteorder)
            pos += 2
        else:  # flags, and operands that move neither address, file nor line
            for _ in range(operand_counts[op - 1]):
                _, pos = _uleb(section, pos)


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
