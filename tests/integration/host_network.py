"""The host side of the network tests: a private network namespace with a tap device (so the tests never touch the
host's own interfaces; a guest boots there with Image.boot(net="tap:NAME", netns=...)), and the line a guest prints
with its IPv4 configuration."""
from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from uniforge.core.paths import uniforge_command, uniforge_environment

GUEST_LIMIT = 3600  # seconds: `uniforge run --timeout`, so a guest never outlives a test session by accident
ADDRESS_LINE = re.compile(r"uniforge: net: (?P<addr>[\d.]+)/(?P<prefix>\d+)(?: gw (?P<gw>[\d.]+))?"
                          r"(?: dns (?P<dns>[\d.]+))? \((?P<how>\w+)\)")
_names = itertools.count()


class Guest:
    """`uniforge run IMAGE FLAGS -- ARGS` in the background; its console is collected as it comes. Only test_xl
    still uses it, until it moves to the plugin's fixtures as the other network tests did (Image.boot)."""

    def __init__(self, folder: Path, image: str, flags: list[str], args: list[str], netns: str | None = None):
        command = uniforge_command("run", image, "--timeout", str(GUEST_LIMIT), *flags, "--", *args)
        if netns:
            command = ["ip", "netns", "exec", netns, *command]
        self.command = command
        self.proc = subprocess.Popen(command, cwd=folder, env=uniforge_environment(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._out = bytearray()
        self._err = bytearray()
        self._readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True)]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream, sink: bytearray) -> None:
        while chunk := stream.read1(65536):
            sink.extend(chunk)

    @property
    def console(self) -> str:
        return self._out.decode(errors="replace").replace("\r\n", "\n")

    def report(self) -> str:
        """Everything the guest and the runner said, for assertion messages."""
        return (f"command: {' '.join(self.command)}\nexit: {self.proc.poll()}\n--- console\n{self.console}"
                f"--- stderr\n{self._err.decode(errors='replace')}")

    def wait_for(self, pattern: str | re.Pattern, timeout: float = 300) -> re.Match:
        """Waits until the console shows `pattern`; fails with the whole console if the guest ends first or
        `timeout` seconds pass (a generous bound for a busy machine, not a performance check)."""
        deadline = time.monotonic() + timeout
        while True:
            if m := re.search(pattern, self.console):
                return m
            if self.proc.poll() is not None:
                for reader in self._readers:
                    reader.join(5)
                if m := re.search(pattern, self.console):
                    return m
                pytest.fail(f"the guest ended before printing {pattern!r}\n{self.report()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} from the guest after {timeout} s\n{self.report()}")
            time.sleep(0.1)

    def assert_alive(self) -> None:
        assert self.proc.poll() is None, f"the guest ended\n{self.report()}"
        assert "crashed" not in self.console, self.report()

    def stop(self) -> None:
        """Ends it as Ctrl-C would (uniforge then ends QEMU), killing it if that takes too long."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.join(5)


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
