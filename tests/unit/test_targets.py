import pytest

from uniforge.building import targets
from uniforge.core.errors import TargetError


def test_every_target_loads():
    names = targets.names()
    assert {"qemu-x86_64", "kvm-x86_64", "qemu-x86_64-q35"} <= set(names)
    for name in names:
        t = targets.load(name)
        assert t.arch and t.modules and t.qemu.binary and t.bench.floor


def test_inherits_merges_tables():
    tcg, kvm, q35 = (targets.load(n) for n in ("qemu-x86_64", "kvm-x86_64", "qemu-x86_64-q35"))
    assert kvm.qemu.accel == "kvm" and tcg.qemu.accel == "tcg"
    assert kvm.qemu.machine == "microvm" and kvm.qemu.args == tcg.qemu.args
    assert q35.qemu.machine == "q35" and q35.arch == "x86_64" and q35.modules == (*tcg.modules, "multiboot2")
    assert "/usr/share/qemu/qboot.rom" in tcg.qemu.args
    # A table merges key by key: kvm-x86_64 changes one key of [bench] and keeps the others.
    assert (kvm.bench.floor, kvm.bench.peer, kvm.bench.host_tsc) == ("null-x86_64", "linux", False)


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
    runners = {name: targets.load(name).runner for name in names}
    assert runners == {"xen-x86_64": "xen-xl", "xen-x86_64-dom0": "xen-dom0", "xen-armv7": "xen-xl",
                       "xen-armv7-dom0": "xen-dom0", "xen-armv7-dom0less": "xen-dom0less"}
    xl = targets.load("xen-armv7").xl
    assert (xl.apt_arch, xl.dom0_kernel, xl.bus) == ("armhf", "linux-image-armmp-lpae", "mmio")
    # The rig's TCG CPU has no invariant TSC: its x86_64 domains get the native TSC a real host would give them.
    assert xl.domain_settings == () and targets.load("xen-x86_64").xl.domain_settings == ('tsc_mode="native"',)
    assert targets.load("xen-armv7-dom0less").xl is None
    assert targets.load("qemu-x86_64").xen is None and targets.load("qemu-x86_64").runner == "qemu"
    dom0 = targets.load("xen-armv7-dom0")
    assert dom0.xen.load_address == 0x50000000 and dom0.xen.dom0_loader == "guest-loader"
    assert dom0.compiler.position_independent and not targets.load("xen-armv7").compiler.position_independent
    assert dom0.xl is None


def write_targets(tmp_path, monkeypatch, **files):
    """A targets folder with qemu-x86_64 and xen-x86_64 (and what it inherits) as they are, and `files`."""
    real = targets.targets_dir()
    monkeypatch.setattr(targets, "targets_dir", lambda: tmp_path)
    for name in ("qemu-x86_64", "xen-x86_64-dom0", "xen-x86_64"):
        (tmp_path / f"{name}.toml").write_text((real / f"{name}.toml").read_text())
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text)


@pytest.mark.parametrize("text, message", [
    ('inherits = "xen-x86_64"\n[xen]\ndomain = "dom0"\n', r"\[xen\]: unknown key 'domain'"),
    ('inherits = "xen-x86_64"\n[xen]\nreserved_mib = "448"\n', r"\[xen\]: key 'reserved_mib' must be an integer"),
    ('inherits = "qemu-x86_64"\n[xen]\npackage = "x"\n', r"\[xen\]: missing required key 'file'"),
    ('inherits = "qemu-x86_64"\n[qemu]\nmemory = "64MB"\n', r"\[qemu\]: key 'memory': '64MB' is not a size"),
    ('inherits = "qemu-x86_64"\n[compiler]\nposition_independent = "yes"\n', "must be true or false"),
    ('inherits = "qemu-x86_64"\nrunner = 1\n', "key 'runner' must be a string"),
])
def test_tables_are_checked_against_their_fields(tmp_path, monkeypatch, text, message):
    write_targets(tmp_path, monkeypatch, bad=text)
    with pytest.raises(TargetError, match=message):
        targets.load("bad")


def test_every_key_a_target_file_uses_is_a_field(tmp_path, monkeypatch):
    """The check derived from the dataclasses' fields accepts what the real files say (they all load) and names
    the keys it knows when one is misspelt."""
    write_targets(tmp_path, monkeypatch, bad='inherits = "qemu-x86_64"\n[bench]\nflor = "x"\n')
    with pytest.raises(TargetError, match="unknown key 'flor' \\(did you mean 'floor'\\?\\)"):
        targets.load("bad")
