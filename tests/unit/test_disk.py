"""uniforge disk: image creation and reading through dosfstools/mtools, and its one-line errors."""
import shutil
from pathlib import Path

import pytest

from uniforge.cli import disk
from uniforge.core.errors import DiskError, ExitCode, ToolError
from uniforge.testing import uniforge

needs_tools = pytest.mark.skipif(not (shutil.which("mcopy") and (shutil.which("mkfs.fat") or
                                                               Path("/usr/sbin/mkfs.fat").exists())),
                                 reason="dosfstools and mtools are not installed (scripts/install-host-deps)")


@pytest.mark.parametrize("size", ["64MB", "0M", "1.5G"])
def test_bad_size_is_one_line_before_anything_is_written(tmp_path, size):
    proc = uniforge("disk", "create", str(tmp_path / "x.img"), "--size", size)
    assert proc.returncode == ExitCode.DISK
    assert proc.stderr == f"uniforge: error: --size: '{size}' is not a size like 64M or 1G\n"
    assert not (tmp_path / "x.img").exists()


def test_too_small(tmp_path):
    with pytest.raises(DiskError, match="too small"):
        disk.create(tmp_path / "x.img", 1 << 20)
    assert not (tmp_path / "x.img").exists()


def test_never_overwrites(tmp_path):
    (tmp_path / "x.img").write_text("keep")
    with pytest.raises(DiskError, match="already exists"):
        disk.create(tmp_path / "x.img", 16 << 20)
    assert (tmp_path / "x.img").read_text() == "keep"


@needs_tools
@pytest.mark.parametrize("size, width", [(16 << 20, 16), (64 << 20, 32)])
def test_create_copy_list_get(tmp_path, size, width):
    src = tmp_path / "src"
    (src / "a folder").mkdir(parents=True)
    (src / "a folder" / "Long file name.txt").write_bytes(b"x" * 5000)
    (src / "top.txt").write_text("top\n")
    image = tmp_path / "d.img"
    assert disk.create(image, size, src) == width
    assert image.stat().st_size == size
    assert "a folder" in disk.ls(image) and "Long file name.txt" in disk.ls(image, "/a folder")
    got = disk.get(image, "/a folder/Long file name.txt", tmp_path)
    assert got.read_bytes() == b"x" * 5000
    tree = disk.get(image, "/a folder", tmp_path / "copy")
    assert (tree / "Long file name.txt").exists()


@needs_tools
def test_missing_file_in_image(tmp_path):
    image = tmp_path / "d.img"
    disk.create(image, 16 << 20)
    with pytest.raises(DiskError, match="copying /nope out failed"):
        disk.get(image, "/nope", tmp_path)


def test_not_fat(tmp_path):
    image = tmp_path / "zero.img"
    image.write_bytes(bytes(1 << 20))
    with pytest.raises(DiskError, match="not a FAT file system"):
        disk.ls(image)
    with pytest.raises(DiskError, match="no such disk image"):
        disk.ls(tmp_path / "none.img")


@needs_tools
def test_truncated(tmp_path):
    image = tmp_path / "d.img"
    disk.create(image, 16 << 20)
    image.write_bytes(image.read_bytes()[:1 << 20])
    with pytest.raises(DiskError, match="truncated"):
        disk.ls(image)


def test_names_differing_in_case_are_refused(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "A.txt").write_text("1")
    (tmp_path / "src" / "a.txt").write_text("2")
    with pytest.raises(DiskError, match="differ only in case"):
        disk.create(tmp_path / "x.img", 16 << 20, tmp_path / "src")
    assert not (tmp_path / "x.img").exists()


def test_missing_tool_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(disk.shutil, "which", lambda name: None)
    monkeypatch.setattr(disk, "SBIN", ())
    with pytest.raises(ToolError, match="'mkfs.fat' is not installed") as err:
        disk.create(tmp_path / "x.img", 16 << 20)
    assert "dosfstools" in err.value.hint
    assert not (tmp_path / "x.img").exists()
