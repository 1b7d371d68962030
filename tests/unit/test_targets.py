import pytest

from uniforge import targets
from uniforge.errors import TargetError


def test_every_target_loads():
    names = targets.names()
    assert {"qemu-x86_64", "kvm-x86_64", "qemu-x86_64-q35"} <= set(names)
    for name in names:
        t = targets.load(name)
        assert t.arch and t.modules and t.qemu["binary"]


def test_inherits_merges_tables():
    tcg, kvm, q35 = (targets.load(n) for n in ("qemu-x86_64", "kvm-x86_64", "qemu-x86_64-q35"))
    assert kvm.qemu["accel"] == "kvm" and tcg.qemu["accel"] == "tcg"
    assert kvm.qemu["machine"] == "microvm" and kvm.qemu["args"] == tcg.qemu["args"]
    assert q35.qemu["machine"] == "q35" and q35.arch == "x86_64" and q35.modules == tcg.modules
    assert "/usr/share/qemu/qboot.rom" in tcg.qemu["args"]


def test_unknown_target_suggests():
    with pytest.raises(TargetError) as e:
        targets.load("qemu-x86-64")
    assert "unknown target 'qemu-x86-64'" in e.value.message and "qemu-x86_64" in e.value.hint


def test_bad_target_file(tmp_path, monkeypatch):
    monkeypatch.setattr(targets, "targets_dir", lambda: tmp_path)
    (tmp_path / "a.toml").write_text('inherits = "b"\n')
    (tmp_path / "b.toml").write_text('inherits = "a"\n')
    with pytest.raises(TargetError, match="cycle"):
        targets.load("a")
    (tmp_path / "c.toml").write_text('summary = "x"\narhc = "x86_64"\n')
    with pytest.raises(TargetError, match="unknown key 'arhc'.*did you mean 'arch'"):
        targets.load("c")
