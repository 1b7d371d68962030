"""Post-link: the manifest section every image carries (written, rewritten in place, read back), the flat form of
an ELF for loaders that take one, and the checks of the boot protocols. On small ELF files linked for the purpose."""
import json

import pytest

from uniforge.building import image, targets
from uniforge.building.compiler import CompileJob, Toolchain
from uniforge.building.generate import render
from uniforge.core.errors import ImageError
from uniforge.platforms import way_for

SCRIPT = """\
ENTRY(_start)
PHDRS { a PT_LOAD FLAGS(5); b PT_LOAD FLAGS(6); }
SECTIONS {
  . = 0x1000; .text : { *(.text*) } :a
  . = 0x3000; .data : { *(.data*) } :b
  .bss : { *(.bss*) } :b
}
"""
CODE = """\
        .text
        .globl _start
_start: .ascii "AAAA"
        .data
        .ascii "BB"
        .bss
        .zero 64
"""


@pytest.fixture(scope="module")
def toolchain():
    return Toolchain.for_target(targets.load("qemu-x86_64"))


def link(toolchain, folder, manifest: dict | None = None, reserve: int = 0):
    """An ELF with two loaded segments (text at 0x1000, data and bss at 0x3000) and, if given, a manifest."""
    (folder / "code.S").write_text(CODE)
    (folder / "image.ld").write_text(SCRIPT)
    jobs = [CompileJob(folder / "code.S", folder / "code.o", tuple(toolchain.target_args()))]
    if manifest is not None:
        (folder / "manifest.bin").write_bytes(image.encode(manifest, reserve))
        (folder / "manifest.S").write_text(render("manifest.S.j2", path=folder / "manifest.bin"))
        jobs.append(CompileJob(folder / "manifest.S", folder / "manifest.o", tuple(toolchain.target_args())))
    toolchain.compile_all(jobs)
    out = folder / "image.elf"
    toolchain.link(out, ["-T", str(folder / "image.ld"), *(str(job.output) for job in jobs)])
    return out


def test_manifest_is_written_rewritten_in_place_and_read_back(toolchain, tmp_path):
    elf = link(toolchain, tmp_path, {"app": "x"}, reserve=64)
    assert image.read(elf) == {"app": "x"}
    size = elf.stat().st_size
    image.rewrite(elf, {"app": "x", "bytes": {"app": {"file": 4}}})
    assert image.read(elf) == {"app": "x", "bytes": {"app": {"file": 4}}} and elf.stat().st_size == size
    with pytest.raises(AssertionError, match="grew past"):
        image.rewrite(elf, {"app": "x" * 200})
    assert json.loads(image.encode({"b": 1, "a": 2}, 3)) == {"a": 2, "b": 1}
    assert image.encode({"b": 1, "a": 2}, 3) == b'{"a":2,"b":1}   '


def test_files_that_are_not_images_are_one_line_errors(toolchain, tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        image.read(tmp_path / "missing")
    (tmp_path / "junk").write_bytes(b"\x7fELF garbage")
    with pytest.raises(ImageError, match="not an ELF image"):
        image.read(tmp_path / "junk")
    with pytest.raises(ImageError, match="not a uniforge image"):
        image.read(link(toolchain, tmp_path))
    elf = link(toolchain, tmp_path, {"app": "x"}, reserve=8)
    data = bytearray(elf.read_bytes())
    at = data.index(b'{"app":"x"}')
    data[at] = ord("[")
    elf.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="damaged"):
        image.read(elf)


def test_raw_form_is_the_loaded_bytes_from_the_lowest_address(toolchain, tmp_path):
    elf = link(toolchain, tmp_path)
    raw = tmp_path / "image.raw"
    image.write_raw(elf, raw)
    # Text at 0x1000, the gap up to 0x3000 as zeros, data; bss takes no bytes.
    assert raw.read_bytes() == b"AAAA" + bytes(0x2000 - 4) + b"BB"
    assert image.loaded_sections(elf) == ({".text", ".data", ".bss"}, {".bss"})


def test_boot_protocol_checks(toolchain, tmp_path):
    elf = link(toolchain, tmp_path)
    with pytest.raises(ImageError, match="no PVH entry note"):
        image.check_boot(elf, "pvh")
    with pytest.raises(ImageError, match="no zImage magic"):
        image.package(elf, "zimage")
    image.check_boot(elf, "multiboot-someday")         # a protocol without a check
    assert image.package(elf, "pvh-less") is None
    # The floors are real images of their protocols.
    image.check_boot(way_for(targets.load("qemu-x86_64")).floor(), "pvh")
    raw = image.package(way_for(targets.load("xen-armv7")).floor(), "zimage", tmp_path / "floor.zImage")
    assert raw == tmp_path / "floor.zImage"
