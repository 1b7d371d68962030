"""The link stage's own logic: who owns each input of lld's map, and the bytes per owner it adds up. No linker."""
from pathlib import Path

from uniforge.building import link

# An excerpt of an lld map: output sections, their input sections (object, or archive(member)), symbols.
MAP = """\
             VMA              LMA     Size Align Out     In      Symbol
          100000           100000       40     8 .rodata
          100000           100000       10     1         /w/app/main.o:(.rodata.str1.1)
          100010           100010       20     8         /c/libc.a(src/stdio/printf.o):(.rodata)
          100030           100030        8     1         <internal>:(.rodata.str1.1)
          101000           101000       30    16 .text
          101000           101000       18    16         /c/module-fd/fd.o:(.text.uf_fd_get)
          101018           101018        0    16         /w/app/main.o:(.text.unused)
          101020           101020        a     4         /c/libcompiler_rt.a(compiler_rt.o):(.text.__udivti3)
          101020           101020        0     1                 __udivti3
          102000           102000       80    64 .bss
          102000           102000       80    64         /c/module-fd/fd.o:(.bss.uf_fds)
          103000           103000       10     1 .comment
          103000           103000       10     1         /w/init.o:(.comment)
"""


def owners():
    return link.owner_of({Path("/w/app/main.o"): link.APP, Path("/c/module-fd/fd.o"): "fd",
                          Path("/w/init.o"): link.GENERATED},
                         {Path("/c/libc.a"): link.LIBC, Path("/c/libcompiler_rt.a"): link.COMPILER_RT})


def test_owner_of_objects_archive_members_and_the_rest():
    owner = owners()
    assert owner("/w/app/main.o") == "app" and owner("/c/module-fd/fd.o") == "fd"
    assert owner("/c/libc.a(src/stdio/printf.o)") == "libc"
    assert owner("<internal>") == "merged" and owner("/somewhere/else.o") == "other"


def test_bytes_by_owner_counts_loaded_sections_only(tmp_path):
    map_file = tmp_path / "image.map"
    map_file.write_text(MAP)
    sizes = link.bytes_by_owner(map_file, owners(), loaded={".rodata", ".text", ".bss"}, nobits={".bss"})
    assert sizes == {"app": {"file": 0x10, "bss": 0}, "libc": {"file": 0x20, "bss": 0},
                     "merged": {"file": 8, "bss": 0}, "fd": {"file": 0x18, "bss": 0x80},
                     "compiler-rt": {"file": 0xa, "bss": 0}}
    # Every owner the link can name is one `uniforge inspect` lists besides the modules.
    assert set(sizes) - {"fd"} <= set(link.NOT_MODULES)


def test_link_passes_the_targets_flags_before_the_inputs(monkeypatch, tmp_path):
    calls = []

    class Recorder:
        def link(self, output, args):
            calls.append((output, args))

    inputs = link.LinkInputs(tmp_path / "image.ld", [tmp_path / "a.o"], [tmp_path / "libc.a"])
    link.link(Recorder(), inputs, tmp_path / "img.dbg", tmp_path / "img", tmp_path / "map", ["-pie"])
    (debug, debug_args), (stripped, stripped_args) = calls
    assert debug == tmp_path / "img.dbg" and debug_args[-1] == f"-Map={tmp_path / 'map'}"
    assert stripped == tmp_path / "img" and stripped_args[-1] == "--strip-all"
    assert debug_args.index("-pie") < debug_args.index("-T") < debug_args.index(str(tmp_path / "a.o")) \
        < debug_args.index(str(tmp_path / "libc.a"))
