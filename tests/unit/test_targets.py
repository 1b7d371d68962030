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


def test_xen_targets_say_how_the_runner_boots_them():
    names = ("xen-x86_64", "xen-x86_64-dom0", "xen-armv7", "xen-armv7-dom0", "xen-armv7-dom0less")
    domains = {name: targets.load(name).xen["domain"] for name in names}
    assert domains == {"xen-x86_64": "xl", "xen-x86_64-dom0": "dom0", "xen-armv7": "xl", "xen-armv7-dom0": "dom0",
                       "xen-armv7-dom0less": "domu"}
    assert targets.load("qemu-x86_64").xen is None


def test_xen_table_checked(tmp_path, monkeypatch):
    real = targets.targets_dir()
    monkeypatch.setattr(targets, "targets_dir", lambda: tmp_path)
    for name in ("qemu-x86_64", "xen-x86_64"):
        (tmp_path / f"{name}.toml").write_text((real / f"{name}.toml").read_text())
    (tmp_path / "bad-domain.toml").write_text('inherits = "xen-x86_64"\n[xen]\ndomain = "domU"\n')
    with pytest.raises(TargetError, match="'domain' must be one of xl, dom0, domu"):
        targets.load("bad-domain")
    (tmp_path / "no-rig.toml").write_text('inherits = "qemu-x86_64"\nplatform = "xen"\n[xen]\npackage = "p"\n'
                                          'file = "f"\ndomain = "xl"\nguest_type = "pvh"\n')
    with pytest.raises(TargetError, match="a domU under xl needs the rig's apt_arch, dom0_kernel"):
        targets.load("no-rig")
    (tmp_path / "no-table.toml").write_text('inherits = "qemu-x86_64"\nplatform = "xen"\n')
    with pytest.raises(TargetError, match=r"\[xen\] table goes with platform"):
        targets.load("no-table")
