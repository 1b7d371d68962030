"""`uniforge doctor`'s checks, with what they look at stood in for: a missing QEMU fails, the targets' ways group
their host needs into one check each, and a failed check is ToolError's exit status. No QEMU is started."""
from types import SimpleNamespace

import uniforge.platforms
from uniforge.api import checks as doctor
from uniforge.api.checks import Check, Status
from uniforge.cli.doctor import show_doctor
from uniforge.core.errors import ExitCode
from uniforge.platforms.way import Support


def test_missing_qemu_fails_or_warns_by_need():
    required = doctor._check_qemu("qemu-system-nonexistent", required=True)
    optional = doctor._check_qemu("qemu-system-nonexistent", required=False)
    assert (required.status, optional.status) == (Status.FAIL, Status.WARN)
    assert "not found" in required.detail and "apt-get install" in required.fix


def test_each_ways_need_is_one_check_over_its_targets(monkeypatch):
    ways = {"a": ("Xen hypervisors", Support(True, "amd64 fetched")),
            "b": ("Xen hypervisors", Support(False, "apt does not know armhf")),
            "c": ("Xen hypervisors", Support(False, "apt does not know armhf")),
            "d": ("KVM guests", Support(True, "KVM runs guests")),
            "e": (None, Support(True, "software emulation"))}
    monkeypatch.setattr(doctor.targets, "names", lambda: sorted(ways))
    monkeypatch.setattr(doctor.targets, "load", lambda name: name)

    def way_for(name):
        check, support = ways[name]
        return SimpleNamespace(host_check=(check, f"fix {check}") if check else None, host_support=lambda: support)

    monkeypatch.setattr(uniforge.platforms, "way_for", way_for)
    checks = {c.name: c for c in doctor._check_ways()}
    assert set(checks) == {"Xen hypervisors", "KVM guests"}
    xen = checks["Xen hypervisors"]
    assert xen.status is Status.WARN and xen.fix == "fix Xen hypervisors"
    assert xen.detail == "amd64 fetched; apt does not know armhf"           # each reason once
    assert checks["KVM guests"] == Check("KVM guests", Status.OK, "KVM runs guests", "")


def test_a_failed_check_is_tool_errors_status(monkeypatch, capsys):
    from uniforge.cli import doctor as shown
    monkeypatch.setattr(shown, "check_host", lambda: [Check("x", Status.OK, "fine"), Check("y", Status.WARN, "meh")])
    assert show_doctor(as_json=True) == ExitCode.OK
    monkeypatch.setattr(shown, "check_host", lambda: [Check("z", Status.FAIL, "missing", "install it")])
    assert show_doctor(as_json=False) == ExitCode.TOOL
    assert "z: missing" in capsys.readouterr().out
