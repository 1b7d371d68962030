"""The TCP/IP stack in a booted guest (tests/apps/netcheck) against peers this test runs on the host, through QEMU
user networking: the DHCP lease (or the static options), a UDP exchange, a 1 MiB TCP upload the guest sends and reads
back with poll() (guest connects out to 10.0.2.2, which is the host), the same over IPv6 (to fec0::2, the host's
::1, with the address QEMU's router advertisement gave), then a TCP connection the host opens to the guest through a
forwarded port, waited for with epoll and select; with the static options, also getaddrinfo through musl's resolver
and the stack's DNS stub address, answered by a DNS server this test runs."""
import re
import socket
import struct
import threading

import pytest
from conftest import app_dir, one_per_arch, targets_with

GUEST_PORT = 7000
pytestmark = pytest.mark.uniforge(needs=["net"])


class Peers:
    """A UDP echo and a TCP echo server on the host's loopback (the guest reaches 127.0.0.1 as 10.0.2.2, ::1 as
    fec0::2)."""

    def __init__(self, family=socket.AF_INET):
        loopback = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.udp = socket.socket(family, socket.SOCK_DGRAM)
        self.udp.bind((loopback, 0))
        self.tcp = socket.socket(family)
        self.tcp.bind((loopback, 0))
        self.tcp.listen()
        self.echoed = 0
        threading.Thread(target=self._udp, daemon=True).start()
        threading.Thread(target=self._tcp, daemon=True).start()

    def _udp(self):
        while True:
            try:
                data, peer = self.udp.recvfrom(2048)
            except OSError:
                return
            self.udp.sendto(b"echo:" + data, peer)

    def _tcp(self):
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)
                    self.echoed += len(data)

    def close(self):
        self.udp.close()
        self.tcp.close()


class DnsServer:
    """Answers A and AAAA queries for one name on 127.0.0.1:53 (the guest's 10.0.2.2:53), or [::1]:53 (the guest's
    [fec0::2]:53); other names get NXDOMAIN."""

    def __init__(self, name: str, address: str, address6: str, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        loopback = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        try:
            self.sock.bind((loopback, 53))
        except OSError as e:
            self.sock.close()
            pytest.skip(f"cannot run a DNS server on {loopback} port 53 here: {e}")
        self.name, self.address, self.queries = name.encode(), socket.inet_aton(address), 0
        self.address6 = socket.inet_pton(socket.AF_INET6, address6)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.queries += 1
            labels, i = [], 12
            while query[i]:
                labels.append(query[i + 1:i + 1 + query[i]])
                i += 1 + query[i]
            qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
            question = query[12:i + 5]
            known = b".".join(labels) == self.name
            answers = b""
            if known and qtype == 1:
                answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + self.address
            elif known and qtype == 28:
                answers = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) + self.address6
            flags = 0x8180 if known else 0x8183
            self.sock.sendto(query[:2] + struct.pack("!HHHHH", flags, 1, 1 if answers else 0, 0, 0) + question
                             + answers, peer)

    def close(self):
        self.sock.close()


def checksum(data: bytes) -> int:
    s = 0
    for b in data:
        s = (s * 31 + b) & 0xFFFFFFFF
    return s


