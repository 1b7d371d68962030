"""Every JSON document a script reads (`--json` of build, run, inspect, targets, modules, doctor, disk ls; bench's in
test_bench.py, port list's in tests/unit/test_json_schemas.py, port run's in test_debian.py) is what its schema says
(toolchain/uniforge/api/schemas/, docs/json.md), carries "schema": 1, and says the same as the Python API. That the
schemas themselves are valid and able to refuse a document is tests/unit/test_json_schemas.py's."""
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

import uniforge
from conftest import copy_example, uniforge as cli
from uniforge.api.schema import VERSION, schema_file


def check(name: str, document: dict) -> dict:
    jsonschema.validate(document, json.loads(schema_file(name).read_text()))
    assert document["schema"] == VERSION
    return document


def cli_json(*args: str, cwd=None, code: int = 0) -> dict:
    """The command with --json (before the guest's arguments, if any)."""
    at = args.index("--") if "--" in args else len(args)
    proc = cli(*args[:at], "--json", *args[at:], cwd=cwd)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    folder = copy_example("hello", tmp_path_factory.mktemp("json"))
    report = check("build", cli_json("build", cwd=folder))
    return folder, report


def test_build(hello):
    folder, report = hello
    image = folder / "build" / "hello.qemu-x86_64"
    assert report["image"] == str(image) and report["image_bytes"] == image.stat().st_size
    assert {(a["kind"], a["path"]) for a in report["artifacts"]} == {("image", str(image)),
                                                                      ("debug", f"{image}.dbg")}
    assert set(report["modules"]) == set(report["manifest"]["modules"])
    assert all(m["file"] + m["bss"] > 0 and m["why"] for m in report["modules"].values())


def test_run(hello, tmp_path):
    folder, _ = hello
    done = check("run", cli_json("run", "build/hello.qemu-x86_64", "--timeout", "60", "--", "x", "exit=3",
                                 cwd=folder, code=3))
    assert (done["status"], done["ending"], done["crash"]) == (3, "exited", None)
    assert Path(done["console"]).read_text().replace("\r\n", "\n") == "Hello, world!\nargv[1] = x\nargv[2] = exit=3\n"
    log = tmp_path / "crash.log"
    crashed = check("run", cli_json("run", "build/hello.qemu-x86_64", "--timeout", "60", "--console-log", str(log),
                                    "--", "crash", cwd=folder, code=127))
    assert crashed["ending"] == "crashed" and crashed["console"] == str(log)
    assert any(" in crash at main.c:" in frame for frame in crashed["crash"]["backtrace"]), crashed


def test_inspect(hello):
    folder, report = hello
    info = check("inspect", cli_json("inspect", "build/hello.qemu-x86_64", cwd=folder))
    assert info == uniforge.Image.open(folder / "build/hello.qemu-x86_64").inspect()
    assert {k: info[k] for k in report["manifest"]} == report["manifest"]


def test_targets_modules_doctor():
    found = check("targets", cli_json("targets"))["targets"]
    assert [t["name"] for t in found] == [t.name for t in uniforge.targets()]
    assert {t["name"] for t in found if "xen" in t["capabilities"]} == {t.name for t in uniforge.targets("xen")}
    modules = check("modules", cli_json("modules"))["modules"]
    assert {"boot", "console", "vfs"} <= {m["name"] for m in modules}
    proc = cli("doctor", "--json")
    doctor = check("doctor", json.loads(proc.stdout))
    assert proc.returncode == (0 if doctor["ok"] else 10)
    assert [c["name"] for c in doctor["checks"]] == [c.name for c in uniforge.doctor()]


def test_disk_ls(tmp_path):
    if not shutil.which("mdir"):
        pytest.skip("mtools is not installed (scripts/install-host-deps installs it)")
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "A long name.txt").write_text("hello\n")
    (source / "SHORT.TXT").write_bytes(bytes(70000))
    cli("disk", "create", str(tmp_path / "d.img"), "--size", "16M", "--from", str(source), check=True)
    listing = check("disk-ls", cli_json("disk", "ls", str(tmp_path / "d.img")))
    entries = {e["name"]: (e["dir"], e["bytes"]) for e in listing["entries"]}
    assert entries == {"A long name.txt": (False, 6), "SHORT.TXT": (False, 70000), "sub": (True, None)}
