"""The host side of the network tests: a private network namespace with a tap device (so the tests never touch the
host's own interfaces; a guest boots there with Image.boot(net="tap:NAME", netns=...)), and the line a guest prints
with its IPv4 configuration."""
from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess

import pytest

ADDRESS_LINE = re.compile(r"uniforge: net: (?P<addr>[\d.]+)/(?P<prefix>\d+)(?: gw (?P<gw>[\d.]+))?"
                          r"(?: dns (?P<dns>[\d.]+))? \((?P<how>\w+)\)")
_names = itertools.count()


def require_namespaces() -> None:
    """Skip, saying why, unless this host lets us make network namespaces and tap devices."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces and tap devices need root")
    if not shutil.which("ip"):
        pytest.skip("no `ip` command (iproute2)")
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("no /dev/net/tun: this host cannot make tap devices")
    probe = f"ufprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    tap = subprocess.run(["ip", "-n", probe, "tuntap", "add", "ufprobe", "mode", "tap"], capture_output=True,
                         text=True, check=False)
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    if tap.returncode != 0:
        pytest.skip(f"cannot create a tap device: {tap.stderr.strip()}")


class Namespace:
    """A private network namespace `name` with loopback up; run(...) runs a command inside it."""

    def __init__(self):
        self.name = f"uftest{os.getpid()}n{next(_names)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run("ip", "link", "set", "lo", "up")
        # No IPv6 chatter (router solicitations, MLD) on the test links: every frame the guest sees is ours.
        self.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")

    def run(self, *command: str, check: bool = True, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ip", "netns", "exec", self.name, *command], capture_output=True, text=True,
                              timeout=timeout, check=False, **kwargs)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(command)} in {self.name} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def popen(self, *command: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **kwargs)

    def add_tap(self, name: str, address: str | None = None) -> None:
        """A persistent tap device (QEMU attaches to it later), up, with `address` (CIDR) if given."""
        self.run("ip", "tuntap", "add", name, "mode", "tap")
        if address:
            self.run("ip", "addr", "add", address, "dev", name)
        self.run("ip", "link", "set", name, "up")

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
