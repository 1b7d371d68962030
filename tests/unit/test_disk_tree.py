"""The embedded read-only tree: the manifest's `files` key and the packed format module embedfs reads."""
import struct

import pytest

from uniforge.building import embedtree, manifest
from uniforge.core.errors import ManifestError


def write_app(folder, files_line):
    (folder / "main.c").write_text("int main(void) { return 0; }\n")
    (folder / "uniforge.toml").write_text(f'name = "app"\nsources = ["main.c"]\n{files_line}\n')
    return folder / "uniforge.toml"


def test_files_key_forms(tmp_path):
    (tmp_path / "htdocs").mkdir()
    app = manifest.load(write_app(tmp_path, 'files = "htdocs/"'))
    assert app.files.dir == tmp_path / "htdocs" and app.files.mount == "/" and app.disks is False
    app = manifest.load(write_app(tmp_path, 'files = { dir = "htdocs", mount = "/www" }\ndisks = true'))
    assert app.files.mount == "/www" and app.disks is True
    assert manifest.load(write_app(tmp_path, "")).files is None
    assert manifest.load(write_app(tmp_path, "")).disks is True


@pytest.mark.parametrize("line, message", [
    ('files = "nope"', "'nope' is not a folder"),
    ('files = { dir = "htdocs", mount = "www" }', "must be an absolute guest path"),
    ('files = { dir = "htdocs", mount = "/a/../b" }', "must be an absolute guest path"),
    ('files = { dir = "htdocs", mnt = "/" }', "unknown key 'mnt'"),
    ("files = 3", "key 'files' must be"),
])
def test_files_key_mistakes(tmp_path, line, message):
    (tmp_path / "htdocs").mkdir()
    with pytest.raises(ManifestError, match=message):
        manifest.load(write_app(tmp_path, line))


def unpack(blob: bytes) -> dict[str, tuple[int, bytes]]:
    magic, count, _ = struct.unpack_from("<8sII", blob)
    assert magic == b"UFTREE01"
    entries = {}
    for i in range(count):
        path_off, path_len, kind, data_off, size = struct.unpack_from("<IHHII", blob, 16 + 16 * i)
        entries[blob[path_off:path_off + path_len].decode()] = (kind, blob[data_off:data_off + size])
    return entries


def test_pack_round_trip_and_order(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_bytes(b"nested")
    (tmp_path / "docs-old.txt").write_bytes(b"dash")
    (tmp_path / "index.html").write_bytes(b"<h1>hi</h1>")
    (tmp_path / "empty").write_bytes(b"")
    blob = embedtree.pack(tmp_path)
    entries = unpack(blob)
    assert entries == {"docs": (2, b""), "docs/a.txt": (1, b"nested"), "docs-old.txt": (1, b"dash"),
                       "empty": (1, b""), "index.html": (1, b"<h1>hi</h1>")}
    # A folder's contents follow it ('/' sorts lowest), which the guest's lookups rely on.
    assert list(entries) == ["docs", "docs/a.txt", "docs-old.txt", "empty", "index.html"]
    assert embedtree.pack(tmp_path) == blob


def test_symlink_out_of_the_tree_is_refused(tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "secret").write_text("no")
    (tmp_path / "tree" / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(ManifestError, match="symbolic link out of"):
        embedtree.pack(tmp_path / "tree")
