"""Symbolizer against small ELF files built with the pinned zig toolchain, DWARF 4 and 5. No QEMU."""

import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from uniforge.building.demangle import demangle
from uniforge.building.symbolize import Symbolizer

SOURCE = """\
static volatile int sink;
__attribute__((noinline)) void leaf(int x) {  /* LEAF */
    sink = x;
    sink = x * 2;  /* STORE */
}
__attribute__((always_inline)) static inline void inlined(int z) {
    sink = z * 3;  /* INLINED */
}
__attribute__((noinline)) int caller(int y) {  /* CALLER */
    leaf(y);
    inlined(y);  /* CALL INLINED */
    return y + 1;
}
void _start(void) {
    caller(3);
    for (;;) {}
}
"""


def line_of(marker):
    return next(n for n, text in enumerate(SOURCE.splitlines(), 1) if marker in text)


def build(directory: Path, *flags: str, triple: str = "x86_64-freestanding-none") -> Path:
    source = directory / "t.c"
    source.write_text(SOURCE)
    zig = [sys.executable, "-m", "ziglang"]
    obj, elf = directory / "t.o", directory / "t.elf"
    target = ["-target", triple]
    subprocess.run([*zig, "cc", *target, "-O1", *flags, "-c", str(source), "-o", str(obj)], check=True)
    subprocess.run([*zig, "ld.lld", "-e", "_start", "--image-base=0x100000", "-o", str(elf), str(obj)], check=True)
    return elf


def symbols(elf: Path) -> dict[str, int]:
    with open(elf, "rb") as f:
        return {s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}


def dwarf_versions(elf: Path) -> set[int]:
    with open(elf, "rb") as f:
        return {cu.header["version"] for cu in ELFFile(f).get_dwarf_info().iter_CUs()}


@pytest.fixture(scope="module", params=[4, 5])
def debug_elf(request, tmp_path_factory):
    elf = build(tmp_path_factory.mktemp(f"dwarf{request.param}"), "-g", f"-gdwarf-{request.param}")
    assert dwarf_versions(elf) == {request.param}
    return elf


def test_exact_address_gives_function_file_and_line(debug_elf):
    leaf = symbols(debug_elf)["leaf"]
    text = Symbolizer(debug_elf).format(leaf, is_return_address=False)
    assert text == f"leaf at {debug_elf.parent / 't.c'}:{line_of('LEAF')}"


def test_return_address_is_looked_up_one_byte_back(debug_elf):
    caller = symbols(debug_elf)["caller"]
    symbolizer = Symbolizer(debug_elf)
    # A call that is the last instruction before `caller` returns to caller's first byte: that frame is not
    # in caller.
    assert not symbolizer.format(caller, is_return_address=True).startswith("caller ")
    assert symbolizer.format(caller + 1, is_return_address=True) == symbolizer.format(caller, False)


def test_a_return_into_thumb_code_drops_its_thumb_bit(tmp_path):
    elf = build(tmp_path, "-g", triple="thumb-freestanding-eabihf")
    caller = symbols(elf)["caller"]
    assert caller & 1, "a Thumb function's symbol has bit 0 set"
    start = caller & ~1
    symbolizer = Symbolizer(elf)
    # Returns into caller's first instruction and past it, as a Thumb return address (lr) says them.
    assert not symbolizer.format(start | 1, is_return_address=True).startswith("caller ")
    assert symbolizer.format((start + 2) | 1, is_return_address=True) == symbolizer.format(start, False)
    assert symbolizer.format(start, False).startswith("caller at ")


def test_lines_inside_a_function(debug_elf):
    symbolizer = Symbolizer(debug_elf)
    leaf, caller = symbols(debug_elf)["leaf"], symbols(debug_elf)["caller"]
    frames = [symbolizer.lookup(a).frames for a in range(leaf, caller)]
    assert line_of("STORE") in {f[0].line for f in frames if f}
    assert {f[0].function for f in frames if f} <= {"leaf", None}  # None: the padding after leaf


def test_inlined_function_and_its_call_site(debug_elf):
    symbolizer = Symbolizer(debug_elf)
    caller, start = symbols(debug_elf)["caller"], symbols(debug_elf)["_start"]
    texts = {symbolizer.format(a, is_return_address=False) for a in range(caller, start)}
    source = debug_elf.parent / "t.c"
    expected = f"inlined at {source}:{line_of('INLINED')}, inlined in caller at {source}:{line_of('CALL INLINED')}"
    assert expected in texts


def test_default_dwarf_version_is_understood(tmp_path):
    elf = build(tmp_path, "-g")
    leaf = symbols(elf)["leaf"]
    assert Symbolizer(elf).format(leaf, False).endswith(f"t.c:{line_of('LEAF')}")


def test_without_debug_info_gives_function_and_offset(tmp_path):
    elf = build(tmp_path, "-g0")
    leaf = symbols(elf)["leaf"]
    symbolizer = Symbolizer(elf)
    assert symbolizer.format(leaf + 4, is_return_address=False) == "leaf+0x4"
    assert symbolizer.format(leaf + 4, is_return_address=True) == "leaf+0x4"
    assert symbolizer.format(0x10, is_return_address=False) == "??"


CXX_SOURCE = """\
namespace shapes {
struct Circle {
    int r;
    __attribute__((noinline)) int area() const;  /* DECLARED */
};
int Circle::area() const { return 3 * r * r; }  /* AREA */
}
static volatile int sink;
__attribute__((noinline)) static void record(int v) { sink = v; }  /* RECORD */
extern "C" void _start(void) {
    shapes::Circle c{2};
    record(c.area());
    for (;;) {}
}
"""


@pytest.fixture(scope="module")
def cxx_elf(tmp_path_factory):
    if demangle("_Z1fv") != "f()":
        pytest.skip("this host has no C++ runtime (libstdc++) to demangle names with")
    directory = tmp_path_factory.mktemp("cxx")
    source, obj, elf = directory / "t.cc", directory / "t.o", directory / "t.elf"
    source.write_text(CXX_SOURCE)
    zig = [sys.executable, "-m", "ziglang"]
    subprocess.run([*zig, "cc", "-x", "c++", "-target", "x86_64-freestanding-none", "-O1", "-g", "-fno-exceptions",
                    "-fno-rtti", "-c", str(source), "-o", str(obj)], check=True)
    subprocess.run([*zig, "ld.lld", "-e", "_start", "--image-base=0x100000", "-o", str(elf), str(obj)], check=True)
    return elf


def test_cxx_functions_are_named_as_their_source_spells_them(cxx_elf):
    """Qualified, with their parameters and qualifiers, from the debug info's linkage names."""
    found = symbols(cxx_elf)
    symbolizer = Symbolizer(cxx_elf)
    area = symbolizer.format(found["_ZNK6shapes6Circle4areaEv"], is_return_address=False)
    area_line = next(n for n, text in enumerate(CXX_SOURCE.splitlines(), 1) if "AREA" in text)
    assert area == f"shapes::Circle::area() const at {cxx_elf.parent / 't.cc'}:{area_line}"
    assert symbolizer.format(found["_ZL6recordi"], is_return_address=False).startswith("record(int) at ")
    assert symbolizer.format(found["_start"], is_return_address=False).startswith("_start at ")


def test_cxx_symbols_without_debug_info_are_demangled(tmp_path):
    assert demangle("_ZNK6shapes6Circle4areaEv") == "shapes::Circle::area() const"
    assert demangle("_start") == "_start" and demangle("_Zinvalid") == "_Zinvalid"
