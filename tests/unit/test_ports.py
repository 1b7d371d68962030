"""Ports as data: every port in ports/ reads (its [port] table and its manifest's keys), `uniforge port list` shows
them, an unknown port and a failing build step are one line (the step's, with its log's path), and a port adds files
to the sources but never replaces one."""
import re
import tomllib

import pytest

from uniforge.building import ports, targets
from uniforge.core import cache
from uniforge.core.errors import CompileError, ExitCode, ManifestError
from uniforge.testing import uniforge


def test_every_port_reads_and_pins_its_sources():
    assert set(ports.names()) >= {"bzip2", "lua", "nginx", "sqlite3", "tinyxml2"}
    for name in ports.names():
        port = ports.load(name)
        assert len(port.table.dsc_sha256) == 64 and int(port.table.dsc_sha256, 16) >= 0, name
        assert port.table.check.expect and port.app.get("build") and port.app.get("link_from"), name


def test_port_list_and_an_unknown_port():
    listed = uniforge("port", "list", check=True).stdout
    assert re.search(r"^nginx +nginx 1\.22\.1-9\+deb12u9: HTTP server", listed, re.MULTILINE), listed
    proc = uniforge("port", "build", "nosuchport")
    assert proc.returncode == ExitCode.MANIFEST, proc.stderr
    assert proc.stderr.splitlines()[0].startswith("uniforge: error: no port 'nosuchport' (ports: bzip2, "), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def fake_port(tmp_path, monkeypatch):
    """A port in a folder of ports of its own, whose "Debian sources" are a folder made here (no fetch)."""
    tree = tmp_path / "sources"
    tree.mkdir()
    (tree / "main.c").write_text("int main(void) { return 0; }\n")
    folder = tmp_path / "ports" / "fake"
    folder.mkdir(parents=True)
    monkeypatch.setattr(ports, "ports_dir", lambda: tmp_path / "ports")
    monkeypatch.setattr(ports.Port, "source_tree", lambda self: tree)

    def write(build: list[str], **files: str):
        data = {"name": "fake", "build": build, "link_from": "fake"}
        text = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in data.items())
        (folder / "uniforge.toml").write_text(
            text + '[port]\npackage = "fake"\nversion = "1"\ndsc_sha256 = "' + "0" * 64 + '"\nsummary = "x"\n'
                   'check = { expect = "x" }\n')
        tomllib.loads((folder / "uniforge.toml").read_text())
        for name, content in files.items():
            (folder / name).write_text(content)
        return ports.load("fake")
    return write


def test_a_failing_step_names_itself_and_its_log(fake_port, tmp_path):
    port = fake_port(["$CC -c main.c", "echo the compiler said no >&2; false"])
    with pytest.raises(CompileError) as failed:
        ports.built(port, targets.load("qemu-x86_64"))
    assert "port fake for qemu-x86_64: `echo the compiler said no >&2; false` failed with status 1" in \
        failed.value.message
    log = cache.cache_root() / "port-logs" / "fake.qemu-x86_64.log"
    assert str(log) in failed.value.hint and "the compiler said no" in log.read_text()


def test_a_port_never_replaces_a_source_file(fake_port):
    port = fake_port(["true"], **{"main.c": "int main(void) { return 1; }\n"})
    with pytest.raises(ManifestError, match="main.c would replace the source package's file of that name"):
        ports.built(port, targets.load("qemu-x86_64"))
