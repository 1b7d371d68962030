"""module.toml: its keys (the Module dataclass's fields), and the modules that join another as it says
(`linked_with`, `when`, `app_uses`): a file system beside the VFS when uniforge.toml asks and the target can give it
what it needs; the console's input beside fd when the app can read the console."""
import json
from pathlib import Path

import pytest

from uniforge.building import modules
from uniforge.building.manifest import EmbeddedTree, Manifest
from uniforge.building.modules import CompiledModule, Module
from uniforge.building.pipeline import _joining
from uniforge.core.errors import ModuleError
from uniforge.testing import uniforge


def write(folder: Path, name: str, extra: str = "") -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "a.c").write_text("int x;\n")
    (folder / name / "module.toml").write_text(f'name = "{name}"\nsummary = "s"\nversion = "1"\n{extra}\n'
                                               '[sources]\nall = ["a.c"]\n')


@pytest.mark.parametrize("extra, message", [
    ('linked_with = "vfs"', "key 'linked_with' goes with 'when' or 'app_uses'"),
    ('app_uses = ["read"]', "key 'linked_with' goes with 'when' or 'app_uses'"),
    ('linked_with = "vfs"\napp_uses = "read"', "key 'app_uses' must be true or false or a list"),
    ('linked_with = "vfs"\nwhen = "disk"', "key 'when': 'disk' is not a key of uniforge.toml"),
    ('linked_with = "nfs"\nwhen = "disks"', "key 'linked_with': no module named 'nfs'"),
    ('depend = ["vfs"]', "unknown key 'depend' \\(did you mean 'depends'\\?\\)"),
])
def test_module_toml_mistakes_are_one_line(tmp_path, monkeypatch, extra, message):
    monkeypatch.setattr(modules, "libos_dir", lambda: tmp_path)
    write(tmp_path, "vfs")
    write(tmp_path, "fat", extra)
    with pytest.raises(ModuleError, match=message):
        modules.load_all()


def test_the_real_file_systems_say_what_they_join():
    found = modules.load_all()
    assert (found["fat"].linked_with, found["fat"].when, found["fat"].app_uses) == ("vfs", ("disks",), True)
    assert (found["embedfs"].linked_with, found["embedfs"].when) == ("vfs", ("files", "etc"))
    assert (found["stdin"].linked_with, found["stdin"].when) == ("fd", ())
    assert set(found["stdin"].app_uses) == {"stdin", "__stdin_FILE", "read", "readv"}


def compiled(name, linked_with=None, when=(), undefined=(), app_uses=False):
    module = Module(name=name, summary="", version="1", sources={}, folder=Path("."), linked_with=linked_with,
                    when=when, app_uses=app_uses)
    return CompiledModule(module, Path(f"{name}.o"), frozenset({f"uf_{name}_init"}), frozenset(undefined))


def app(tmp_path, files: bool, disks: bool) -> Manifest:
    tree = EmbeddedTree(tmp_path / "htdocs") if files else None
    return Manifest(path=tmp_path / "uniforge.toml", name="app", sources=(), files=tree, disks=disks)


MODULES = {"vfs": compiled("vfs"), "fd": compiled("fd"),
           "fat": compiled("fat", "vfs", ("disks",), {"uf_blkdev_get", "memcpy"}, app_uses=True),
           "embedfs": compiled("embedfs", "vfs", ("files", "etc"), {"uf_embedded_tree"}),
           "stdin": compiled("stdin", "fd", app_uses=("stdin", "read"))}


def reaching(*symbols):
    """app_reaches for an app whose own code reaches `symbols`."""
    return lambda wanted: min(set(symbols) & wanted, default=None)


@pytest.mark.parametrize("files, disks, providable, joining", [
    (False, True, {"uf_blkdev_get", "memcpy"}, ["fat"]),
    (False, False, {"uf_blkdev_get", "memcpy"}, []),
    (False, True, {"memcpy"}, []),                          # no block device on this target: no FAT
    (True, False, {"uf_embedded_tree"}, ["embedfs"]),
    (True, True, {"uf_embedded_tree", "uf_blkdev_get", "memcpy"}, ["embedfs", "fat"]),
])
def test_modules_join_the_vfs_as_uniforge_toml_says(tmp_path, files, disks, providable, joining):
    wanted = _joining(app(tmp_path, files, disks), ["vfs"], MODULES, providable, reaching("uf_vfs_init"))
    assert sorted(wanted) == joining
    for name in joining:
        assert (wanted[name].by, wanted[name].symbol) == ("module vfs", f"{MODULES[name].module.when[0]} in uniforge.toml")


def test_a_module_that_joins_for_the_apps_own_use_waits_for_it(tmp_path):
    """FAT (app_uses) joins only when the app's own code reaches the VFS, not when only the libc's look-ups do."""
    providable = {"uf_blkdev_get", "memcpy"}
    assert _joining(app(tmp_path, False, True), ["vfs"], MODULES, providable, reaching()) == {}
    assert list(_joining(app(tmp_path, False, True), ["vfs"], MODULES, providable, reaching("uf_vfs_init"))) == ["fat"]


def test_the_consoles_input_joins_fd_when_the_app_reaches_what_reads_it(tmp_path):
    """stdin (app_uses: symbols, no uniforge.toml key) joins fd when the app's own code reaches one of them, and
    says which."""
    manifest = app(tmp_path, False, False)
    assert _joining(manifest, ["fd"], MODULES, set(), reaching("fopen", "printf")) == {}
    wanted = _joining(manifest, ["fd"], MODULES, set(), reaching("read", "printf"))
    assert list(wanted) == ["stdin"]
    assert (wanted["stdin"].by, wanted["stdin"].symbol) == ("module fd", "read in the app's code")


def test_nothing_joins_a_module_that_is_not_linked(tmp_path):
    assert _joining(app(tmp_path, True, True), ["console"], MODULES, {"uf_embedded_tree", "uf_blkdev_get", "memcpy"},
                    reaching("uf_vfs_init", "read")) == {}


def test_uniforge_modules_lists_every_module_with_where_it_builds():
    rows = {r["name"]: r for r in json.loads(uniforge("modules", "--json", check=True).stdout)["modules"]}
    on_disk = {toml.parent.name for toml in modules.libos_dir().glob("*/module.toml")}
    assert set(rows) == on_disk
    for name, r in rows.items():
        assert r["summary"] and r["version"] and r["arches"] and r["platforms"], r
    assert (rows["gic"]["arches"], rows["gic"]["platforms"]) == (["armv7"], ["qemu", "xen"])      # ARM only
    assert (rows["virtio-blk"]["arches"], rows["virtio-blk"]["platforms"]) == (["armv7", "x86_64"], ["qemu"])
    assert rows["fat"]["depends"] == ["vfs"]
    text = " ".join(uniforge("modules", check=True).stdout.split())
    for name in rows:
        assert f" {name} " in text
