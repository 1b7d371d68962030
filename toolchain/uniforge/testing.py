"""Driving uniforge as its users do, for the test suite and the benchmark scripts (one copy of each helper): the
command line in a child process, an image's modules as `uniforge inspect` reports them, free ports, the QEMU
processes a runner started, and the targets that have a capability (read from their data, so a new target gets
every test its capabilities allow)."""

from __future__ import annotations

import json
import socket
import subprocess
from functools import cache
from pathlib import Path

from .building import image, targets
from .core.errors import BenchError
from .core.paths import uniforge_command, uniforge_environment
from .platforms import way_for
from .platforms.way import Support

# What a target can be tested for, from its data: "boots" (all), "net" and "disk" (it has the device models),
# "xen" (a [xen] table), "xl" (a domU under xl: an [xl] table), "position-independent", "raw-form" (its boot protocol has a flat form), "timed" (uniforge
# bench times its boots as plain processes), "emulated" (software emulation: runs on any host), "console" (the
# guest's console is a serial line of its own: the host's stdin in, its bytes out as they are).
CAPABILITIES = ("boots", "net", "disk", "xen", "xl", "position-independent", "raw-form", "timed", "emulated",
                "console")


def capabilities(target: targets.Target) -> set[str]:
    found = {"boots"}
    if target.qemu.nic_device:
        found.add("net")
    if target.qemu.disk_device:
        found.add("disk")
    if target.xen is not None:
        found.add("xen")
    if target.xl is not None:
        found.add("xl")
    if target.compiler.position_independent:
        found.add("position-independent")
    if target.boot in image.RAW_FORMS:
        found.add("raw-form")
    if target.qemu.accel == "tcg":
        found.add("emulated")
    if way_for(target).console_input:
        found.add("console")
    try:
        way_for(target).check_bench()
        found.add("timed")
    except BenchError:
        pass
    return found


def targets_with(*wanted: str) -> list[str]:
    """The names of the targets that have every capability in `wanted`."""
    unknown = set(wanted) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}: known {CAPABILITIES}")
    return [name for name in targets.names() if set(wanted) <= capabilities(targets.load(name))]


def one_per_arch(*wanted: str) -> list[str]:
    """For what does not depend on the machine: per arch, the first target (by name) with `wanted` that runs on
    any host."""
    chosen: dict[str, str] = {}
    for name in targets_with(*wanted, "emulated"):
        chosen.setdefault(targets.load(name).arch, name)
    return sorted(chosen.values())


@cache
def host_support(name: str) -> Support:
    """Whether this host can boot the target's images (asked once per target: the KVM probe boots a guest)."""
    return way_for(targets.load(name)).host_support()


def uniforge(*args: str, cwd: Path | str | None = None, timeout: float = 600, check: bool = False,
             env: dict[str, str] | None = None, input: str | bytes | None = None,
             text: bool = True) -> subprocess.CompletedProcess:
    """The real command line, in a child process, as a user runs it, with `input` as its stdin (else none: `uniforge
    run` passes its stdin to the guest); `text=False`: input and output as bytes, else text with U+FFFD for what is
    not UTF-8 (the guest's console is 8-bit clean); `check`: fail with everything it said."""
    proc = subprocess.run(uniforge_command(*args), cwd=cwd, env=env or uniforge_environment(), capture_output=True,
                          text=text, errors="replace" if text else None, timeout=timeout, input=input,
                          stdin=subprocess.DEVNULL if input is None else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"uniforge {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def image_modules(image_path: Path | str, cwd: Path | str | None = None) -> set[str]:
    """The library-OS modules linked into an image, as `uniforge inspect --json` reports them."""
    return set(json.loads(uniforge("inspect", "--json", str(image_path), cwd=cwd, check=True).stdout)["modules"])


def free_port() -> int:
    """A port nobody on this host listens on right now, for TCP and UDP alike."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def qemu_processes(*, parent: int | None = None, naming: Path | str | None = None) -> list[int]:
    """The QEMU processes running now: children of `parent` (a runner: QEMU runs in a session of its own), and
    those whose command line names `naming` (an image)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue            # it exited meanwhile, or is not ours to read
        comm, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if not comm.startswith("qemu-system"):
            continue
        if parent is not None and int(fields[1]) != parent:
            continue
        if naming is not None and str(naming).encode() not in cmdline:
            continue
        found.append(int(entry.name))
    return found
