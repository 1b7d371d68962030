"""The guest's devices from `uniforge run`'s flags: a NIC (`--net`, `-p`) and disks (`--disk`), as QEMU options.

The flags follow docker's and kraft's conventions (`-p 8080:80`, `-p 5353:53/udp`). The QEMU device models come
from the target (`[qemu] nic_device`, `disk_device`), so one flag works on microvm (virtio-mmio), q35 (virtio-pci)
and ARM virt alike. Everything here is checked before QEMU starts, so a mistake is one line, not QEMU's stderr.
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import RunError

NETDEV_ID = "net0"
_PUBLISH = re.compile(r"^(?:(?P<address>\d{1,3}(?:\.\d{1,3}){3}):)?(?P<host>\d+):(?P<guest>\d+)(?:/(?P<proto>\w+))?$")
_SYS_NET = Path("/sys/class/net")
_NETNS = Path("/run/netns")         # where `ip netns add` puts the namespaces it names
_IFF_TAP = 0x0002
_CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class PortForward:
    """A host port that QEMU's user-mode network forwards to a guest port (`-p [ADDRESS:]HOST:GUEST[/udp]`)."""

    host_port: int
    guest_port: int
    protocol: str = "tcp"
    address: str = ""  # host address to listen on; empty: all of them, as docker

    def hostfwd(self) -> str:
        return f"{self.protocol}:{self.address}:{self.host_port}-:{self.guest_port}"


@dataclass(frozen=True)
class Network:
    """`--net`: "user" (QEMU's user-mode NAT with DHCP, no root needed), "tap" (an existing host tap device) or
    "none" (no NIC at all)."""

    mode: str = "none"
    tap: str = ""
    forwards: tuple[PortForward, ...] = ()
    netns: str = ""         # the network namespace (`ip netns`) QEMU runs in, e.g. the tap's; empty: ours


NO_NETWORK = Network()


@dataclass(frozen=True)
class Disk:
    path: Path
    read_only: bool = False


def parse_publish(spec: str) -> PortForward:
    """`[ADDRESS:]HOSTPORT:GUESTPORT[/tcp|/udp]` -> PortForward; RunError when malformed."""
    m = _PUBLISH.match(spec.strip())
    if not m:
        raise RunError(f"-p {spec}: expected HOSTPORT:GUESTPORT[/udp], e.g. -p 8080:80")
    proto = (m["proto"] or "tcp").lower()
    if proto not in ("tcp", "udp"):
        raise RunError(f"-p {spec}: protocol must be tcp or udp, not {m['proto']!r}")
    host, guest = int(m["host"]), int(m["guest"])
    for port in (host, guest):
        if not 1 <= port <= 65535:
            raise RunError(f"-p {spec}: port {port} is not in 1-65535")
    address = m["address"] or ""
    if address and any(int(part) > 255 for part in address.split(".")):
        raise RunError(f"-p {spec}: {address} is not an IPv4 address")
    return PortForward(host, guest, proto, address)


def parse_network(net: str | None, publish: Sequence[str], netns: str | None = None) -> Network:
    """`--net`, the `-p` flags and `--netns` -> Network. Without --net: user networking if anything is published,
    else no NIC."""
    forwards = tuple(parse_publish(spec) for spec in publish)
    seen: set[tuple[str, int]] = set()
    for f in forwards:
        if (f.protocol, f.host_port) in seen:
            raise RunError(f"-p: host port {f.host_port}/{f.protocol} is published twice")
        seen.add((f.protocol, f.host_port))
    if net is None:
        net = "user" if forwards else "none"
    if net in ("user", "none"):
        mode, tap = net, ""
    elif net.startswith("tap:") and net[4:]:
        mode, tap = "tap", net[4:]
    else:
        raise RunError(f"--net {net}: expected user, tap:NAME or none")
    if forwards and mode != "user":
        raise RunError(f"-p publishes ports through QEMU's user networking: it cannot be used with --net {net}")
    if netns and not (_NETNS / netns).exists():
        raise RunError(f"--netns {netns}: there is no network namespace {netns}",
                       hint=f"create it first, e.g. `ip netns add {netns}`")
    return Network(mode, tap, forwards, netns or "")


def parse_disk(spec: str) -> Disk:
    """`FILE[:ro]` -> Disk; RunError when the file does not exist."""
    read_only = spec.endswith(":ro")
    path = Path(spec[:-3] if read_only else spec)
    if not path.is_file():
        raise RunError(f"--disk {spec}: no such file {path}",
                       hint="a disk is a raw image file, e.g. `truncate -s 64M disk.img`")
    return Disk(path.resolve(), read_only)