def upload(port: int, data: bytes) -> bytes:
    """Connects to the guest's forwarded port, sends data, half-closes, returns the guest's answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := c.recv(4096):
            answer += chunk
    return answer


# Static addresses: the DNS server named by uf.dns (IPv4) or uf.dns6 (IPv6, beside a static IPv6 address: the
# address SLAAC would give, so that the other steps' checks hold).
STATIC = {"static": "uf.ip=10.0.2.15/24 uf.gw=10.0.2.2 uf.dns=10.0.2.2",
          "static6": "uf.ip=10.0.2.15/24 uf.gw=10.0.2.2 uf.ip6=fec0::5054:ff:fe12:3456/64 uf.gw6=fe80::2 "
                     "uf.dns6=fec0::2"}


def test_dhcp_udp_and_tcp_both_ways(uniforge_build, uniforge_boot, target):
    exchange(uniforge_build(app_dir("netcheck"), target), uniforge_boot, "dhcp")


@pytest.mark.uniforge(targets=targets_with("net", "emulated")[:1])       # what it adds does not depend on the arch
@pytest.mark.parametrize("config", list(STATIC))
def test_static_configuration_and_getaddrinfo(uniforge_build, uniforge_boot, target, config):
    """The DNS server is the host (10.0.2.2, or fec0::2 with uf.dns6), where this test answers for one name through
    getaddrinfo (musl asks 127.0.0.1:53, the stack's stub, which forwards to the server)."""
    exchange(uniforge_build(app_dir("netcheck"), target), uniforge_boot, config)


def exchange(image, uniforge_boot, config: str) -> None:
    """netcheck's steps with the host's peers; `config`: dhcp, or one of STATIC with getaddrinfo answered here."""
    dns = DnsServer("netcheck.test", "10.9.8.7", "2001:db8::987",
                    socket.AF_INET6 if config == "static6" else socket.AF_INET) if config in STATIC else None
    peers, peers6 = Peers(), Peers(socket.AF_INET6)
    udp_port, tcp_port = peers.udp.getsockname()[1], peers.tcp.getsockname()[1]
    ports6 = f"{peers6.udp.getsockname()[1]},{peers6.tcp.getsockname()[1]}"
    try:
        args = ["-6", ports6, str(udp_port), str(tcp_port), str(GUEST_PORT), *(["netcheck.test"] if dns else [])]
        guest = uniforge_boot(image, args, publish=[GUEST_PORT], cmdline=STATIC.get(config, ""), timeout=300)
        data = bytes((i * 13 + (i >> 11)) & 255 for i in range(3_000_000))
        guest.expect(r"tcp-in: listening", 300)
        answer = upload(guest.port(GUEST_PORT)[1], data)
        result = guest.wait(300)
    finally:
        peers.close()
        peers6.close()
        if dns:
            dns.close()
    out = result.console
    assert result.status == 0, out
    dns_address = {"dhcp": " dns 10.0.2.3", "static": " dns 10.0.2.2", "static6": ""}[config]
    assert f"uniforge: net: 10.0.2.15/24 gw 10.0.2.2{dns_address} ({config.rstrip('6')})" in out
    if dns:
        assert "dns: netcheck.test is 10.9.8.7" in out and dns.queries >= 2
        assert "dns: netcheck.test is 2001:db8::987 (AAAA)" in out
    assert re.search(rf'udp: reply "echo:ping \d from uniforge" from 10\.0\.2\.2:{udp_port}\n', out + "\n"), out
    assert "tcp-out: 1048576 bytes echoed intact (local 10.0.2.15:" in out
    assert peers.echoed == 1 << 20
    assert re.search(rf'udp6: reply "echo:ping6 \d from uniforge" from \[fec0::2\]:{ports6.split(",")[0]}\n',
                     out + "\n"), out
    assert "tcp6-out: 262144 bytes echoed intact (local [fec0::5054:ff:fe12:3456]:" in out
    assert peers6.echoed == 1 << 18
    assert answer.decode() == f"{len(data)} {checksum(data):08x}\n", out
    assert f"tcp-in: received {len(data)} bytes, sum {checksum(data):08x}" in out
    assert "netcheck: all steps passed" in out


@pytest.mark.uniforge(targets=one_per_arch("net"))
@pytest.mark.parametrize("net", ["none", "user"])
def test_loopback_with_and_without_a_nic(uniforge_build, uniforge_boot, target, net):
    """tests/apps/loopcheck talks to itself over TCP (1 MiB each way, then TCP_INFO, IP_TOS or IPV6_TCLASS,
    TCP_KEEP* and SO_LINGER's reset as a program sees them) and UDP: over 127.0.0.1 and ::1 always, even booted
    without a NIC (`--net none`: the stack comes up with lo only, no hang at bring-up), and with a NIC also over its
    own addresses (10.0.2.15 from QEMU's DHCP, fec0::5054:ff:fe12:3456 from its router advertisement), which loop
    back too. Then edge-triggered epoll reporting each arrival on a socket that stays readable (uf_fd_wake); a
    dual-stack listener on [::] taking an IPv4 client as ::ffff:127.0.0.1, IPV6_V6ONLY refusing one, a dual-stack
    datagram socket answering an IPv4 sender; and with a NIC, that a socket bound to 127.0.0.1 may not send to
    another host (EINVAL, as Linux)."""
    own = ["10.0.2.15", "fec0::5054:ff:fe12:3456"] if net == "user" else []
    outside = ["--outside", "10.0.2.2"] if net == "user" else []
    result = uniforge_boot(uniforge_build(app_dir("loopcheck"), target), [*outside, *own], net=net,
                           timeout=300).wait(600)
    out = result.console
    assert result.status == 0, out + result.message
    if net == "none":
        assert "uniforge: net: no network interface (lo only)" in out
    for address in ["127.0.0.1", "::1", *own]:
        assert re.search(rf"lo: tcp 1048576 bytes each way over {re.escape(address)}:\d+\n", out), out
        assert f'lo: udp "hello {address}" there and back over {address}:' in out, out
    assert out.count("lo: TCP_INFO state 1 options 0x7") == 2 + len(own), out
    assert out.count("lo: IP_TOS 0x10, keepalive 30/5/3 read back") == 1 + (net == "user"), out
    assert out.count("lo: IPV6_TCLASS 0x10, keepalive 30/5/3 read back") == 1 + (net == "user"), out
    assert out.count("lo: SO_LINGER {1, 0}: the peer saw ECONNRESET") == 2 + len(own), out
    assert "lo: EPOLLET reported each of 3 tcp segments and 3 udp datagrams" in out, out
    assert "lo: [::] took an IPv4 client as ::ffff:127.0.0.1 (local ::ffff:127.0.0.1)" in out, out
    assert "lo: IPV6_V6ONLY listener refused an IPv4 client" in out, out
    assert "lo: udp [::] heard ::ffff:127.0.0.1 and answered it; hop limit 7, tclass 0x20 read back" in out, out
    assert ("lo: bound to 127.0.0.1, udp and tcp to 10.0.2.2: EINVAL" in out) == (net == "user"), out
    assert "loopcheck: all steps passed" in out


def expected_reply(size: int) -> bytes:
    """tests/apps/exitreply's pattern."""
    return bytes((i * 7 + (i >> 9)) & 255 for i in range(size))


@pytest.mark.uniforge(targets=one_per_arch("net"))
def test_reply_written_just_before_exit_arrives_whole(uniforge_build, uniforge_boot, target):
    """tests/apps/exitreply writes a 2 MiB reply and a UDP datagram and returns from main at once, its socket still
    open and its send buffer full: the exit closes the socket and lets TCP deliver the rest and its FIN (as a Linux
    process's exit does) before the machine ends. Every byte and the datagram reach the host, every time: several
    boots, since a lost tail shows only some of the time."""
    image = uniforge_build(app_dir("exitreply"), target)
    size, want = 2 << 20, expected_reply(2 << 20)
    for attempt in range(5):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            udp.settimeout(60)
            guest = uniforge_boot(image, [str(GUEST_PORT), str(udp.getsockname()[1]), str(size)],
                                  publish=[GUEST_PORT], timeout=300)
            guest.expect(r"exitreply: listening", 300)
            reply = b""
            with socket.create_connection(guest.port(GUEST_PORT), timeout=120) as c:
                c.sendall(b"go\n")
                while chunk := c.recv(65536):
                    reply += chunk
            try:
                datagram = udp.recv(64)
            except TimeoutError:
                datagram = b"(none)"
            result = guest.wait(300)
        out = result.console
        assert result.status == 0, out
        assert len(reply) == size and reply == want, f"boot {attempt + 1}: {len(reply)} of {size} bytes\n{out}"
        assert datagram == f"bye after {size} bytes".encode(), out
