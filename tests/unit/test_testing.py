"""The helpers the tests and the bench scripts share (uniforge.testing): the QEMU process finder, free ports; and the
targets' capabilities (uniforge.targets), read from their data."""
import os
import shutil
import socket
import subprocess

import pytest

import uniforge
from uniforge import testing
from uniforge.api.host import capabilities
from uniforge.building import targets


def test_capabilities_come_from_the_targets_data():
    for name in targets.names():
        t = targets.load(name)
        caps = capabilities(t)
        assert "boots" in caps
        assert ("net" in caps) == bool(t.qemu.nic_device) and ("disk" in caps) == bool(t.qemu.disk_device)
        assert ("xen" in caps) == (t.xen is not None)
    xen = {n for n in targets.names() if targets.load(n).xen}
    assert {t.name for t in uniforge.targets("xen")} == xen
    assert not xen & {t.name for t in uniforge.targets("timed")}        # bench refuses Xen
    with pytest.raises(ValueError, match="unknown capabilities \\['wifi'\\]"):
        uniforge.targets("net", "wifi")


def test_qemu_processes_are_found_by_parent_and_by_what_they_name(tmp_path):
    fake = tmp_path / "qemu-system-fake"
    fake.symlink_to(shutil.which("sleep"))
    other = tmp_path / "not-qemu"
    other.symlink_to(shutil.which("sleep"))
    seconds = f"600.{os.getpid()}"                          # a word no other process's command line has
    with subprocess.Popen([fake, seconds]) as qemu, subprocess.Popen([other, seconds]) as sleeper:
        try:
            # the session may hold QEMUs of its own (the xl rigs): ours is among our children, and alone by name
            assert qemu.pid in testing.qemu_processes(parent=os.getpid())
            assert sleeper.pid not in testing.qemu_processes(parent=os.getpid())
            assert testing.qemu_processes(naming=seconds) == [qemu.pid]
            assert testing.qemu_processes(parent=os.getpid(), naming=seconds) == [qemu.pid]
            assert testing.qemu_processes(parent=os.getpid(), naming="no such image") == []
            assert sleeper.pid not in testing.qemu_processes()
        finally:
            qemu.kill()
            sleeper.kill()


def test_a_free_port_can_be_bound_for_tcp_and_udp():
    port = testing.free_port()
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", port))
        udp.bind(("127.0.0.1", port))
