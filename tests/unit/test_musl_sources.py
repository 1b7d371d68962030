"""Which source builds each libc member (musl.select_sources): musl's Makefile rule with the library OS's overlay
on top, on a small tree laid out as musl's."""
import pytest

from uniforge.building.musl import fixed_copy, select_sources
from uniforge.core.errors import ToolError


def tree(root, files: dict[str, str]):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def chosen(musl, overlay=None) -> set[str]:
    roots = [musl] + ([overlay] if overlay else [])
    out = set()
    for path in select_sources(musl, "x86_64", overlay):
        root = next(r for r in roots if path.is_relative_to(r))
        out.add(f"{root.name}/{path.relative_to(root)}")
    return out


def test_arch_files_replace_generic_ones_unless_they_trap_into_a_kernel(tmp_path):
    musl = tree(tmp_path / "musl", {
        "src/thread/clone.c": "int __clone() { return -38; }",
        "src/thread/x86_64/clone.s": "__clone:\n\tsyscall\n",
        "src/string/memcpy.c": "void *memcpy() {}",
        "src/string/x86_64/memcpy.s": "memcpy:\n\trep movsb\n",
        "src/string/x86_64/other.s": "x:\n\tsyscall\n",
        "src/internal/syscall_ret.c": "",
        "src/malloc/mallocng/malloc.c": "",
        "src/ldso/dlopen.c": "",
        "src/thread/__syscall_cp.c": "",
    })
    assert chosen(musl) == {"musl/src/thread/clone.c", "musl/src/string/x86_64/memcpy.s",
                            "musl/src/internal/syscall_ret.c", "musl/src/malloc/mallocng/malloc.c",
                            "musl/src/ldso/dlopen.c"}


def test_the_overlay_replaces_by_folder_and_name(tmp_path):
    musl = tree(tmp_path / "musl", {
        "src/thread/clone.c": "", "src/thread/x86_64/clone.s": "__clone:\n\tsyscall\n",
        "src/linux/clone.c": "",                        # the same name in another folder stays musl's
        "src/signal/restore.c": "", "src/signal/x86_64/restore.s": "__restore_rt:\n\tsyscall\n",
        "src/misc/syslog.c": "",
    })
    overlay = tree(tmp_path / "overlay", {
        "thread/clone.c": "", "signal/x86_64/restore.s": "__restore_rt:\n\tint $0x80\n",
        "signal/arm/restore.s": "", "misc/syslog.c": "",
    })
    assert chosen(musl, overlay) == {"overlay/thread/clone.c", "musl/src/linux/clone.c",
                                     "overlay/signal/x86_64/restore.s", "overlay/misc/syslog.c"}


def test_a_source_fix_replaces_its_text_in_a_copy_and_names_a_text_it_cannot_find(tmp_path):
    source = tmp_path / "musl/src/math/exp2.c"
    source.parent.mkdir(parents=True)
    source.write_text("a\n\tforce();\nb\n")
    copy = fixed_copy(source, "src/math/exp2.c", [("\tforce();", "\tif (t)\n\t\tforce();")], tmp_path / "fixed")
    assert copy == tmp_path / "fixed/src/math/exp2.c"
    assert copy.read_text() == "a\n\tif (t)\n\t\tforce();\nb\n" and source.read_text() == "a\n\tforce();\nb\n"
    for missing_or_twice in ("gone();", "\n"):
        with pytest.raises(ToolError, match="exp2.c has no single"):
            fixed_copy(source, "src/math/exp2.c", [(missing_or_twice, "x")], tmp_path / "fixed")
