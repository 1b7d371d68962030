"""Every JSON document a script reads (`--json` of build, run, inspect, targets, modules, doctor, disk ls, port build,
port run; bench's in test_bench.py, port list's in tests/unit/test_json_schemas.py) is what its schema says
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


@pytest.fixture
def hello_port(tmp_path, monkeypatch):
    """A port made here whose "Debian sources" are the hello example, built by a one-line build system of its own
    with `uniforge cc` (no fetch, a build of seconds); the commands run in this process, so they see it."""
    from uniforge.building import ports
    sources = copy_example("hello", tmp_path)
    folder = tmp_path / "ports" / "hello"
    folder.mkdir(parents=True)
    (folder / "uniforge.toml").write_text(
        'name = "hello"\nbuild = ["$CC -o hello main.c"]\nlink_from = "hello"\n\n[port]\npackage = "hello"\n'
        f'version = "1"\ndsc_sha256 = "{"0" * 64}"\nsummary = "the hello example as a port"\n'
        'check = { expect = "Hello" }\n')
    monkeypatch.setattr(ports, "ports_dir", lambda: tmp_path / "ports")
    monkeypatch.setattr(ports.Port, "source_tree", lambda self: sources)
    return tmp_path


def in_process(*args: str) -> tuple[int, dict]:
    """`uniforge ARGS` run here (so it sees hello_port): what it returns (its exit status) and the JSON it printed."""
    from click.testing import CliRunner
    from uniforge.cli.main import cli as command_line
    done = CliRunner().invoke(command_line, list(args), standalone_mode=False, input=b"")
    assert done.exception is None, done.output
    return done.return_value, json.loads(done.stdout)


def test_port_build_and_port_run(hello_port):
    """`port build --json` is a build report, `port run --json` what `run --json` prints: the status and ending, the
    console in --console-log's file, or by default beside the port's image."""
    _, built = in_process("port", "build", "hello", "--json")
    image = Path(check("build", built)["image"])
    assert image.parent.parts[-3:] == ("port-images", "hello", "qemu-x86_64") and built["app"] == "hello"
    log = hello_port / "console.txt"
    status, done = in_process("port", "run", "hello", "--json", "--console-log", str(log), "--timeout", "60",
                              "--", "x", "exit=3")
    assert (status, check("run", done)["status"], done["ending"], done["crash"]) == (3, 3, "exited", None)
    assert (done["image"], done["console"]) == (str(image), str(log))
    assert log.read_text().replace("\r\n", "\n") == "Hello, world!\nargv[1] = x\nargv[2] = exit=3\n"
    status, done = in_process("port", "run", "hello", "--json", "--timeout", "60")
    assert (status, check("run", done)["console"]) == (0, f"{image}.console")
    assert Path(done["console"]).read_text().startswith("Hello, world!")