def check_tap(network: Network) -> None:
    """A tap device must exist before QEMU starts: as root QEMU would quietly create a new, unconfigured one."""
    name = network.tap
    if network.netns:       # /sys shows our namespace's interfaces: ask iproute2 about the other one's
        shown = subprocess.run(["ip", "-n", network.netns, "-d", "link", "show", "dev", name], capture_output=True,
                               text=True, check=False)
        exists, is_tap = shown.returncode == 0, " tun type tap " in shown.stdout
    else:
        interface = _SYS_NET / name
        flags = interface / "tun_flags"  # only tun/tap devices have it; IFF_TAP (0x2) tells a tap from a tun
        exists, is_tap = interface.exists(), flags.exists() and bool(int(flags.read_text(), 16) & _IFF_TAP)
    where = f" in network namespace {network.netns}" if network.netns else ""
    if not exists:
        raise RunError(f"--net tap:{name}: there is no network interface {name}{where}",
                       hint=f"create it first, e.g. `ip tuntap add {name} mode tap user $USER && ip link set {name} up`")
    if not is_tap:
        raise RunError(f"--net tap:{name}: {name} is not a tap device")


@contextmanager
def launched_in(netns: str, before: Callable[[], None]) -> Iterator[Callable[[], None]]:
    """The preexec_fn for a child in network namespace `netns` (empty: ours), as `ip netns exec` puts it there:
    `before`, then setns. The namespace is opened here, in the parent, for the launch."""
    if not netns:
        yield before
        return
    fd = os.open(_NETNS / netns, os.O_RDONLY | os.O_CLOEXEC)
    libc = ctypes.CDLL(None, use_errno=True)

    def in_child() -> None:
        before()
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"cannot enter network namespace {netns}")

    try:
        yield in_child
    finally:
        os.close(fd)


def qemu_options(nic_device: str, disk_device: str, network: Network, disks: Sequence[Disk]) -> list[str]:
    """QEMU options for the NIC (netdev `net0`) and the disks (`disk0`, `disk1`, ... in the order given).
    An empty device model means the target has none (RunError if it is needed)."""
    if network.mode != "none" and not nic_device:
        raise RunError("this target has no network device (no `nic_device` in its [qemu] table)")
    if disks and not disk_device:
        raise RunError("this target has no disk device (no `disk_device` in its [qemu] table)")
    options: list[str] = []
    if network.mode == "user":
        netdev = f"user,id={NETDEV_ID}" + "".join(f",hostfwd={f.hostfwd()}" for f in network.forwards)
    elif network.mode == "tap":
        netdev = f"tap,id={NETDEV_ID},ifname={escape(network.tap)},script=no,downscript=no"
    else:
        netdev = ""
    if netdev:
        options += ["-netdev", netdev, "-device", f"{nic_device},netdev={NETDEV_ID}"]
    for i, disk in enumerate(disks):
        drive = f"file={escape(str(disk.path))},if=none,id=disk{i},format=raw"
        options += ["-drive", drive + (",readonly=on" if disk.read_only else ""),
                    "-device", f"{disk_device},drive=disk{i}"]
    return options


def explain_qemu_error(stderr: str, network: Network) -> str | None:
    """QEMU's error about our devices as one line for the user, or None if it is about something else."""
    if m := re.search(r"Could not set up host forwarding rule '(\w+):[^:]*:(\d+)-", stderr):
        return f"cannot publish port {m[2]}/{m[1]}: it is in use on this host (or not allowed)"
    if network.mode == "tap" and re.search(r"(/dev/net/tun|TUNSETIFF).*(Permission denied|not permitted)", stderr):
        return (f"cannot open tap device {network.tap}: permission denied "
                f"(run as root, or create it with `ip tuntap add {network.tap} mode tap user $USER`)")
    if network.mode == "tap" and "Device or resource busy" in stderr:
        return f"tap device {network.tap} is in use by another program"
    if m := re.search(r"Failed to get .*lock\s+Is another process using the image \[([^\]]*)\]", stderr):
        return f"disk {m[1]} is in use by another program (or given twice): QEMU locks disk images"
    if m := re.search(r"Could not open '([^']*)': (.*)", stderr):
        return f"cannot open disk {m[1]}: {m[2].strip()}"
    return None


def escape(value: object) -> str:
    """A value inside a QEMU option list (e.g. a file name in -drive file=...): commas are doubled."""
    return str(value).replace(",", ",,")


def free_port() -> int:
    """A port nobody on this host listens on right now, for TCP and UDP alike (for a published guest port whose
    host side does not matter: each pytest-xdist worker gets its own)."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def port_free(port: int, protocol: str = "tcp", address: str = "127.0.0.1") -> bool:
    """Whether the host port can be bound now."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((address or "0.0.0.0", port))
        except OSError:
            return False
        return True
