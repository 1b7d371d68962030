"""The network stack's C code on the host (lwIP's way): libos/net compiled natively with a fake NIC and a fake clock
(tests/net/harness.c), driven through ctypes with crafted frames; and 10,000 hostile frames through a build with
AddressSanitizer and UBSan where the host compiler has them (tests/net/fuzz_main.c).

Every test gets a fresh stack (its own copy of the library, so no state leaks from one test into the next) and
ends with a leak check: once every timer has run out, every allocation the stack made must have been freed."""
import ctypes
import random
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "libos" / "net").glob("*.c"))
HARNESS = ROOT / "tests" / "net" / "harness.c"

V4, V6 = 1, 2                               # uf/net.h's UF_NET_V4, UF_NET_V6: the families an endpoint takes


def a4(text: str) -> bytes:
    """An IPv4 address as module net takes it: v4-mapped (::ffff:a.b.c.d)."""
    return bytes(10) + b"\xff\xff" + socket.inet_aton(text)


OUR_MAC = bytes.fromhex("525400123456")
PEER_MAC = bytes.fromhex("525400abcdef")
OUR_IP = bytes([10, 0, 2, 15])
PEER_IP = bytes([10, 0, 2, 2])


def host_compiler() -> list[str]:
    """The host's cc (it has the sanitizers), else the project's own pinned compiler for the host."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    return [cc] if cc else [sys.executable, "-m", "ziglang", "cc"]


def compile_harness(out: Path, extra: list[str], sources: list[Path]) -> None:
    includes = [f"-I{d}" for d in sorted((ROOT / "libos").glob("*/include"))]
    cmd = [*host_compiler(), "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE", *includes,
           f"-I{ROOT / 'libos' / 'net'}", *extra, *map(str, sources), "-o", str(out),
           "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


# ---- frames ----

def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload: bytes, etype=0x0800, dst=OUR_MAC) -> bytes:
    return dst + PEER_MAC + struct.pack("!H", etype) + payload


def ipv4(proto: int, payload: bytes, src=PEER_IP, dst=OUR_IP, ident=1, frag=0) -> bytes:
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def pseudo(proto: int, length: int, src=PEER_IP, dst=OUR_IP) -> bytes:
    """The pseudo-header of either family (by the addresses' length)."""
    if len(src) == 16:
        return pseudo6(src, dst, proto, length)
    return src + dst + struct.pack("!BBH", 0, proto, length)


def pseudo6(src: bytes, dst: bytes, nh: int, length: int) -> bytes:
    return src + dst + struct.pack("!IxxxB", length, nh)


def ipv6(nh: int, payload: bytes, src: bytes, dst: bytes, hop_limit=64) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hop_limit) + src + dst + payload


def icmp6(kind: int, code: int, body: bytes, src: bytes, dst: bytes) -> bytes:
    m = struct.pack("!BBH", kind, code, 0) + body
    return m[:2] + struct.pack("!H", csum(pseudo6(src, dst, 58, len(m)) + m)) + m[4:]


def eth6(payload: bytes, dst=OUR_MAC) -> bytes:
    return eth(payload, 0x86DD, dst)


def udp(sport: int, dport: int, data: bytes, src=PEER_IP, dst=OUR_IP) -> bytes:
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    c = csum(pseudo(17, 8 + len(data), src, dst) + h + data) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + data


def tcp(sport: int, dport: int, seq: int, ack: int, flags: str, data=b"", window=65535, options=b"", src=PEER_IP,
        dst=OUR_IP) -> bytes:
    bits = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}[f] for f in flags)
    hlen = 20 + len(options)
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, hlen // 4 << 4, bits,
                    window, 0, 0) + options
    c = csum(pseudo(6, hlen + len(data), src, dst) + h + data)
    return h[:16] + struct.pack("!H", c) + h[18:] + data


class Parsed:
    """A frame the stack sent, split into its layers (checksums verified)."""

    def __init__(self, frame: bytes):
        self.frame = frame
        self.dst, self.src, self.etype = frame[:6], frame[6:12], struct.unpack("!H", frame[12:14])[0]
        self.l3 = frame[14:]
        if self.etype == 0x86DD:
            self.nh, self.hop_limit = self.l3[6], self.l3[7]
            self.src6, self.dst6 = self.l3[8:24], self.l3[24:40]
            self.l4 = self.l3[40:40 + struct.unpack("!H", self.l3[4:6])[0]]
            self.proto = self.nh
            if self.nh in (58, 6, 17):
                assert csum(pseudo6(self.src6, self.dst6, self.nh, len(self.l4)) + self.l4) == 0, "bad v6 L4 sum"
            if self.nh == 6:
                self._tcp()
        if self.etype == 0x0800:
            ihl = (self.l3[0] & 15) * 4
            total = struct.unpack("!H", self.l3[2:4])[0]
            assert csum(self.l3[:ihl]) == 0, "bad IP header checksum"
            self.proto, self.ip_src, self.ip_dst = self.l3[9], self.l3[12:16], self.l3[16:20]
            self.l4 = self.l3[ihl:total]
            fragment = struct.unpack("!H", self.l3[6:8])[0] & 0x3FFF
            if self.proto in (6, 17) and not fragment:      # a fragment's sum is over the whole datagram
                assert csum(pseudo(self.proto, len(self.l4), self.ip_src, self.ip_dst) + self.l4) == 0, "bad L4 sum"
            if self.proto == 6 and not fragment:
                self._tcp()

    def _tcp(self):
        (self.sport, self.dport, self.seq, self.ack, off, bits, self.window) = struct.unpack("!HHIIBBH", self.l4[:16])
        self.flags = "".join(f for f, b in zip("FSRPA", (1, 2, 4, 8, 16)) if bits & b)
        self.options = self.l4[20:(off >> 4) * 4]
        self.data = self.l4[(off >> 4) * 4:]


class Stack:
    def __init__(self, lib):
        self.lib = lib
        self.buf = ctypes.create_string_buffer(2048)
        lib.uf_tcp_new.restype = ctypes.c_void_p
        lib.uf_udp_new.restype = ctypes.c_void_p
        lib.h_take.restype = ctypes.c_size_t
        lib.h_now.restype = ctypes.c_uint64
        lib.uf_tcp_recv.restype = ctypes.c_long
        lib.uf_tcp_send.restype = ctypes.c_long
        lib.uf_udp_recv.restype = ctypes.c_long

    def inject(self, frame: bytes):
        self.lib.h_inject(frame, ctypes.c_size_t(len(frame)))

    def sent(self, v6=False) -> list[Parsed]:
        """What the stack transmitted; ARP requests for the peer are answered (not listed), as the peer would. IPv6
        frames (router solicitations come on their own) only with v6, and then only they."""
        out = []
        while n := self.lib.h_take(self.buf):
            frame = Parsed(self.buf.raw[:n])
            if (frame.etype == 0x86DD) != v6:
                continue
            if frame.etype == 0x0806 and frame.l3[6:8] == b"\0\1" and frame.l3[24:28] == PEER_IP:
                self.inject(eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, PEER_MAC, PEER_IP, OUR_MAC,
                                            OUR_IP), 0x0806))
                continue
            out.append(frame)
        return out

    def advance(self, seconds: float):
        self.lib.h_advance(ctypes.c_uint64(int(seconds * 1e9)))


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    lib_path = tmp_path_factory.mktemp("net") / "libnet.so"
    compile_harness(lib_path, ["-shared", "-fPIC"], [HARNESS, *SOURCES])
    return lib_path


def fresh(library: Path, tmp_path: Path) -> Stack:
    copy = tmp_path / "libnet.so"
    shutil.copyfile(library, copy)
    return Stack(ctypes.CDLL(str(copy)))


def settled(s: Stack) -> None:
    assert s.lib.h_settle() == 0, "a timer never stops"
    assert s.lib.h_live() == 0, f"{s.lib.h_live()} allocations not freed (a control block, buffer or queued frame)"


@pytest.fixture
def bare_stack(library, tmp_path):
    """A stack without a NIC (uf.net=none): only lo."""
    s = fresh(library, tmp_path)
    assert s.lib.h_up(b"none", None, None, None) == -100             # -ENETDOWN: no NIC, lo still works
    yield s
    settled(s)


def configured(s: Stack) -> Stack:
    """s configured statically and knowing the peer's MAC."""
    assert s.lib.h_up(b"static", b"10.0.2.15/24", b"10.0.2.2", b"10.0.2.3") == 0
    # Teach it the peer's MAC, so IP replies go out at once.
    s.inject(eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP),
                 0x0806, b"\xff" * 6))
    s.sent()
    return s


@pytest.fixture
def stack(library, tmp_path):
    """A stack of its own (a copy of the library: dlopen shares one file's globals), configured statically and
    knowing the peer's MAC; afterwards, no timer may be left running and nothing left allocated."""
    s = configured(fresh(library, tmp_path))
    yield s
    settled(s)


@pytest.fixture(scope="module")
def counting_library(tmp_path_factory) -> Path:
    """The library built to count the basic blocks the stack runs (harness.c: h_blocks)."""
    lib_path = tmp_path_factory.mktemp("net-counting") / "libnet.so"
    compile_harness(lib_path, ["-shared", "-fPIC", "-fsanitize-coverage=trace-pc", "-DH_COUNT_BLOCKS"],
                    [HARNESS, *SOURCES])
    return lib_path


@pytest.fixture
def counting_stack(counting_library, tmp_path):
    """As stack, with h_blocks."""
    s = configured(fresh(counting_library, tmp_path))
    s.lib.h_blocks.restype = ctypes.c_ulong
    yield s
    settled(s)


def test_arp_request_is_answered(stack):
    stack.inject(eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP),
                     0x0806, b"\xff" * 6))
    [reply] = stack.sent()
    assert reply.etype == 0x0806 and reply.dst == PEER_MAC
    op, sha, spa, tha, tpa = struct.unpack("!6xH6s4s6s4s", reply.l3[:28])
    assert (op, sha, spa, tha, tpa) == (2, OUR_MAC, OUR_IP, PEER_MAC, PEER_IP)


def test_ping_is_answered_with_the_same_payload(stack):
    payload = bytes(range(56))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 7) + payload
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    stack.inject(eth(ipv4(1, icmp)))
    [reply] = stack.sent()
    assert reply.proto == 1 and reply.ip_dst == PEER_IP and reply.l4[0] == 0
    assert csum(reply.l4) == 0 and reply.l4[4:] == icmp[4:]


def test_bad_checksums_are_dropped(stack):
    icmp = struct.pack("!BBHHH", 8, 0, 0xDEAD, 1, 1)        # wrong ICMP checksum
    stack.inject(eth(ipv4(1, icmp)))
    bad_ip = bytearray(eth(ipv4(1, icmp)))
    bad_ip[14 + 10] ^= 0xFF
    stack.inject(bytes(bad_ip))
    assert stack.sent() == []


def test_udp_delivery_and_reassembly(stack):
    lib = stack.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(u, None, 5000, 0) == 0
    data = bytes(random.Random(1).randrange(256) for _ in range(3000))
    datagram = udp(4000, 5000, data)
    # Three fragments, last first: offsets in 8-byte units.
    pieces = [(0, datagram[:1480], 0x2000), (185, datagram[1480:2960], 0x2000), (370, datagram[2960:], 0)]
    for off, chunk, mf in reversed(pieces):
        stack.inject(eth(_fragment(chunk, 77, mf | off, len(chunk))))
    buf = ctypes.create_string_buffer(4096)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 4096)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    n = lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full))
    assert n == 3000 and buf.raw[:3000] == data
    assert (addr.raw, port.value) == (a4("10.0.2.2"), 4000)
    # A corrupted copy (bad UDP checksum) is dropped.
    bad = bytearray(udp(4000, 5000, b"hello"))
    bad[-1] ^= 1
    stack.inject(eth(ipv4(17, bytes(bad))))
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == -11
    lib.uf_udp_free(u)


def test_hostile_fragments_are_contained(stack):
    """Overlaps, a second different end, fragments past 64 KiB and a flood of unfinished datagrams: no delivery of
    garbage, no crash, and a good datagram still gets through afterwards."""
    lib = stack.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(u, None, 5001, 0) == 0
    head = udp(4000, 5001, bytes(16))[:8] + bytes(8)          # 16 bytes: header + 8 of data
    stack.inject(eth(_fragment(head, 4, 0x2000, 16)))
    stack.inject(eth(_fragment(bytes(8), 4, 4, 8)))              # one end ...
    stack.inject(eth(_fragment(bytes(16), 4, 5, 16)))            # ... and another: the datagram is dropped
    stack.inject(eth(_fragment(bytes(8), 4, 1, 8)))              # (it would be complete now)
    stack.inject(eth(_fragment(head, 5, 0x2000, 16)))
    stack.inject(eth(_fragment(b"\xaa" * 24, 5, 0x2000 | 1, 24)))   # overlaps with other bytes: sum fails
    stack.inject(eth(_fragment(bytes(8), 5, 4, 8)))
    stack.inject(eth(_fragment(bytes(8), 6, 0x2000 | 8190, 8)))  # would end past 65535
    for ident in range(100, 140):                                  # more unfinished datagrams than slots
        stack.inject(eth(_fragment(bytes(8), ident, 0x2000, 8)))
    buf = ctypes.create_string_buffer(64)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 64)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == -11
    stack.advance(31)                                              # unfinished ones expire
    stack.inject(eth(ipv4(17, udp(4000, 5001, b"still here"))))
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == 10
    assert buf.raw[:10] == b"still here"
    assert stack.sent() == []
    lib.uf_udp_free(u)


def test_icmp_errors_both_ways(stack):
    """A datagram to a closed UDP port, or of an unknown protocol, draws a destination unreachable quoting it; one
    about our own connected UDP endpoint becomes its ECONNREFUSED."""
    lib = stack.lib
    dgram = udp(4000, 9999, b"anyone?")
    stack.inject(eth(ipv4(17, dgram)))
    [err] = stack.sent()
    assert err.proto == 1 and err.l4[:2] == bytes([3, 3]) and csum(err.l4) == 0
    assert err.l4[8 + 12:8 + 20] == PEER_IP + OUR_IP and err.l4[8 + 20:8 + 28] == dgram[:8]
    stack.inject(eth(ipv4(99, b"what is this")))
    [err] = stack.sent()
    assert err.l4[:2] == bytes([3, 2])
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_connect(u, a4("10.0.2.2"), 7777) == 0
    lport = ctypes.create_string_buffer(16), ctypes.c_uint16()
    lib.uf_udp_local(u, lport[0], ctypes.byref(lport[1]))
    quoted = ipv4(17, udp(lport[1].value, 7777, b"x"), src=OUR_IP, dst=PEER_IP)[:28]
    icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
    stack.inject(eth(ipv4(1, icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:])))
    buf = ctypes.create_string_buffer(16)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 16)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == -111
    lib.uf_udp_free(u)


def test_large_datagrams_go_out_in_fragments(stack):
    """A 3,000-byte UDP datagram leaves as fragments of at most the MTU, offsets in 8-byte units, that reassemble
    into the datagram with a valid checksum."""
    lib = stack.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    data = random.Random(5).randbytes(3000)
    msg = ctypes.create_string_buffer(data, len(data))
    iov = (ctypes.c_void_p * 2)(ctypes.cast(msg, ctypes.c_void_p), len(data))
    assert lib.uf_udp_send(u, a4("10.0.2.2"), ctypes.c_uint16(9), iov, 1) == 3000
    frags = stack.sent()
    assert [len(f.l3) for f in frags] == [1500, 1500, 68]
    whole = b""
    for f in frags:
        off = struct.unpack("!H", f.l3[6:8])[0]
        assert (off & 0x1FFF) * 8 == len(whole) and bool(off & 0x2000) == (f is not frags[-1])
        whole += f.l3[20:struct.unpack("!H", f.l3[2:4])[0]]
    assert whole[8:] == data and csum(pseudo(17, len(whole), OUR_IP, PEER_IP) + whole) == 0
    lib.uf_udp_free(u)


def test_fragmentation_needed_lowers_the_mss(stack):
    """Path MTU discovery (RFC 1191): a router's "fragmentation needed, MTU 1000" about our segment makes the
    connection resend in segments that fit; one quoting a sequence number we never sent is ignored."""
    lib = stack.lib
    l, c, ours, seq = handshake(stack, 87, 40020)
    data = bytes(1460 * 2)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    first = stack.sent()
    assert [len(p.data) for p in first] == [1460, 1460]

    def too_big(quoted_seq: int) -> bytes:
        quoted = first[0].l3[:20] + struct.pack("!HHI", 87, 40020, quoted_seq & 0xFFFFFFFF)
        icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1000) + quoted
        return eth(ipv4(1, icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:], src=bytes([10, 0, 2, 1])))

    stack.inject(too_big(ours + 100_000))
    assert stack.sent() == []
    stack.inject(too_big(ours))
    assert [(p.seq - ours, len(p.data)) for p in stack.sent()] == [(0, 960), (960, 960), (1920, 960)]
    assert info(stack, c).snd_mss == 960
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_a_large_datagram_waits_for_arp_whole(stack):
    """A 5,000-byte datagram to a neighbour not yet resolved waits whole (not as 4 frames of which ARP's queue would
    keep the last few): once the neighbour answers, all its fragments leave."""
    lib = stack.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    data = random.Random(6).randbytes(5000)
    msg = ctypes.create_string_buffer(data, len(data))
    iov = (ctypes.c_void_p * 2)(ctypes.cast(msg, ctypes.c_void_p), len(data))
    for _ in range(2):
        assert lib.uf_udp_send(u, a4("10.0.2.77"), ctypes.c_uint16(9), iov, 1) == 5000
    [arp] = stack.sent()
    assert arp.etype == 0x0806 and arp.l3[24:28] == bytes([10, 0, 2, 77])
    mac = bytes.fromhex("525400000077")
    stack.inject(OUR_MAC + mac + b"\x08\x06" +
                 struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac, bytes([10, 0, 2, 77]), OUR_MAC, OUR_IP))
    frags = stack.sent()
    assert len(frags) == 8 and all(f.dst == mac for f in frags)
    for datagram in (frags[:4], frags[4:]):
        whole = b"".join(f.l3[20:struct.unpack("!H", f.l3[2:4])[0]] for f in datagram)
        assert whole[8:] == data
    lib.uf_udp_free(u)


def test_a_burst_of_syns_from_an_unresolved_neighbour_gets_every_syn_ack(stack):
    """51 SYNs at once from a neighbour whose MAC is not known yet (QEMU's NAT just after boot: the gateway relays a
    burst of connects): each SYN-ACK waits for ARP's answer, and all 51 leave then (a queue of a few datagrams per
    neighbour kept only the last few, and the other handshakes waited for a retransmission)."""
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 80, 0) == 0 and lib.uf_tcp_listen(l, 64) == 0
    ip, mac = bytes([10, 0, 2, 77]), bytes.fromhex("525400000077")
    for sport in range(40000, 40051):
        stack.inject(OUR_MAC + mac + b"\x08\x00" + ipv4(6, tcp(sport, 80, sport * 1000, 0, "S", src=ip), src=ip))
    [arp] = stack.sent()
    assert arp.etype == 0x0806 and arp.l3[24:28] == ip
    stack.inject(OUR_MAC + mac + b"\x08\x06" +
                 struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, mac, ip, OUR_MAC, OUR_IP))
    synacks = stack.sent()
    assert all(p.flags == "SA" and p.dst == mac for p in synacks)
    assert sorted(p.ack for p in synacks) == [sport * 1000 + 1 for sport in range(40000, 40051)]
    lib.uf_tcp_close(l)
    stack.sent()


def test_a_loopback_source_stays_on_this_host(stack):
    """Bound to 127.0.0.1, a socket may talk to this host only: to another, sending and connecting fail with EINVAL
    (as Linux), and no frame leaves."""
    lib = stack.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(u, a4("127.0.0.1"), 0, 0) == 0
    msg = ctypes.create_string_buffer(b"x", 1)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(msg, ctypes.c_void_p), 1)
    assert lib.uf_udp_send(u, a4("10.0.2.2"), ctypes.c_uint16(9), iov, 1) == -22
    assert lib.uf_udp_connect(u, a4("10.0.2.2"), 9) == -22
    assert lib.uf_udp_send(u, a4("10.0.2.15"), ctypes.c_uint16(9), iov, 1) == 1     # our own address: lo
    t = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(t, a4("127.0.0.1"), 0, 0) == 0
    assert lib.uf_tcp_connect(t, a4("10.0.2.2"), 80) == -22
    assert stack.sent() == []
    lib.uf_tcp_close(t)
    lib.uf_udp_free(u)


def _fragment(chunk: bytes, ident: int, frag: int, length: int) -> bytes:
    """An IP fragment carrying chunk (part of a UDP datagram, checksummed over the whole)."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, ident, frag, 64, 17, 0, PEER_IP, OUR_IP)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + chunk


def test_dns_stub_address_reaches_the_learned_server(stack):
    """musl's resolver asks 127.0.0.1:53 without a resolv.conf: the stack forwards to uf.dns and maps answers back."""
    lib = stack.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V4))
    query = ctypes.create_string_buffer(b"\x12\x34query", 7)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(query, ctypes.c_void_p), 7)
    assert lib.uf_udp_send(u, a4("127.0.0.1"), ctypes.c_uint16(53), iov, 1) == 7
    [arp] = stack.sent()                       # the DNS server's MAC first; the datagram waits for it
    assert arp.etype == 0x0806 and arp.l3[24:28] == bytes([10, 0, 2, 3])
    dns_mac, dns_ip = bytes.fromhex("525400000003"), bytes([10, 0, 2, 3])
    stack.inject(OUR_MAC + dns_mac + b"\x08\x06" +
                 struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, dns_mac, dns_ip, OUR_MAC, OUR_IP))
    [out] = stack.sent()
    assert out.dst == dns_mac and out.ip_dst == dns_ip and out.l4[8:] == b"\x12\x34query"
    sport = struct.unpack("!H", out.l4[:2])[0]
    assert struct.unpack("!H", out.l4[2:4])[0] == 53
    answer = struct.pack("!HHHH", 53, sport, 16, 0) + b"\x12\x34answer"
    answer = answer[:6] + struct.pack("!H", csum(pseudo(17, len(answer), dns_ip) + answer) or 0xFFFF) + answer[8:]
    stack.inject(OUR_MAC + dns_mac + b"\x08\x00" + ipv4(17, answer, src=dns_ip))
    buf = ctypes.create_string_buffer(64)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 64)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == 8
    assert buf.raw[:8] == b"\x12\x34answer"
    assert (addr.raw, port.value) == (a4("127.0.0.1"), 53)
    lib.uf_udp_free(u)


def handshake(stack, port: int, sport: int, isn=1000):
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, port, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    mss_ws = b"\x02\x04\x05\xb4\x01\x03\x03\x07"
    stack.inject(eth(ipv4(6, tcp(sport, port, isn, 0, "S", options=mss_ws))))
    [synack] = stack.sent()
    assert synack.flags == "SA" and synack.ack == isn + 1
    assert b"\x02\x04\x05\xb4" in synack.options          # MSS 1460
    assert b"\x03\x03" in synack.options                  # window scaling offered back
    stack.inject(eth(ipv4(6, tcp(sport, port, isn + 1, synack.seq + 1, "A"))))
    conn = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(conn)) == 0
    return l, conn, synack.seq + 1, isn + 1


def test_time_wait_is_bounded_oldest_go_first(stack):
    """A server closing many connections keeps at most 256 in TIME_WAIT (tcp.c: TCP_MAX_TIME_WAIT); past that the
    oldest are forgotten first, the newest 256 still stand."""
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8080, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    closed = []
    for i in range(300):
        sport, isn = 20000 + i, 1000
        stack.inject(eth(ipv4(6, tcp(sport, 8080, isn, 0, "S"))))
        [synack] = stack.sent()
        ours = synack.seq + 1
        stack.inject(eth(ipv4(6, tcp(sport, 8080, isn + 1, ours, "A"))))
        c = ctypes.c_void_p()
        assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0
        lib.uf_tcp_close(c)                                 # the server closes first: it will hold TIME_WAIT
        [fin] = stack.sent()
        assert "F" in fin.flags
        stack.inject(eth(ipv4(6, tcp(sport, 8080, isn + 1, ours + 1, "FA"))))
        [last] = stack.sent()
        assert last.flags == "A"
        closed.append((sport, isn + 2, ours + 1))
    # The peer's FIN again: TIME_WAIT acknowledges it; a forgotten connection's goes to the listener, which drops it.
    for (sport, seq, ack), remembered in ((closed[0], False), (closed[-257], False), (closed[-256], True),
                                          (closed[-1], True)):
        stack.inject(eth(ipv4(6, tcp(sport, 8080, seq - 1, ack, "FA"))))
        replies = stack.sent()
        assert (replies and replies[0].flags == "A" and replies[0].ack == seq) == remembered, (sport, replies)
    lib.uf_tcp_close(l)


def test_many_connections_each_segment_finds_its_own(stack):
    """Control blocks are found by their 4-tuple (a hash table, which doubles past 2 blocks a bucket: 128 buckets,
    then 256, 512, 1024 here): 1,100 open connections from one peer, data to each in turn, every byte lands in its
    own connection; then the listener resets a segment for none of them. The leak check sees the grown tables
    given back once the connections are gone."""
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8081, 0) == 0 and lib.uf_tcp_listen(l, 1024) == 0
    conns = []
    for i in range(1100):
        sport = 30000 + i * 7
        stack.inject(eth(ipv4(6, tcp(sport, 8081, 5000, 0, "S"))))
        [synack] = stack.sent()
        stack.inject(eth(ipv4(6, tcp(sport, 8081, 5001, synack.seq + 1, "A"))))
        c = ctypes.c_void_p()
        assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0
        conns.append((sport, synack.seq + 1, c))
    for sport, ours, c in reversed(conns):
        stack.inject(eth(ipv4(6, tcp(sport, 8081, 5001, ours, "PA", struct.pack("!H", sport)))))
    stack.sent()
    buf = ctypes.create_string_buffer(8)
    for sport, _, c in conns:
        assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(8), 0) == 2 and struct.unpack("!H", buf.raw[:2])[0] == sport
        lib.uf_tcp_close(c)                                # its FIN goes out ...
        stack.inject(eth(ipv4(6, tcp(sport, 8081, 5003, 0, "R"))))    # ... and the peer resets it: gone
    assert all("F" in p.flags for p in stack.sent())
    stack.inject(eth(ipv4(6, tcp(30000, 8081, 5003, conns[0][1], "A"))))
    [rst] = stack.sent()
    assert rst.flags == "R"
    lib.uf_tcp_close(l)


def test_each_port_finds_its_own_listener(stack):
    """Listeners are found by port (a table of 32 buckets: 200 listeners share them): a SYN to each gets its own
    listener's SYN-ACK; once half of them are closed, their ports answer with a reset and the others still
    listen."""
    lib = stack.lib
    listeners = {}
    for port in range(9000, 9200):
        l = ctypes.c_void_p(lib.uf_tcp_new(V4))
        assert lib.uf_tcp_bind(l, None, port, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
        listeners[port] = l
    for port in range(9000, 9200, 2):
        lib.uf_tcp_close(listeners.pop(port))
    for port in range(9000, 9200):
        stack.inject(eth(ipv4(6, tcp(30000, port, 7, 0, "S"))))
        [answer] = stack.sent()
        assert (answer.sport, answer.flags) == (port, "SA" if port in listeners else "RA"), port
        if port in listeners:
            stack.inject(eth(ipv4(6, tcp(30000, port, 8, 0, "R"))))    # the peer gives up: the child goes
    for l in listeners.values():
        lib.uf_tcp_close(l)
    stack.sent()


def accept_from(stack, listener, sport: int, port: int) -> tuple[int, ctypes.c_void_p]:
    """A client at sport connects to port (its ISN 5000); the listener's accepted connection, and our next seq."""
    stack.inject(eth(ipv4(6, tcp(sport, port, 5000, 0, "S"))))
    [synack] = stack.sent()
    assert synack.flags == "SA", (sport, synack.flags)
    stack.inject(eth(ipv4(6, tcp(sport, port, 5001, synack.seq + 1, "A"))))
    c = ctypes.c_void_p()
    assert stack.lib.uf_tcp_accept(listener, ctypes.byref(c)) == 0
    return synack.seq + 1, c


EADDRINUSE = -98


def test_a_restarted_server_takes_its_port_back_beside_its_old_connections(stack):
    """A port is shared as on Linux: a server restarted with SO_REUSEADDR binds its port again while its old
    connections hold it, those it closed first (TIME_WAIT) and one still open, because they inherited the
    listener's SO_REUSEADDR; without SO_REUSEADDR, or while a listener holds it, the port is in use, and two
    sockets sharing it may not both listen. The old connections go on beside the new listener."""
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8090, 1) == 0 and lib.uf_tcp_listen(l, 8) == 0
    conns = {sport: accept_from(stack, l, sport, 8090) for sport in (41000, 41001, 41002)}
    for sport in (41000, 41001):                            # the server closes first: TIME_WAIT
        ours, c = conns[sport]
        lib.uf_tcp_close(c)
        [fin] = stack.sent()
        assert "F" in fin.flags
        stack.inject(eth(ipv4(6, tcp(sport, 8090, 5001, ours + 1, "FA"))))
        [ack] = stack.sent()
        assert ack.flags == "A"
    lib.uf_tcp_close(l)
    plain, again, third, fourth = (ctypes.c_void_p(lib.uf_tcp_new(V4)) for _ in range(4))
    assert lib.uf_tcp_bind(plain, None, 8090, 0) == EADDRINUSE           # the old connections' port
    assert lib.uf_tcp_bind(again, None, 8090, 1) == 0
    assert lib.uf_tcp_bind(third, None, 8090, 1) == 0                    # both share it, neither listening ...
    assert lib.uf_tcp_listen(again, 8) == 0
    assert lib.uf_tcp_listen(third, 8) == EADDRINUSE                     # ... but only one listens
    assert lib.uf_tcp_bind(fourth, None, 8090, 1) == EADDRINUSE          # a listener holds it
    assert lib.uf_tcp_bind(fourth, a4("10.0.2.15"), 8090, 1) == EADDRINUSE
    assert lib.uf_tcp_bind(fourth, a4("127.0.0.1"), 8090, 0) == EADDRINUSE
    ours, c = accept_from(stack, again, 41003, 8090)                      # the new server takes clients
    lib.uf_tcp_abort(c)
    stack.sent()
    stack.inject(eth(ipv4(6, tcp(41000, 8090, 5001, conns[41000][0] + 1, "FA"))))  # a FIN again: TIME_WAIT's ACK
    [ack] = stack.sent()
    assert (ack.dport, ack.flags, ack.ack) == (41000, "A", 5002)
    ours, c = conns[41002]                                                 # the open one still carries data
    stack.inject(eth(ipv4(6, tcp(41002, 8090, 5001, ours, "PA", b"still"))))
    buf = ctypes.create_string_buffer(8)
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(8), 0) == 5 and buf.raw[:5] == b"still"
    for t in (c, plain, again, third, fourth):
        lib.uf_tcp_abort(t)
    stack.sent()


def test_port_checks_cost_the_same_with_thousands_of_connections(counting_stack):
    """Whether a port is free is answered from a table by port (tcp_table.c), not by walking the connections:
    choosing an ephemeral port (bind to port 0, connect) and binding a given port run as many basic blocks of the
    stack's code (counted by the compiler's coverage hook, not timed) with 3,000 connections as with none:
    1,500 a server accepted on port 8080 (its listener since closed) and 1,500 we opened. The ephemeral ports
    chosen beside them are all free."""
    s = counting_stack
    lib = s.lib

    def drain():
        while lib.h_take(s.buf):
            pass

    operations = {
        "bind to port 0": (lambda t: lib.uf_tcp_bind(t, None, 0, 0), 0),
        "bind to a free port": (lambda t: lib.uf_tcp_bind(t, None, 9090, 0), 0),
        "bind to 8080 with SO_REUSEADDR": (lambda t: lib.uf_tcp_bind(t, None, 8080, 1), 0),
        "connect": (lambda t: lib.uf_tcp_connect(t, a4("10.0.2.2"), 80), 0),
    }

    def costs() -> dict[str, int]:
        """Each operation's blocks on a fresh socket (which then goes), the median of 9."""
        out = {}
        for name, (operation, result) in operations.items():
            counts = []
            for _ in range(9):
                t = ctypes.c_void_p(lib.uf_tcp_new(V4))
                before = lib.h_blocks()
                assert operation(t) == result, name
                counts.append(lib.h_blocks() - before)
                lib.uf_tcp_abort(t)
                drain()
            out[name] = sorted(counts)[4]
        return out

    alone = costs()
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8080, 1) == 0 and lib.uf_tcp_listen(l, 1024) == 0
    served = []
    for i in range(1500):
        served.append(accept_from(s, l, 20000 + i, 8080)[1])
    lib.uf_tcp_close(l)
    opened = []
    for i in range(1500):
        t = ctypes.c_void_p(lib.uf_tcp_new(V4))
        assert lib.uf_tcp_connect(t, a4("10.0.2.2"), 80) == 0
        opened.append(t)
        drain()
    crowded = costs()
    for name in operations:
        assert crowded[name] <= alone[name] * 1.2 + 20, (name, alone[name], crowded[name])

    def port(t) -> int:
        p = ctypes.c_uint16()
        assert lib.uf_tcp_local(t, s.buf, ctypes.byref(p)) == 0
        return p.value

    in_use = {port(t) for t in opened}
    assert len(in_use) == 1500 and all(49152 <= p for p in in_use)
    bound = []                                  # ephemeral ports beside them: each one free
    for _ in range(500):
        t = ctypes.c_void_p(lib.uf_tcp_new(V4))
        assert lib.uf_tcp_bind(t, None, 0, 0) == 0 and port(t) not in in_use
        in_use.add(port(t))
        bound.append(t)
    for t in served + opened + bound:
        lib.uf_tcp_abort(t)
    drain()


def test_a_look_at_the_stack_costs_the_same_with_thousands_of_connections(counting_stack):
    """What every wait and every poll/select/epoll scan does, uf_net_poll with nothing received and nothing due and
    uf_net_next_timer, runs as many basic blocks with 1,500 connections (keepalive on, idle 1 s: each has a timer,
    the earliest of the stack's) as with none: the next TCP timer is a bound kept as timers are set, not a walk. It stays right: a timer turned off
    (data sent, then acknowledged) may end a wait early, after which the stack knows the next one exactly and sends
    nothing; a retransmission still goes when due."""
    s = counting_stack
    lib = s.lib
    lib.uf_net_next_timer.restype = ctypes.c_uint64

    def costs() -> dict[str, int]:
        out = {}
        for name, operation in (("uf_net_poll", lib.uf_net_poll), ("uf_net_next_timer", lib.uf_net_next_timer)):
            counts = []
            for _ in range(9):
                before = lib.h_blocks()
                operation()
                counts.append(lib.h_blocks() - before)
            out[name] = sorted(counts)[4]
        return out

    alone = costs()
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8080, 0) == 0 and lib.uf_tcp_listen(l, 1024) == 0
    conns = []
    for i in range(1500):
        our_seq, c = accept_from(s, l, 20000 + i, 8080)
        lib.uf_tcp_set_keepalive(c, 1, 1, 0, 0)
        conns.append((our_seq, c))
    keepalive_at = lib.h_now() + 10**9                          # the clock has not moved: the same for all
    crowded = costs()
    for name in alone:
        assert crowded[name] <= alone[name] * 1.2 + 20, (name, alone[name], crowded[name])
    assert lib.uf_net_next_timer() == keepalive_at

    our_seq, c = conns[700]
    assert lib.uf_tcp_send(c, b"x" * 100, ctypes.c_size_t(100)) == 100
    [data] = s.sent()
    s.inject(eth(ipv4(6, tcp(20700, 8080, 5001, our_seq + 100, "A"))))
    s.sent()
    early = lib.uf_net_next_timer()
    assert lib.h_now() < early <= keepalive_at
    s.advance((early - lib.h_now()) / 1e9)
    assert s.sent() == [] and lib.uf_net_next_timer() == keepalive_at

    assert lib.uf_tcp_send(c, b"y" * 100, ctypes.c_size_t(100)) == 100
    [data] = s.sent()
    resent = []
    while not resent:
        s.advance((lib.uf_net_next_timer() - lib.h_now()) / 1e9)
        resent = s.sent()
    assert [(p.sport, p.seq, p.data) for p in resent] == [(8080, data.seq, b"y" * 100)]
    assert lib.h_now() < keepalive_at
    for _, c in conns:
        lib.uf_tcp_abort(c)
    lib.uf_tcp_close(l)
    s.sent()


def test_udp_bind_and_receive_cost_the_same_with_thousands_of_endpoints(counting_stack):
    """UDP endpoints are found by port in the same table as TCP's (ports.c), not by walking every endpoint: binding
    (a given port, port 0) and taking in a datagram run as many basic blocks of the stack's code with 3,000 bound
    endpoints as with none (1,500 on given ports, 1,500 on ephemeral ones, one of them connected). Each of them
    still gets its own datagrams: a sample of the given ports, and the connected endpoint beside an unconnected one
    on its port."""
    s = counting_stack
    lib = s.lib
    buf = ctypes.create_string_buffer(64)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 64)
    addr, sport, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()

    def recv(u) -> bytes | None:
        n = lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(sport), 0, ctypes.byref(full))
        return None if n == -11 else buf.raw[:n]

    server = ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(server, None, 5353, 0) == 0
    operations = {
        "bind to port 0": lambda u: lib.uf_udp_bind(u, None, 0, 0),
        "bind to a free port": lambda u: lib.uf_udp_bind(u, None, 9090, 0),
        "bind to a port in use": lambda u: lib.uf_udp_bind(u, None, 5353, 0) - EADDRINUSE,
    }
    frame = eth(ipv4(17, udp(4000, 5353, b"query")))

    def costs() -> dict[str, int]:
        """Each operation's blocks, the median of 9: a bind on a fresh endpoint (which then goes), a datagram in."""
        out = {}
        for name, operation in operations.items():
            counts = []
            for _ in range(9):
                u = ctypes.c_void_p(lib.uf_udp_new(V4))
                before = lib.h_blocks()
                assert operation(u) == 0, name
                counts.append(lib.h_blocks() - before)
                lib.uf_udp_free(u)
            out[name] = sorted(counts)[4]
        counts = []
        for _ in range(9):
            before = lib.h_blocks()
            s.inject(frame)
            counts.append(lib.h_blocks() - before)
            assert recv(server) == b"query"
        out["a datagram in"] = sorted(counts)[4]
        return out

    alone = costs()
    given = [ctypes.c_void_p(lib.uf_udp_new(V4)) for _ in range(1500)]
    for i, u in enumerate(given):
        assert lib.uf_udp_bind(u, None, 20000 + i, 0) == 0
    ephemeral = [ctypes.c_void_p(lib.uf_udp_new(V4)) for _ in range(1500)]
    for u in ephemeral:
        assert lib.uf_udp_bind(u, None, 0, 0) == 0
    ports = set()
    for u in ephemeral:
        p = ctypes.c_uint16()
        lib.uf_udp_local(u, addr, ctypes.byref(p))
        ports.add(p.value)
    assert len(ports) == 1500 and min(ports) >= 49152
    crowded = costs()
    for name in alone:
        assert crowded[name] <= alone[name] * 1.2 + 20, (name, alone[name], crowded[name])
    for i in range(0, 1500, 97):
        s.inject(eth(ipv4(17, udp(4000, 20000 + i, struct.pack("!H", i)))))
    for i, u in enumerate(given):
        assert recv(u) == (struct.pack("!H", i) if i % 97 == 0 else None), i
    # A connected endpoint takes its peer's datagrams; another on the same port (SO_REUSEADDR both) the rest.
    shared, connected = ctypes.c_void_p(lib.uf_udp_new(V4)), ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(shared, None, 7000, 1) == 0 and lib.uf_udp_bind(connected, None, 7000, 1) == 0
    third = ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(third, None, 7000, 0) == EADDRINUSE       # without SO_REUSEADDR: in use
    lib.uf_udp_free(third)
    assert lib.uf_udp_connect(connected, a4("10.0.2.2"), 4001) == 0
    s.inject(eth(ipv4(17, udp(4001, 7000, b"to the connected one"))))
    s.inject(eth(ipv4(17, udp(4002, 7000, b"to the other"))))
    assert recv(connected) == b"to the connected one" and recv(connected) is None
    assert recv(shared) == b"to the other" and recv(shared) is None
    for u in (server, shared, connected, *given, *ephemeral):
        lib.uf_udp_free(u)
    while lib.h_take(s.buf):
        pass


ENOBUFS, EAGAIN = -105, -11


def test_tcp_buffers_shrink_under_pressure_and_stop_at_the_bound(stack):
    """All connections' buffers together are bounded (tcp.c, Linux's tcp_mem), here in 64 MiB of RAM: the first
    16 connections get their default 128 KiB each way (a sixteenth of the RAM), the next ones 4 KiB each way, and
    past half the RAM (3,584 of those) connect fails with ENOBUFS and a client's handshake is reset instead of
    accepted; a connection that goes gives its bytes back, and once all are gone the defaults come back."""
    lib = stack.lib

    def buffers(t) -> tuple[int, int]:
        r, w = ctypes.c_size_t(), ctypes.c_size_t()
        lib.uf_tcp_buffers(t, ctypes.byref(r), ctypes.byref(w))
        return r.value, w.value

    def opened() -> tuple[int, ctypes.c_void_p]:
        t = ctypes.c_void_p(lib.uf_tcp_new(V4))
        rc = lib.uf_tcp_connect(t, a4("10.0.2.2"), 80)
        while lib.h_take(stack.buf):
            pass
        return rc, t

    conns = []
    while len(conns) < 4000:
        rc, t = opened()
        if rc:
            break
        conns.append(t)
    assert rc == ENOBUFS and len(conns) == 16 + 3584, (rc, len(conns))
    lib.uf_tcp_abort(t)
    sizes = [buffers(t) for t in conns]
    assert sizes == [(131072, 131072)] * 16 + [(4096, 4096)] * 3584
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8080, 0) == 0 and lib.uf_tcp_listen(l, 16) == 0
    stack.inject(eth(ipv4(6, tcp(40000, 8080, 5000, 0, "S"))))
    [synack] = stack.sent()
    stack.inject(eth(ipv4(6, tcp(40000, 8080, 5001, synack.seq + 1, "A"))))
    [reset] = stack.sent()
    c = ctypes.c_void_p()
    assert (synack.flags, reset.flags, lib.uf_tcp_accept(l, ctypes.byref(c))) == ("SA", "R", EAGAIN)
    lib.uf_tcp_abort(conns.pop())
    rc, t = opened()
    assert (rc, buffers(t)) == (0, (4096, 4096))
    for t in conns + [t]:
        lib.uf_tcp_abort(t)
    rc, t = opened()
    assert (rc, buffers(t)) == (0, (131072, 131072))
    lib.uf_tcp_abort(t)
    lib.uf_tcp_close(l)
    stack.sent()


def test_syn_flood_gets_cookies_and_real_clients_get_in(stack):
    """With the queue full of half-open connections, SYNs are answered with SYN cookies and no state; a client that
    completes the handshake gets its connection, a forged ACK gets a reset."""
    lib = stack.lib
    lib.h_live.restype = ctypes.c_long
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8082, 0) == 0 and lib.uf_tcp_listen(l, 2) == 0
    for i in range(2):                                       # the queue fills with half-open connections
        stack.inject(eth(ipv4(6, tcp(20000 + i, 8082, 77, 0, "S"))))
    stack.sent()
    live = lib.h_live()
    for i in range(2, 200):                                  # the flood: answered, nothing kept
        stack.inject(eth(ipv4(6, tcp(20000 + i, 8082, 77 + i, 0, "S", options=b"\x02\x04\x05\xb4"))))
    assert len([p for p in stack.sent() if p.flags == "SA"]) == 198 and lib.h_live() == live
    stack.inject(eth(ipv4(6, tcp(40010, 8082, 5000, 0, "S", options=b"\x02\x04\x05\xb4"))))
    [synack] = stack.sent()
    assert synack.flags == "SA" and synack.options == b"\x02\x04\x05\xb4"      # MSS only: nowhere to keep more
    stack.inject(eth(ipv4(6, tcp(40011, 8082, 6000, synack.seq + 1, "A"))))     # another's cookie: forged
    [rst] = stack.sent()
    assert rst.flags == "R"
    stack.inject(eth(ipv4(6, tcp(40010, 8082, 5001, synack.seq + 1, "PA", b"hi"))))
    c = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0
    buf = ctypes.create_string_buffer(8)
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(8), 0) == 2 and buf.raw[:2] == b"hi"
    assert info(stack, c).snd_mss == 1460
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_a_full_accept_queue_is_silent_until_the_app_accepts(stack):
    """A listener whose queue holds `backlog` connections the app hasn't accepted answers nothing, as Linux: no
    reset (the client would give up), no SYN-ACK, no state; the client's TCP retries and gets in once the app
    accepts. A cookie's handshake that completes into a full queue is dropped the same way and completes on the
    client's retransmission. A second listen() takes a new backlog under the same bounds as the first."""
    lib = stack.lib
    lib.h_live.restype = ctypes.c_long
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 8083, 0) == 0 and lib.uf_tcp_listen(l, 2) == 0
    assert lib.uf_tcp_listen(l, 0) == 0                                       # again: 0 is one, not none
    stack.inject(eth(ipv4(6, tcp(21000, 8083, 100, 0, "S"))))
    [first] = stack.sent()
    assert first.flags == "SA" and lib.uf_tcp_listen(l, 2) == 0
    stack.inject(eth(ipv4(6, tcp(21000, 8083, 101, first.seq + 1, "A"))))     # one established, not accepted
    stack.inject(eth(ipv4(6, tcp(21001, 8083, 200, 0, "S"))))
    [half] = stack.sent()                                                      # one half-open: the queue is full
    stack.inject(eth(ipv4(6, tcp(21002, 8083, 300, 0, "S"))))
    [cookie] = stack.sent()                                                    # answered with a cookie
    assert cookie.flags == "SA"
    stack.inject(eth(ipv4(6, tcp(21001, 8083, 201, half.seq + 1, "A"))))       # both queued ones established
    assert stack.sent() == []
    live = lib.h_live()
    stack.inject(eth(ipv4(6, tcp(21002, 8083, 301, cookie.seq + 1, "PA", b"c"))))  # the cookie's ACK: no room
    stack.inject(eth(ipv4(6, tcp(21003, 8083, 400, 0, "S"))))                 # a new client: no room either
    assert stack.sent() == [] and lib.h_live() == live                        # silence, nothing kept
    c = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0                        # the app makes room for one
    lib.uf_tcp_close(c)
    stack.sent()
    stack.inject(eth(ipv4(6, tcp(21002, 8083, 301, cookie.seq + 1, "PA", b"c"))))  # the client's retransmission
    [ack] = stack.sent()
    assert ack.flags == "A" and ack.ack == 302
    stack.inject(eth(ipv4(6, tcp(21003, 8083, 400, 0, "S"))))                 # full again: still silent
    assert stack.sent() == []
    buf = ctypes.create_string_buffer(8)
    for sport, data in ((21001, b""), (21002, b"c")):
        assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0
        assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(8), 0) == (len(data) or -11)      # -EAGAIN: nothing sent
        assert buf.raw[:len(data)] == data
        lib.uf_tcp_close(c)
    stack.sent()
    stack.inject(eth(ipv4(6, tcp(21003, 8083, 400, 0, "S"))))                 # the SYN's retransmission gets in
    [synack] = stack.sent()
    assert synack.flags == "SA" and synack.ack == 401
    lib.uf_tcp_close(l)
    stack.sent()


def test_tcp_passive_open_data_both_ways_and_close(stack):
    lib = stack.lib
    l, c, our_seq, seq = handshake(stack, 80, 40000)
    assert stack.sent() == []
    stack.inject(eth(ipv4(6, tcp(40000, 80, seq, our_seq, "PA", b"GET / HTTP/1.0\r\n\r\n", window=1000))))
    [ack] = stack.sent()
    assert ack.flags == "A" and ack.ack == seq + 18
    seq += 18
    buf = ctypes.create_string_buffer(100)
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(100), 0) == 18 and buf.raw[:18] == b"GET / HTTP/1.0\r\n\r\n"
    assert lib.uf_tcp_send(c, b"HTTP/1.0 200 OK\r\n\r\nhi", ctypes.c_size_t(21)) == 21
    [data] = stack.sent()
    assert data.seq == our_seq and data.data == b"HTTP/1.0 200 OK\r\n\r\nhi" and "P" in data.flags
    our_seq += 21
    lib.uf_tcp_close(c)                       # app closes: FIN after the data
    [fin] = stack.sent()
    assert "F" in fin.flags and fin.seq == our_seq
    stack.inject(eth(ipv4(6, tcp(40000, 80, seq, our_seq + 1, "FA", window=1000))))
    [last] = stack.sent()
    assert last.flags == "A" and last.ack == seq + 1       # TIME_WAIT acknowledges the peer's FIN
    stack.advance(61)                                      # 2 MSL later the connection is gone
    stack.inject(eth(ipv4(6, tcp(40000, 80, seq + 1, our_seq + 1, "A"))))
    [rst] = stack.sent()
    assert "R" in rst.flags
    lib.uf_tcp_close(l)


def test_delayed_acks_ride_on_answers_by_linuxs_rules(stack):
    """tcp_delack.c: the first data is acknowledged at once (quick-ACK mode); once the program answers what it
    reads, the ACK of the next request rides on the answer (one segment, not two); a request left unanswered is
    acknowledged after 40 ms, which ends the interactive mode; then every second full-sized segment is
    acknowledged, and a read that empties the buffer after a short segment sends the ACK still owed."""
    lib = stack.lib
    l, c, our_seq, seq = handshake(stack, 87, 40008)
    buf = ctypes.create_string_buffer(4096)

    def request(data: bytes):
        nonlocal seq
        stack.inject(eth(ipv4(6, tcp(40008, 87, seq, our_seq, "PA", data))))
        seq += len(data)

    def answer(data: bytes):
        nonlocal our_seq
        assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(4096), 0) > 0
        assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
        our_seq += len(data)
        return stack.sent()

    request(b"PING\r\n")
    [ack] = stack.sent()                                      # the first data: acknowledged at once
    assert ack.flags == "A" and ack.ack == seq
    [reply] = answer(b"+PONG\r\n")
    assert reply.data == b"+PONG\r\n"
    for _ in range(3):                                        # answered: the ACK waits and rides on the reply
        request(b"GET k\r\n")
        assert stack.sent() == []
        [reply] = answer(b"$1\r\nv\r\n")
        assert reply.ack == seq and reply.data == b"$1\r\nv\r\n"
    request(b"GET k\r\n")                                   # left unanswered: the timer, at 40 ms
    stack.advance(0.039)
    assert stack.sent() == []
    stack.advance(0.002)
    [late] = stack.sent()
    assert late.flags == "A" and late.ack == seq and not late.data
    request(b"x" * 7)                                         # no longer interactive: quick ACKs again
    [ack] = stack.sent()
    assert ack.ack == seq
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(4096), 0) > 0 and stack.sent() == []
    acked = []
    for _ in range(40):                                       # a stream of full segments: quick ACKs run out,
        request(b"s" * 1000)                                  # then every second segment is acknowledged
        acked.append([p.ack for p in stack.sent()] == [seq])
    assert acked[:8] == [True] * 8 and acked[-10:] in ([True, False] * 5, [False, True] * 5), acked
    while lib.uf_tcp_recv(c, buf, ctypes.c_size_t(4096), 0) > 0:
        pass
    stack.sent()
    request(b"s" * 1000)
    request(b"tail")
    assert [p.ack for p in stack.sent()] == [seq]             # the second segment: ACKed (more than one owed)
    request(b"short")
    assert stack.sent() == []                                 # a short segment: owed ...
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(4096), 0) == 1009
    [ack] = stack.sent()                                      # ... until the program reads it all
    assert ack.flags == "A" and ack.ack == seq
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_tcp_fast_retransmit_then_timeout(stack):
    lib = stack.lib
    l, c, our_seq, seq = handshake(stack, 81, 40001)
    chunk = bytes(1460 * 4)
    assert lib.uf_tcp_send(c, chunk, ctypes.c_size_t(len(chunk))) == len(chunk)
    assert [p.seq - our_seq for p in stack.sent()] == [0, 1460, 2920, 4380]
    # The second segment is lost: the first is acknowledged, then three duplicate ACKs come (RFC 5681 3.2).
    for _ in range(4):
        stack.inject(eth(ipv4(6, tcp(40001, 81, seq, our_seq + 1460, "A"))))
    fast = stack.sent()
    assert [(p.seq - our_seq, len(p.data)) for p in fast] == [(1460, 1460)]
    # Acknowledge everything; then a segment nobody acknowledges comes again after the retransmission timeout.
    stack.inject(eth(ipv4(6, tcp(40001, 81, seq, our_seq + len(chunk), "A"))))
    assert stack.sent() == []
    assert lib.uf_tcp_send(c, b"late", ctypes.c_size_t(4)) == 4
    [late] = stack.sent()
    stack.advance(0.009)
    assert stack.sent() == []
    stack.advance(0.002)                # 10 ms (no RTT known here): one tail loss probe, the last segment again
    [probe] = stack.sent()
    assert (probe.seq, probe.data) == (late.seq, b"late")
    stack.advance(0.15)
    assert stack.sent() == []           # one probe per stall; then only the timeout (200 ms: the floor)
    stack.advance(0.1)
    [again] = stack.sent()
    assert (again.seq, again.data) == (late.seq, b"late")
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_zero_window_is_probed_until_it_opens(stack):
    lib = stack.lib
    l, c, our_seq, seq = handshake(stack, 82, 40003)
    stack.inject(eth(ipv4(6, tcp(40003, 82, seq, our_seq, "A", window=0))))     # the peer's buffer is full
    assert lib.uf_tcp_send(c, b"queued", ctypes.c_size_t(6)) == 6
    assert stack.sent() == []                                                  # nothing fits

    for _ in range(20):                       # more rounds than the retransmission limit: probing never gives up
        stack.advance(60)
        probes = [p for p in stack.sent() if p.etype == 0x0800 and p.proto == 6 and p.sport == 82]
        assert probes and all(p.seq == our_seq for p in probes)
        stack.inject(eth(ipv4(6, tcp(40003, 82, seq, our_seq, "A", window=0))))
    stack.inject(eth(ipv4(6, tcp(40003, 82, seq, our_seq, "A", window=1000))))  # it opens
    stack.advance(60)
    data = [p for p in stack.sent() if p.etype == 0x0800 and p.proto == 6 and p.sport == 82 and p.data]
    assert data and data[-1].data == b"queued" and data[-1].seq == our_seq
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_window_scaling_only_when_the_peer_offers_it(stack):
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 83, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    stack.inject(eth(ipv4(6, tcp(40004, 83, 7, 0, "S", options=b"\x02\x04\x02\x18"))))   # MSS 536 only
    [synack] = stack.sent()
    assert synack.flags == "SA" and synack.options == b"\x02\x04\x05\xb4"
    lib.uf_tcp_close(l)


def test_out_of_order_data_gets_duplicate_acks_with_sack_blocks(stack):
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, None, 86, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    stack.inject(eth(ipv4(6, tcp(40007, 86, 100, 0, "S", options=b"\x02\x04\x05\xb4\x04\x02\x01\x01"))))
    [synack] = stack.sent()
    assert b"\x04\x02" in synack.options                                   # SACK-permitted, answered
    ours = synack.seq + 1
    stack.inject(eth(ipv4(6, tcp(40007, 86, 101, ours, "A"))))
    seq = 101
    # Segment 1 is lost; 2 and 4 arrive: each gets an immediate, data-less duplicate ACK listing what we hold.
    stack.inject(eth(ipv4(6, tcp(40007, 86, seq + 1000, ours, "A", b"b" * 1000))))
    [dup1] = stack.sent()
    stack.inject(eth(ipv4(6, tcp(40007, 86, seq + 3000, ours, "A", b"d" * 1000))))
    [dup2] = stack.sent()
    assert dup1.ack == dup2.ack == seq and dup1.data == dup2.data == b""
    blocks = lambda p: [struct.unpack("!II", p.options[4 + 8 * i:12 + 8 * i]) for i in range((p.options[3] - 2) // 8)]
    assert dup1.options[2] == 5 and blocks(dup1) == [(seq + 1000, seq + 2000)]
    assert blocks(dup2) == [(seq + 3000, seq + 4000), (seq + 1000, seq + 2000)]   # the latest first
    stack.inject(eth(ipv4(6, tcp(40007, 86, seq, ours, "A", b"a" * 1000))))     # the hole fills
    [ack] = stack.sent()
    assert ack.ack == seq + 2000 and blocks(ack) == [(seq + 3000, seq + 4000)]
    conn = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(conn)) == 0
    buf = ctypes.create_string_buffer(4000)
    assert lib.uf_tcp_recv(conn, buf, ctypes.c_size_t(4000), 0) == 2000 and buf.raw[:2000] == b"a" * 1000 + b"b" * 1000
    lib.uf_tcp_close(conn)
    lib.uf_tcp_close(l)


def test_keepalive_probes_then_gives_up(stack):
    lib = stack.lib
    l, c, our_seq, seq = handshake(stack, 84, 40005)
    lib.uf_tcp_set_keepalive(c, 1, 10, 5, 2)           # idle 10 s, then 2 probes 5 s apart
    stack.advance(9)
    assert [p for p in stack.sent() if p.proto == 6 and p.sport == 84] == []
    stack.advance(1.5)
    [probe] = [p for p in stack.sent() if p.proto == 6 and p.sport == 84]
    assert probe.seq == (our_seq - 1) & 0xFFFFFFFF and probe.data == b""   # one byte before the window
    stack.inject(eth(ipv4(6, tcp(40005, 84, seq, our_seq, "A"))))        # answered: idle again
    stack.advance(10.5)
    assert len([p for p in stack.sent() if p.proto == 6 and p.sport == 84]) == 1
    stack.advance(5.5)                                                   # unanswered probes: 2, then give up
    stack.advance(5.5)
    assert len([p for p in stack.sent() if p.proto == 6 and p.sport == 84 and "R" in p.flags]) == 1
    assert lib.uf_tcp_take_error(c) == 110                              # ETIMEDOUT
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_blind_reset_gets_a_challenge_ack(stack):
    lib = stack.lib
    l, c, _, seq = handshake(stack, 85, 40006)
    stack.inject(eth(ipv4(6, tcp(40006, 85, seq + 100, 0, "R"))))       # in the window, not exact (RFC 5961)
    [challenge] = stack.sent()
    assert challenge.flags == "A" and challenge.ack == seq
    assert lib.uf_tcp_take_error(c) == 0
    stack.inject(eth(ipv4(6, tcp(40006, 85, seq, 0, "R"))))             # exact: the connection is reset
    assert stack.sent() == [] and lib.uf_tcp_take_error(c) == 104        # ECONNRESET
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_segments_to_a_closed_port_get_a_reset(stack):
    stack.inject(eth(ipv4(6, tcp(40002, 9, 5000, 0, "S"))))
    [rst] = stack.sent()
    assert rst.flags == "RA" and rst.ack == 5001 and rst.seq == 0
    stack.inject(eth(ipv4(6, tcp(40002, 9, 5000, 0, "R"))))
    assert stack.sent() == []                 # never answer a reset


class TcpInfo(ctypes.Structure):
    """uf/net.h's struct uf_tcp_info."""
    _fields_ = [("state", ctypes.c_int), ("timestamps", ctypes.c_int), ("sack", ctypes.c_int),
                ("wscale", ctypes.c_int), ("snd_wscale", ctypes.c_uint8), ("rcv_wscale", ctypes.c_uint8),
                *[(name, ctypes.c_uint32) for name in (
                    "rto_us", "rtt_us", "rttvar_us", "snd_mss", "rcv_mss", "cwnd", "ssthresh", "unacked", "sacked",
                    "lost", "backoff", "retransmits", "total_retrans", "dsacks", "snd_wnd", "rcv_wnd", "notsent")],
                *[(name, ctypes.c_uint64) for name in ("bytes_acked", "bytes_received", "bytes_sent", "bytes_retrans")],
                *[(name, ctypes.c_uint32) for name in (
                    "segs_out", "segs_in", "data_segs_out", "data_segs_in", "min_rtt_us", "pmtu", "last_data_sent_ms",
                    "last_data_recv_ms", "last_ack_recv_ms")],
                *[(name, ctypes.c_int) for name in ("in_recovery", "keepalive", "keep_idle_s", "keep_intvl_s",
                                                    "keep_cnt")]]


def info(stack, conn) -> TcpInfo:
    out = TcpInfo()
    stack.lib.uf_tcp_get_info(conn, ctypes.byref(out))
    return out


def ts_option(tsval: int, tsecr: int) -> bytes:
    return b"\x01\x01\x08\x0a" + struct.pack("!II", tsval & 0xFFFFFFFF, tsecr & 0xFFFFFFFF)


def their_ts(p: Parsed) -> tuple[int, int]:
    """(TSval, TSecr) of a segment the stack sent."""
    at = p.options.index(b"\x08\x0a")
    return struct.unpack("!II", p.options[at + 2:at + 10])


def ts_handshake(stack, port: int, sport: int, sack=True, sndbuf=0):
    """An accepted connection whose peer offered timestamps (TSval 1000 on), and SACK if asked; with sndbuf, its
    send buffer's size (SO_SNDBUF, through the listener)."""
    lib = stack.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    lib.uf_tcp_set_buffers(l, ctypes.c_size_t(0), ctypes.c_size_t(sndbuf))
    assert lib.uf_tcp_bind(l, None, port, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    opts = b"\x02\x04\x05\xb4" + (b"\x01\x01\x04\x02" if sack else b"") + ts_option(1000, 0) + b"\x01\x03\x03\x07"
    stack.inject(eth(ipv4(6, tcp(sport, port, 1000, 0, "S", options=opts))))
    [synack] = stack.sent()
    assert their_ts(synack)[1] == 1000                          # our SYN-ACK echoes the peer's TSval
    stack.inject(eth(ipv4(6, tcp(sport, port, 1001, synack.seq + 1, "A", options=ts_option(1001, their_ts(synack)[0])))))
    conn = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(conn)) == 0
    return l, conn, synack.seq + 1, 1001


def test_timestamps_are_agreed_and_echoed(stack):
    """RFC 7323: offered back in the SYN-ACK, then on every segment, echoing the newest in-order TSval; the data
    per segment shrinks by the option's 12 bytes."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 90, 41000)
    i = info(stack, c)
    assert i.timestamps and i.sack and i.snd_mss == 1460 - 12
    stack.inject(eth(ipv4(6, tcp(41000, 90, seq, ours, "PA", b"hello", options=ts_option(1005, 0)))))
    [ack] = stack.sent()
    assert their_ts(ack)[1] == 1005
    data = bytes(1448 * 3)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    out = stack.sent()
    assert [len(p.data) for p in out] == [1448] * 3 and all(their_ts(p)[1] == 1005 for p in out)
    stack.advance(0.25)
    stack.inject(eth(ipv4(6, tcp(41000, 90, seq + 5, ours + len(data), "A", options=ts_option(1300, their_ts(out[-1])[0])))))
    assert 240_000 <= info(stack, c).rtt_us <= 260_000              # timed by the echo: 250 ms
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_ip_tos_and_ttl_mark_every_segment_and_abort_resets(stack):
    """IP_TOS and IP_TTL go into each IP header of the connection; SO_LINGER {1, 0}'s abort sends a reset at once,
    with the connection's TOS too."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 89, 40999)
    lib.uf_tcp_set_ip(c, 0x10, 7)
    assert lib.uf_tcp_send(c, b"low delay", ctypes.c_size_t(9)) == 9
    [data] = stack.sent()
    assert (data.l3[1], data.l3[8]) == (0x10, 7) and data.data == b"low delay"
    lib.uf_tcp_abort(c)
    [rst] = stack.sent()
    assert "R" in rst.flags and rst.l3[1] == 0x10
    lib.uf_tcp_close(l)


def test_paws_drops_an_old_duplicate(stack):
    """A segment in the window whose timestamp is older than the latest is an old duplicate (RFC 7323 5.3): dropped,
    answered with an ACK."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 91, 41001)
    stack.inject(eth(ipv4(6, tcp(41001, 91, seq, ours, "PA", b"new", options=ts_option(5000, 0)))))
    stack.sent()
    stack.inject(eth(ipv4(6, tcp(41001, 91, seq + 3, ours, "PA", b"OLD", options=ts_option(4000, 0)))))
    [ack] = stack.sent()
    assert ack.flags == "A" and ack.ack == seq + 3 and their_ts(ack)[1] == 5000
    buf = ctypes.create_string_buffer(16)
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(16), 0) == 3 and buf.raw[:3] == b"new"
    stack.inject(eth(ipv4(6, tcp(41001, 91, seq + 3, ours, "PA", b"fresh", options=ts_option(5001, 0)))))
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(16), 0) == 5 and buf.raw[:5] == b"fresh"
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_timestamps_time_a_retransmitted_segment(stack):
    """Karn's rule leaves a retransmission untimed; with timestamps the echo says which copy arrived, so loss still
    gives RTT samples."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 92, 41002, sack=False)
    data = bytes(1448 * 4)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    first = stack.sent()
    assert len(first) == 4
    stack.advance(0.05)
    [probe] = stack.sent()              # the tail loss probe after 10 ms (the handshake's RTT was 0 here)
    assert probe.seq == first[-1].seq
    for i in range(3):                                   # the first segment is lost: three duplicate ACKs
        stack.inject(eth(ipv4(6, tcp(41002, 92, seq, ours, "A", options=ts_option(2000 + i, their_ts(first[1])[0])))))
    [again] = stack.sent()
    assert again.seq == ours and info(stack, c).total_retrans == 2
    stack.advance(0.08)
    stack.inject(eth(ipv4(6, tcp(41002, 92, seq, ours + len(data), "A", options=ts_option(2100, their_ts(again)[0])))))
    assert 70_000 <= info(stack, c).rtt_us <= 90_000          # 80 ms: the retransmission's own round trip
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


class SackReceiver:
    """The far end of an accepted connection as a SACK receiver (RFC 2018/2883): takes the stack's segments and
    answers each with the ACK a receiver sends, SACK blocks for what it holds out of order (the range of the
    latest segment first) or a D-SACK for a duplicate. Offsets are from `base` (our first data byte)."""

    def __init__(self, stack, sport: int, dport: int, seq: int, base: int, ts: bool):
        self.stack, self.sport, self.dport, self.seq, self.base, self.ts = stack, sport, dport, seq, base, ts
        self.next = 0                   # in-order bytes received
        self.held: list[list[int]] = []  # out-of-order ranges, sorted
        self.tsval = 5000

    def offset(self, p: Parsed) -> int:
        return (p.seq - self.base) & 0xFFFFFFFF

    def ack(self, blocks: list[tuple[int, int]]):
        opts = b""
        if self.ts:
            self.tsval += 1
            opts += ts_option(self.tsval, 0)
        if blocks:
            blocks = blocks[:3 if self.ts else 4]
            opts += b"\x01\x01\x05" + bytes([2 + 8 * len(blocks)]) + b"".join(
                struct.pack("!II", (self.base + a) & 0xFFFFFFFF, (self.base + b) & 0xFFFFFFFF) for a, b in blocks)
        self.stack.inject(eth(ipv4(6, tcp(self.sport, self.dport, self.seq, self.base + self.next, "A",
                                          window=65535, options=opts))))

    def receive(self, p: Parsed) -> None:
        start, end = self.offset(p), self.offset(p) + len(p.data)
        if end <= self.next or any(a <= start and end <= b for a, b in self.held):
            self.ack([(start, end)] + [tuple(r) for r in self.held])      # a duplicate: D-SACK first
            return
        latest = None
        if start <= self.next:
            self.next = end
        else:
            self.held.append([start, end])
            self.held.sort()
            latest = start
        merged = []
        for a, b in self.held:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        while merged and merged[0][0] <= self.next:
            self.next = max(self.next, merged.pop(0)[1])
        self.held = merged
        first = [r for r in merged if latest is not None and r[0] <= latest < r[1]]
        self.ack([tuple(r) for r in first + [r for r in merged if r not in first]])


def transfer(stack, receiver: SackReceiver, total: int, lose) -> dict[int, int]:
    """Delivers what the stack sends (each segment in order, except those lose(offset, copy) drops) until the
    receiver has all `total` bytes; the clock never moves, so only ACKs can make the stack resend. Returns how many
    times each offset was sent."""
    sent: dict[int, int] = {}
    while receiver.next < total:
        out = [p for p in stack.sent() if p.proto == 6 and p.data]
        assert out, f"stuck at {receiver.next} of {total}: the stack sends nothing more without a timeout"
        for p in out:
            off = receiver.offset(p)
            sent[off] = sent.get(off, 0) + 1
            if not lose(off, sent[off]):
                receiver.receive(p)
    return sent


def test_sack_recovery_resends_each_lost_segment_once(stack):
    """RFC 6675 with PRR: four segments lost from a 60-segment transfer (two of them adjacent) are each resent
    exactly once, from the SACK information alone (no timeout), and nothing else is sent twice."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 93, 41003)
    mss = info(stack, c).snd_mss
    data = bytes(mss * 60)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    lost = {mss * i for i in (3, 7, 8, 20)}
    sent = transfer(stack, SackReceiver(stack, 41003, 93, seq, ours, ts=True), len(data),
                    lambda off, copy: off in lost and copy == 1)
    assert {off: n for off, n in sent.items() if n > 1} == {off: 2 for off in lost}
    i = info(stack, c)
    assert i.total_retrans == 4 and i.unacked == 0 and i.sacked == 0
    assert i.bytes_retrans == 4 * mss and i.bytes_sent == len(data) + 4 * mss and i.data_segs_out == 64
    assert i.segs_in >= 60 and i.data_segs_in == 0 and not i.in_recovery
    assert i.cwnd == i.ssthresh or i.cwnd > i.ssthresh            # recovery ended at ssthresh, then grew
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_a_lost_retransmission_is_resent_without_a_timeout(stack):
    """A retransmission lost again shows when data sent after it is SACKed (RACK's insight, RFC 8985): it goes a
    third time from the ACKs alone; the clock never moves."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 94, 41004)
    mss = info(stack, c).snd_mss
    data = bytes(mss * 30)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    receiver = SackReceiver(stack, 41004, 94, seq, ours, ts=True)
    sent = transfer(stack, receiver, len(data), lambda off, copy: off == 5 * mss and copy <= 2)
    assert {off: n for off, n in sent.items() if n > 1} == {5 * mss: 3}
    assert info(stack, c).unacked == 0
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_tail_loss_probe_then_recovery(stack):
    """The last segments of a response are lost: two RTTs later the last one goes again (a tail loss probe, RFC
    8985 7); the SACK it draws marks the rest lost and recovery resends them, long before the 200 ms timeout."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 98, 41008)
    mss = info(stack, c).snd_mss
    assert lib.uf_tcp_send(c, b"a", ctypes.c_size_t(1)) == 1              # an RTT sample of 9 ms first
    [a] = stack.sent()
    stack.advance(0.009)
    stack.inject(eth(ipv4(6, tcp(41008, 98, seq, ours + 1, "A", options=ts_option(2000, their_ts(a)[0])))))
    data = bytes(mss * 4)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    assert len(stack.sent()) == 4                                     # all four lost
    receiver = SackReceiver(stack, 41008, 98, seq, ours + 1, ts=True)
    stack.advance(0.017)
    assert stack.sent() == []
    stack.advance(0.002)                                              # 2 x srtt: the probe, the last segment
    [probe] = stack.sent()
    assert receiver.offset(probe) == 3 * mss
    receiver.receive(probe)
    stack.advance(0.019)                                              # its SACK, then 2 RTTs: the rest is lost
    out = stack.sent()
    assert sorted(receiver.offset(p) for p in out) == [0, mss, 2 * mss]
    for p in out:
        receiver.receive(p)
    assert receiver.next == len(data) and info(stack, c).unacked == 0
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_a_hole_below_sacked_data_is_lost_after_the_reordering_window(stack):
    """Too few segments for three duplicate ACKs: the first of three is lost and the other two are SACKed. The hole
    is resent once a quarter RTT passes (RFC 8985's reordering window; here its 2 ms floor), not after the probe
    timer's two RTTs (10 ms at least)."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 97, 41007)
    mss = info(stack, c).snd_mss
    assert lib.uf_tcp_send(c, b"a", ctypes.c_size_t(1)) == 1              # an RTT sample of 4 ms first
    [a] = stack.sent()
    stack.advance(0.004)
    stack.inject(eth(ipv4(6, tcp(41007, 97, seq, ours + 1, "A", options=ts_option(2000, their_ts(a)[0])))))
    data = bytes(mss * 3)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    out = stack.sent()
    assert len(out) == 3
    receiver = SackReceiver(stack, 41007, 97, seq, ours + 1, ts=True)
    for p in out[1:]:                                                 # the first is lost
        receiver.receive(p)
    assert stack.sent() == []                                         # two duplicate ACKs: no fast retransmit
    stack.advance(0.0019)
    assert stack.sent() == []
    stack.advance(0.0002)
    [again] = stack.sent()
    assert receiver.offset(again) == 0 and len(again.data) == mss
    receiver.receive(again)
    assert receiver.next == len(data) and info(stack, c).unacked == 0
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_limited_transmit_then_fast_retransmit(stack):
    """RFC 3042: with the congestion window full, the first two duplicate ACKs each let one new segment out; the
    third resends the lost one."""
    lib = stack.lib
    l, c, ours, seq = handshake(stack, 95, 41005)
    data = bytes(1460 * 14)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    assert len(stack.sent()) == 10                                  # the initial window (RFC 6928)
    new = []
    for _ in range(3):                                              # segment 0 lost; 1, 2, 3 arrive
        stack.inject(eth(ipv4(6, tcp(41005, 95, seq, ours, "A"))))
        new.append([(p.seq - ours) // 1460 for p in stack.sent() if p.data])
    assert new == [[10], [11], [0]]
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_window_grows_by_bytes_acknowledged_not_by_acks(stack):
    """RFC 3465 / RFC 5681 3.1: a receiver that acknowledges every second segment (as Linux's delayed ACKs do)
    lets the window grow as one that acknowledges each: slow start doubles it per round trip."""
    lib = stack.lib
    l, c, ours, seq = handshake(stack, 99, 41009)
    data = bytes(1460 * 80)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    assert len(stack.sent()) == 10                                  # the initial window (RFC 6928)
    for acked in range(2, 11, 2):                                   # one ACK per two segments
        stack.inject(eth(ipv4(6, tcp(41009, 99, seq, ours + 1460 * acked, "A", window=65535))))
    assert info(stack, c).cwnd == 20 * 1460
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


class Rounds:
    """A bulk sender over a path of a fixed round trip, in simulated time: each round the stack sends what its
    window allows, the clock moves one round trip, and a SACK receiver acknowledges every segment that arrived. One
    segment of the round may be lost (lose_in); the window's history is kept (time, cwnd in segments)."""

    def __init__(self, stack, rtt: float, port: int, sport: int):
        self.stack, self.rtt = stack, rtt
        self.l, self.c, ours, seq = ts_handshake(stack, port, sport, sndbuf=2 << 20)
        self.receiver = SackReceiver(stack, sport, port, seq, ours, ts=True)
        self.mss = info(stack, self.c).snd_mss
        self.history: list[tuple[float, float]] = []
        self.at_loss = None             # (cwnd, flight, ssthresh) in bytes as recovery began

    def round(self, lose=False, write=True):
        lib, chunk = self.stack.lib, bytes(65536)
        while write and lib.uf_tcp_send(self.c, chunk, ctypes.c_size_t(len(chunk))) > 0:
            pass
        out = [p for p in self.stack.sent() if p.proto == 6 and p.data]
        self.stack.advance(self.rtt)
        for p in out:
            if lose and p is out[len(out) // 2]:
                continue
            before = info(self.stack, self.c)
            self.receiver.receive(p)
            after = info(self.stack, self.c)
            if after.in_recovery and not before.in_recovery:
                self.at_loss = (before.cwnd, after.unacked, after.ssthresh)
        i = info(self.stack, self.c)
        self.history.append((self.stack.lib.h_now() / 1e9, i.cwnd / self.mss))
        return i

    def close(self):
        self.stack.lib.uf_tcp_abort(self.c)
        self.stack.lib.uf_tcp_close(self.l)
        self.stack.sent()


def test_a_loss_keeps_0_7_of_the_window_and_cubic_regrows_it(stack):
    """CUBIC (RFC 9438), as Linux: a loss sets the threshold to 0.7 of the flight (Reno halves it), and the window
    then follows W_cubic(t) = C(t - K)^3 + W_max (C = 0.4, t and K in s, windows in segments, W_max the window at
    the loss): quickly back toward W_max, flat around it at K, faster again beyond. 100 ms round trips in simulated
    time; the window at each round trip is checked against the RFC's function computed here in floating point."""
    path = Rounds(stack, 0.1, 97, 41097)
    while path.round().cwnd < 100 * path.mss:          # slow start to ~160 segments, then one loss
        pass
    path.round(lose=True)
    assert path.at_loss, "no recovery"
    cwnd_at_loss, flight, ssthresh = path.at_loss
    assert ssthresh == flight * 7 // 10 and flight > 150 * path.mss
    i = path.round()
    assert not i.in_recovery and i.ssthresh == ssthresh
    epoch = path.history[-2][0]                          # congestion avoidance began in this last round trip
    w_max, start = cwnd_at_loss / path.mss, ssthresh / path.mss
    k = ((w_max - start) / 0.4) ** (1 / 3)
    while path.history[-1][0] < epoch + 2 * k + 1:
        path.round()
    for when, cwnd in path.history:
        if when > epoch + path.rtt:
            t = when - epoch
            expected = 0.4 * (t - k) ** 3 + w_max
            assert abs(cwnd - expected) <= 0.02 * w_max + 2, (round(t, 2), cwnd, round(expected, 1))

    def growth(t0: float, t1: float) -> float:
        at = lambda t: min(path.history, key=lambda h: abs(h[0] - epoch - t))[1]
        return at(t1) - at(t0)

    assert growth(0.2, 1.2) > 4 * growth(k - 0.5, k + 0.5) and growth(2 * k, 2 * k + 1) > 4 * growth(k - 0.5, k + 0.5)
    path.close()


def test_cubic_resumes_its_curve_after_the_application_paused(stack):
    """RFC 9438 5.8: time limited by the application or idle does not count toward t. After a loss and a second of
    congestion avoidance the application stops writing (the window drains, then nothing is sent for 5 s) and
    resumes: the window goes on from where it was (under 4% in three round trips, as before the pause), not from
    the curve 5 s further on (8% in the first round trip, 12% in three)."""
    path = Rounds(stack, 0.1, 95, 41095)
    while path.round().cwnd < 100 * path.mss:
        pass
    path.round(lose=True)
    for _ in range(10):
        path.round()
    while info(stack, path.c).unacked or info(stack, path.c).notsent:
        path.round(write=False)
    before = info(stack, path.c).cwnd
    stack.advance(5.0)
    grown = [path.round().cwnd / before for _ in range(3)]
    assert 1 < grown[0] <= grown[1] <= grown[2] < 1.04, grown
    path.close()


def test_on_a_short_path_the_window_grows_as_reno_would(stack):
    """RFC 9438 4.3, the Reno-friendly region: with 1 ms round trips W_cubic would need seconds (thousands of round
    trips) to regain the window lost; Reno's estimate grows 3(1 - 0.7)/(1 + 0.7) = 9/17 segment per round trip, so
    the window follows it: 17 round trips after the loss it has grown by 9 segments, then, once past the window
    of the loss, by one a round trip (Reno's own pace)."""
    path = Rounds(stack, 0.001, 98, 41098)
    while path.round().cwnd < 40 * path.mss:
        pass
    path.round(lose=True)
    i = path.round()
    assert not i.in_recovery and i.ssthresh == path.at_loss[2]
    start = i.cwnd / path.mss
    for _ in range(17):
        i = path.round()
    assert 8.5 <= i.cwnd / path.mss - start <= 9.5, (start, i.cwnd / path.mss)
    while i.cwnd <= path.at_loss[0] + path.mss:
        i = path.round()
    start = i.cwnd / path.mss
    for _ in range(10):
        i = path.round()
    assert 9.5 <= i.cwnd / path.mss - start <= 10.5, (start, i.cwnd / path.mss)
    path.close()


def test_an_application_that_sends_less_than_the_window_does_not_grow_it(stack):
    """RFC 7661, as Linux: the window grows only while it held data back. A sender whose application writes 5
    segments per round trip keeps the initial window of 10 however long it runs."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 99, 41099)
    receiver = SackReceiver(stack, 41099, 99, seq, ours, ts=True)
    mss = info(stack, c).snd_mss
    for _ in range(50):
        assert lib.uf_tcp_send(c, bytes(5 * mss), ctypes.c_size_t(5 * mss)) == 5 * mss
        for p in [p for p in stack.sent() if p.proto == 6 and p.data]:
            receiver.receive(p)
        stack.advance(0.01)
    assert info(stack, c).cwnd == 10 * mss and receiver.next == 250 * mss
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_dsack_is_counted_and_starts_no_recovery(stack):
    """A D-SACK block (RFC 2883: data the peer got twice, below its cumulative ACK) is noted, not taken for a hole."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 96, 41006)
    assert lib.uf_tcp_send(c, bytes(2896), ctypes.c_size_t(2896)) == 2896
    assert len(stack.sent()) == 2
    dsack = b"\x01\x01\x05\x0a" + struct.pack("!II", ours, ours + 1448)
    for _ in range(4):
        stack.inject(eth(ipv4(6, tcp(41006, 96, seq, ours + 2896, "A", options=ts_option(3000, 0) + dsack))))
    assert stack.sent() == [] and info(stack, c).dsacks == 4 and info(stack, c).total_retrans == 0
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def test_rto_backs_off_from_the_200ms_floor(stack):
    """RTO = srtt + max(4 rttvar, 200 ms) as Linux's, doubled per unanswered timeout, back to normal with the next
    RTT sample."""
    lib = stack.lib
    l, c, ours, seq = ts_handshake(stack, 97, 41007)
    assert lib.uf_tcp_send(c, b"a", ctypes.c_size_t(1)) == 1
    [a] = stack.sent()
    stack.advance(0.010)
    stack.inject(eth(ipv4(6, tcp(41007, 97, seq, ours + 1, "A", options=ts_option(2000, their_ts(a)[0])))))
    assert info(stack, c).rto_us == 210_000                           # 10 ms + the 200 ms floor
    assert lib.uf_tcp_send(c, b"b", ctypes.c_size_t(1)) == 1
    stack.sent()
    times, start = [], stack.lib.h_now()
    for _ in range(4000):                                             # 1 ms steps: when do the copies go?
        stack.advance(0.001)
        if [p for p in stack.sent() if p.data == b"b"]:
            times.append(round((stack.lib.h_now() - start) / 1e6))
    # A tail loss probe at 2 srtt, then the timeouts: 210 ms, then 420, 840, 1680 ms apart.
    assert times == [20, 210, 630, 1470, 3150] and info(stack, c).backoff == 4
    last = [p for p in stack.sent()]
    stack.inject(eth(ipv4(6, tcp(41007, 97, seq, ours + 2, "A", options=ts_option(2001, uf_ts(lib, c))))))
    i = info(stack, c)
    assert i.backoff == 0 and i.rto_us < 1_000_000 and not last
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(l)


def uf_ts(lib, conn) -> int:
    lib.uf_tcp_ts_now.restype = ctypes.c_uint32
    return lib.uf_tcp_ts_now(conn)


def talk_to_self(stack, address: bytes, port: int) -> None:
    """A listener on address:port, a connection to it from the same stack, 300 KB each way and a clean close."""
    lib = stack.lib
    lib.uf_net_poll.restype = ctypes.c_int
    l = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(l, address, port, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    c = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_connect(c, address, port) == 0
    lib.uf_net_poll()
    a = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(a)) == 0
    data = random.Random(3).randbytes(300_000)
    got = {a.value: bytearray(), c.value: bytearray()}
    sent = {a.value: 0, c.value: 0}
    buf = ctypes.create_string_buffer(65536)
    for _ in range(10_000):
        for sock in (a, c):
            if sent[sock.value] < len(data):
                chunk = data[sent[sock.value]:sent[sock.value] + 65536]
                n = lib.uf_tcp_send(sock, chunk, ctypes.c_size_t(len(chunk)))
                sent[sock.value] += max(n, 0)
            while (n := lib.uf_tcp_recv(sock, buf, ctypes.c_size_t(65536), 0)) > 0:
                got[sock.value] += buf.raw[:n]
        lib.uf_net_poll()
        if all(len(g) == len(data) for g in got.values()):
            break
    assert got[a.value] == data and got[c.value] == data
    lib.uf_tcp_close(c)
    lib.uf_tcp_close(a)
    lib.uf_tcp_close(l)
    lib.uf_net_poll()


def test_loopback_without_a_nic(bare_stack):
    """lo needs no NIC: TCP to 127.0.0.1 (and any 127.x) and UDP over it; nothing reaches a device."""
    talk_to_self(bare_stack, a4("127.0.0.1"), 7)
    lib = bare_stack.lib
    u, v = ctypes.c_void_p(lib.uf_udp_new(V4)), ctypes.c_void_p(lib.uf_udp_new(V4))
    assert lib.uf_udp_bind(u, a4("127.0.0.1"), 53, 0) == 0    # a DNS server of its own: lo, no stub
    msg = ctypes.create_string_buffer(b"query", 5)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(msg, ctypes.c_void_p), 5)
    assert lib.uf_udp_send(v, a4("127.0.0.1"), ctypes.c_uint16(53), iov, 1) == 5
    lib.uf_net_poll()
    buf = ctypes.create_string_buffer(64)
    riov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 64)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    assert lib.uf_udp_recv(u, riov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == 5
    assert buf.raw[:5] == b"query" and addr.raw == a4("127.0.0.1")
    # Off lo there is nowhere to go.
    assert lib.uf_udp_send(v, a4("10.0.2.2"), ctypes.c_uint16(53), iov, 1) == -101   # ENETUNREACH
    t = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_connect(t, a4("10.0.2.2"), 80) == -101
    lib.uf_tcp_close(t)
    lib.uf_udp_free(u)
    lib.uf_udp_free(v)
    assert bare_stack.sent() == []


def test_own_address_and_lo_beside_the_nic(stack):
    """With a NIC, traffic to the interface's own address loops back too, and 127.0.0.1 still works: no frame
    goes out."""
    talk_to_self(stack, a4("10.0.2.15"), 8000)
    talk_to_self(stack, a4("127.0.0.1"), 8001)
    assert stack.sent() == []


# ---- IPv6 ----

def a6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


OUR_LL, PEER_LL = a6("fe80::5054:ff:fe12:3456"), a6("fe80::5054:ff:feab:cdef")
OUR_SOLICITED = a6("ff02::1:ff12:3456")


@pytest.fixture
def stack6(library, tmp_path):
    """A stack with uf.ip6=2001:db8::2/64 uf.gw6=fe80::1 beside its IPv4, knowing nothing of its neighbours."""
    s = fresh(library, tmp_path)
    s.lib.h_options6(b"2001:db8::2/64", b"fe80::1")
    assert s.lib.h_up(b"static", b"10.0.2.15/24", b"10.0.2.2", None) == 0
    yield s
    settled(s)


def neighbour_solicitation(target: bytes, src=PEER_LL, dst=OUR_SOLICITED, mac=PEER_MAC, hop_limit=255) -> bytes:
    body = b"\0" * 4 + target + (b"\x01\x01" + mac if src != bytes(16) else b"")
    return eth6(ipv6(58, icmp6(135, 0, body, src, dst), src, dst, hop_limit), dst=b"\x33\x33" + dst[12:])


def echo6(src: bytes, dst: bytes, payload=b"ping6 payload", dst_mac=OUR_MAC, hop_limit=64) -> bytes:
    return eth6(ipv6(58, icmp6(128, 0, struct.pack("!HH", 7, 1) + payload, src, dst), src, dst, hop_limit), dst_mac)


def test_ipv6_static_address_ping_and_neighbour_discovery(stack6):
    """A router solicitation at bring-up; a neighbour solicitation for our address gets a solicited advertisement
    with our MAC (and teaches us the asker's); echo requests to the link-local and the static address are answered
    from the address they were sent to."""
    [rs] = stack6.sent(v6=True)
    assert rs.dst == b"\x33\x33\x00\x00\x00\x02" and rs.hop_limit == 255 and rs.l4[0] == 133
    stack6.inject(neighbour_solicitation(a6("2001:db8::2")))
    [na] = stack6.sent(v6=True)
    assert na.l4[0] == 136 and na.l4[4] & 0x60 == 0x60 and na.l4[8:24] == a6("2001:db8::2")
    assert na.l4[24:32] == b"\x02\x01" + OUR_MAC and na.dst == PEER_MAC and na.dst6 == PEER_LL
    assert na.src6 == a6("2001:db8::2")                    # from the address it is about, as Linux
    for ours in (OUR_LL, a6("2001:db8::2")):
        stack6.inject(echo6(PEER_LL, ours))
        [reply] = stack6.sent(v6=True)
        assert reply.l4[0] == 129 and reply.src6 == ours and reply.dst6 == PEER_LL and reply.dst == PEER_MAC
        assert reply.l4[4:] == struct.pack("!HH", 7, 1) + b"ping6 payload"
    # From off the link: the answer goes through the default router, which we must find first.
    stack6.inject(echo6(a6("2001:db8:99::7"), a6("2001:db8::2")))
    [ns] = stack6.sent(v6=True)
    assert ns.l4[0] == 135 and ns.l4[8:24] == a6("fe80::1") and ns.dst6 == a6("ff02::1:ff00:1")
    router_mac = bytes.fromhex("525400000001")
    na_body = struct.pack("!B3x", 0x60) + a6("fe80::1") + b"\x02\x01" + router_mac
    stack6.inject(eth6(ipv6(58, icmp6(136, 0, na_body, a6("fe80::1"), OUR_LL), a6("fe80::1"), OUR_LL, 255)))
    [reply] = stack6.sent(v6=True)
    assert reply.dst == router_mac and reply.dst6 == a6("2001:db8:99::7") and reply.l4[0] == 129


def test_slaac_from_a_router_advertisement(stack):
    """Without uf.ip6, a router's advertisement of an autonomous /64 gives the address prefix + the MAC's interface
    identifier, and the router becomes the default one; one that was forwarded (hop limit below 255) is ignored."""
    router_ll, router_mac = a6("fe80::1"), bytes.fromhex("525400000001")
    prefix = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + a6("2001:db8:1::")
    rdnss = struct.pack("!BBHI", 25, 3, 0, 600) + a6("2001:db8:1::53")
    ra = struct.pack("!BBHII", 64, 0, 1800, 0, 0) + b"\x01\x01" + router_mac + prefix + rdnss
    forged = eth6(ipv6(58, icmp6(134, 0, ra, router_ll, a6("ff02::1")), router_ll, a6("ff02::1"), 64),
                  dst=b"\x33\x33\x00\x00\x00\x01")
    stack.inject(forged)
    stack.inject(echo6(router_ll, a6("2001:db8:1::5054:ff:fe12:3456")))
    assert stack.sent(v6=True) == []                       # no address from it
    stack.inject(eth6(ipv6(58, icmp6(134, 0, ra, router_ll, a6("ff02::1")), router_ll, a6("ff02::1"), 255),
                      dst=b"\x33\x33\x00\x00\x00\x01"))
    stack.inject(echo6(a6("2001:db8:77::1"), a6("2001:db8:1::5054:ff:fe12:3456")))
    [reply] = stack.sent(v6=True)
    assert reply.src6 == a6("2001:db8:1::5054:ff:fe12:3456") and reply.dst == router_mac
    out = ctypes.create_string_buffer(16)
    assert stack.lib.uf_net_addr6(out) == 1 and out.raw == a6("2001:db8:1::5054:ff:fe12:3456")
    assert stack.lib.uf_net_dns6(out) == 1 and out.raw == a6("2001:db8:1::53")      # for /etc/resolv.conf


def test_neighbour_unreachability_detection(stack6):
    """A confirmed neighbour is REACHABLE for 30 s, then STALE; used again, it is probed by unicast after 5 s, and
    forgotten when 3 probes go unanswered: the next datagram asks the whole link again (multicast)."""
    stack6.sent(v6=True)
    stack6.inject(echo6(PEER_LL, OUR_LL))
    [ns] = stack6.sent(v6=True)                            # who is PEER_LL? (multicast)
    assert ns.l4[0] == 135 and ns.dst6 == a6("ff02::1:ffab:cdef")
    na_body = struct.pack("!B3x", 0x60) + PEER_LL + b"\x02\x01" + PEER_MAC
    stack6.inject(eth6(ipv6(58, icmp6(136, 0, na_body, PEER_LL, OUR_LL), PEER_LL, OUR_LL, 255)))
    [reply] = stack6.sent(v6=True)
    assert reply.l4[0] == 129 and reply.dst == PEER_MAC
    stack6.advance(31)                                     # STALE now; used again: DELAY
    stack6.inject(echo6(PEER_LL, OUR_LL))
    assert [p.l4[0] for p in stack6.sent(v6=True)] == [129]
    stack6.advance(5.5)
    [probe] = stack6.sent(v6=True)                         # PROBE: unicast, to its known MAC
    assert probe.l4[0] == 135 and probe.dst == PEER_MAC and probe.dst6 == PEER_LL
    for _ in range(3):
        stack6.advance(1.1)
    stack6.sent(v6=True)
    stack6.inject(echo6(PEER_LL, OUR_LL))
    [ns] = stack6.sent(v6=True)
    assert ns.l4[0] == 135 and ns.dst6 == a6("ff02::1:ffab:cdef")      # forgotten: asked anew


def test_hostile_ipv6_headers_get_the_answers_rfc_8200_says(stack6):
    """Bounded, checked extension header chains: a routing header with segments left, an unknown option whose
    type asks for an error, hop-by-hop options not first and an unknown next header each get a parameter problem
    pointing at the culprit; too long a chain and ND messages from off-link are dropped; a lone real fragment waits
    for the rest (test_ipv6_fragments_are_reassembled); an atomic fragment is taken as the datagram it is."""
    stack6.sent(v6=True)
    stack6.inject(neighbour_solicitation(OUR_LL))          # it tells its MAC: errors go out at once
    stack6.sent(v6=True)
    ping = icmp6(128, 0, struct.pack("!HH", 1, 1), PEER_LL, OUR_LL)

    def send(nh: int, chain: bytes):
        stack6.inject(eth6(ipv6(nh, chain + ping, PEER_LL, OUR_LL)))
        return stack6.sent(v6=True)

    def problem(out, code, pointer):
        assert [(p.l4[0], p.l4[1], struct.unpack("!I", p.l4[4:8])[0]) for p in out] == [(4, code, pointer)], out

    problem(send(43, bytes([58, 0, 0, 1]) + bytes(4)), 0, 40 + 3)            # routing, segments left 1
    problem(send(60, bytes([58, 0, 0x80, 2, 0, 0, 1, 0])), 2, 40 + 2)        # option type 0x80: error, discard
    problem(send(60, bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([58, 0, 1, 4, 0, 0, 0, 0])), 1, 40)  # HbH second
    problem(send(200, b""), 1, 6)                                             # unknown next header
    assert send(60, b"".join(bytes([60, 0, 1, 4, 0, 0, 0, 0]) for _ in range(9)) + bytes([58, 0, 1, 4, 0, 0, 0, 0])) == []
    assert send(44, bytes([58, 0, 0, 9, 0, 0, 0, 5])) == []                  # a real fragment (offset 1): waits
    [reply] = send(44, bytes([58, 0, 0, 0, 0, 0, 0, 5]))                     # an atomic one
    assert reply.l4[0] == 129
    assert send(58, b"") != []                                               # still answering
    stack6.inject(neighbour_solicitation(a6("2001:db8::2"), hop_limit=64))  # forwarded ND: spoofed
    assert stack6.sent(v6=True) == []


# ---- TCP and UDP over IPv6 ----

PEER6, OUR6 = a6("2001:db8::1"), a6("2001:db8::2")


def knows_peer6(stack6) -> None:
    """The peer's solicitation for our address teaches the stack its MAC: replies go out at once."""
    stack6.sent(v6=True)
    stack6.inject(neighbour_solicitation(OUR6, src=PEER6))
    [na] = stack6.sent(v6=True)
    assert na.l4[0] == 136


def seg6(sport, dport, seq, ack, flags, data=b"", options=b"") -> bytes:
    return eth6(ipv6(6, tcp(sport, dport, seq, ack, flags, data, options=options, src=PEER6, dst=OUR6), PEER6, OUR6))


def test_tcp_over_ipv6_shares_the_tcp_code(stack6):
    """A listener on [::] takes an IPv6 connection: the SYN-ACK offers the MSS of IPv6's larger header (1440), data
    goes both ways with TCP checksums over IPv6's pseudo-header, IPV6_TCLASS and IPV6_UNICAST_HOPS mark its
    datagrams, and the peer's address reads back as itself."""
    knows_peer6(stack6)
    lib = stack6.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4 | V6))
    assert lib.uf_tcp_bind(l, None, 80, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    stack6.inject(seg6(40000, 80, 1000, 0, "S", options=b"\x02\x04\x05\xa0\x04\x02\x01\x01"))
    [synack] = stack6.sent(v6=True)
    assert synack.flags == "SA" and synack.ack == 1001 and synack.src6 == OUR6 and synack.dst6 == PEER6
    assert b"\x02\x04\x05\xa0" in synack.options                        # MSS 1440: 1500 - 40 - 20
    ours = synack.seq + 1
    stack6.inject(seg6(40000, 80, 1001, ours, "A"))
    c = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0
    addr, port = ctypes.create_string_buffer(16), ctypes.c_uint16()
    assert lib.uf_tcp_remote(c, addr, ctypes.byref(port)) == 0 and (addr.raw, port.value) == (PEER6, 40000)
    stack6.inject(seg6(40000, 80, 1001, ours, "PA", b"GET /"))
    [ack] = stack6.sent(v6=True)
    assert ack.ack == 1006
    buf = ctypes.create_string_buffer(16)
    assert lib.uf_tcp_recv(c, buf, ctypes.c_size_t(16), 0) == 5 and buf.raw[:5] == b"GET /"
    lib.uf_tcp_set_ip(c, 0xB8, 9)
    lib.uf_tcp_set_nodelay(c, 1)
    data = bytes(range(256)) * 8
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    out = stack6.sent(v6=True)
    assert [len(p.data) for p in out] == [1440, 608] and b"".join(p.data for p in out) == data
    assert all((p.l3[0] & 15) << 4 | p.l3[1] >> 4 == 0xB8 and p.hop_limit == 9 for p in out)
    lib.uf_tcp_abort(c)
    lib.uf_tcp_close(l)


def test_dual_stack_listener_takes_ipv4_as_v4_mapped(stack6):
    """A listener on [::] (both families) accepts an IPv4 client and sees it as ::ffff:10.0.2.2, as Linux; one
    with IPV6_V6ONLY doesn't (the client gets a reset), and an IPv4-only listener takes no IPv6 client. IPv4 and
    IPv6-only listeners share a port; a dual-stack one then can't have it."""
    knows_peer6(stack6)
    lib = stack6.lib
    stack6.inject(eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP),
                      0x0806, b"\xff" * 6))
    stack6.sent()
    dual, v6only, v4only = (ctypes.c_void_p(lib.uf_tcp_new(f)) for f in (V4 | V6, V6, V4))
    assert lib.uf_tcp_bind(dual, None, 81, 0) == 0 and lib.uf_tcp_listen(dual, 4) == 0
    stack6.inject(eth(ipv4(6, tcp(41000, 81, 7, 0, "S"))))
    [synack] = stack6.sent()
    stack6.inject(eth(ipv4(6, tcp(41000, 81, 8, synack.seq + 1, "A"))))
    c = ctypes.c_void_p()
    assert lib.uf_tcp_accept(dual, ctypes.byref(c)) == 0
    addr, port = ctypes.create_string_buffer(16), ctypes.c_uint16()
    assert lib.uf_tcp_remote(c, addr, ctypes.byref(port)) == 0 and addr.raw == a4("10.0.2.2")
    assert lib.uf_tcp_local(c, addr, ctypes.byref(port)) == 0 and addr.raw == a4("10.0.2.15")
    assert lib.uf_tcp_bind(v6only, None, 82, 0) == 0 and lib.uf_tcp_listen(v6only, 4) == 0
    assert lib.uf_tcp_bind(v4only, None, 82, 0) == 0 and lib.uf_tcp_listen(v4only, 4) == 0
    other = ctypes.c_void_p(lib.uf_tcp_new(V4 | V6))
    assert lib.uf_tcp_bind(other, None, 82, 0) == -98                       # EADDRINUSE
    lib.uf_tcp_close(v4only)
    stack6.inject(eth(ipv4(6, tcp(41001, 82, 7, 0, "S"))))                  # no IPv4 listener now
    [rst] = stack6.sent()
    assert "R" in rst.flags
    stack6.inject(seg6(41002, 82, 7, 0, "S"))
    [synack6] = stack6.sent(v6=True)
    assert synack6.flags == "SA"
    v4only = ctypes.c_void_p(lib.uf_tcp_new(V4))
    assert lib.uf_tcp_bind(v4only, a4("10.0.2.15"), 83, 0) == 0 and lib.uf_tcp_listen(v4only, 4) == 0
    stack6.inject(seg6(41003, 83, 7, 0, "S"))
    [rst6] = stack6.sent(v6=True)
    assert "R" in rst6.flags
    only6 = ctypes.c_void_p(lib.uf_tcp_new(V6))
    assert lib.uf_tcp_bind(only6, a4("10.0.2.15"), 84, 0) == -22             # IPV6_V6ONLY: no IPv4 address
    lib.uf_tcp_abort(c)
    for t in (dual, v6only, v4only, other, only6):
        lib.uf_tcp_close(t)


def test_udp_over_ipv6_fragments_and_errors(stack6):
    """UDP over IPv6: a datagram in, from its IPv6 source; a 3,000-byte answer waits whole for neighbour discovery,
    then leaves in fragments (fragment headers, offsets in 8-byte units) that reassemble into it; a datagram
    without a checksum is dropped (RFC 8200 8.1); one to a closed port draws a port unreachable; an IPV6_V6ONLY
    endpoint can't send to IPv4."""
    lib = stack6.lib
    stack6.sent(v6=True)
    u = ctypes.c_void_p(lib.uf_udp_new(V4 | V6))
    assert lib.uf_udp_bind(u, None, 5000, 0) == 0
    stack6.inject(eth6(ipv6(17, udp(4000, 5000, b"hello6", PEER6, OUR6), PEER6, OUR6)))
    buf = ctypes.create_string_buffer(4096)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 4096)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == 6
    assert buf.raw[:6] == b"hello6" and (addr.raw, port.value) == (PEER6, 4000)
    data = random.Random(9).randbytes(3000)
    msg = ctypes.create_string_buffer(data, len(data))
    siov = (ctypes.c_void_p * 2)(ctypes.cast(msg, ctypes.c_void_p), len(data))
    assert lib.uf_udp_send(u, PEER6, ctypes.c_uint16(4000), siov, 1) == 3000
    [ns] = stack6.sent(v6=True)
    assert ns.l4[0] == 135 and ns.l4[8:24] == PEER6
    body = struct.pack("!B3x", 0x60) + PEER6 + b"\x02\x01" + PEER_MAC
    stack6.inject(eth6(ipv6(58, icmp6(136, 0, body, PEER6, OUR6), PEER6, OUR6, 255)))
    frags = stack6.sent(v6=True)
    assert [len(f.l3) for f in frags] == [1496, 1496, 160] and all(f.nh == 44 for f in frags)
    whole, ident = b"", frags[0].l4[4:8]
    for f in frags:
        off_m = struct.unpack("!H", f.l4[2:4])[0]
        assert f.l4[0] == 17 and f.l4[4:8] == ident and off_m & ~7 == len(whole)
        assert bool(off_m & 1) == (f is not frags[-1])
        whole += f.l4[8:]
    assert whole[8:] == data and csum(pseudo6(OUR6, PEER6, 17, len(whole)) + whole) == 0
    nosum = bytearray(udp(4000, 5000, b"no sum", PEER6, OUR6))
    nosum[6:8] = b"\0\0"
    stack6.inject(eth6(ipv6(17, bytes(nosum), PEER6, OUR6)))
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == -11
    stack6.inject(eth6(ipv6(17, udp(4000, 5999, b"anyone?", PEER6, OUR6), PEER6, OUR6)))
    [err] = stack6.sent(v6=True)
    assert (err.l4[0], err.l4[1]) == (1, 4) and err.l4[8 + 40:8 + 48] == udp(4000, 5999, b"anyone?", PEER6, OUR6)[:8]
    only6 = ctypes.c_void_p(lib.uf_udp_new(V6))
    assert lib.uf_udp_send(only6, a4("10.0.2.2"), ctypes.c_uint16(9), siov, 1) == -101     # ENETUNREACH
    lib.uf_udp_free(only6)
    lib.uf_udp_free(u)


def test_a_spoofed_neighbour_is_corrected_by_its_answer_to_our_probe(stack6):
    """An unsolicited advertisement with override moves the peer's address to a MAC that isn't its (as RFC 4861
    says, and as Linux takes it); our replies go there. Unreachability detection then probes by unicast, and on a
    link that delivers it anyway (a tap) the peer answers as Linux does, solicited, without override or its
    link-layer address: the frame's source MAC is then taken, and replies reach the peer again."""
    knows_peer6(stack6)
    bogus = bytes.fromhex("a2766f1686f5")

    def advertisement(flags: int, options: bytes) -> bytes:
        return eth6(ipv6(58, icmp6(136, 0, struct.pack("!B3x", flags) + PEER6 + options, PEER6, OUR6), PEER6, OUR6,
                         255))

    def ping_reply_to() -> bytes:
        stack6.inject(echo6(PEER6, OUR6))
        [reply] = [p for p in stack6.sent(v6=True) if p.l4[0] == 129]
        return reply.dst

    stack6.inject(advertisement(0x20, b"\x02\x01" + bogus))       # override, not solicited
    assert ping_reply_to() == bogus
    stack6.advance(6)                                            # DELAY over: a unicast probe
    [probe] = stack6.sent(v6=True)
    assert probe.l4[0] == 135 and probe.dst == bogus and probe.dst6 == PEER6
    stack6.inject(advertisement(0x40, b""))                      # solicited, no override, no address
    assert ping_reply_to() == PEER_MAC


def test_ipv6_fragments_are_reassembled(stack6):
    """Fragments of a 3,000-byte UDP datagram, last first, reach the endpoint whole; fragments that overlap drop
    their datagram (RFC 5722), even when the rest comes; a neighbour solicitation in fragments is not taken (RFC
    6980); the slots of datagrams that never complete are given back after 30 s."""
    knows_peer6(stack6)
    lib = stack6.lib
    u = ctypes.c_void_p(lib.uf_udp_new(V6))
    assert lib.uf_udp_bind(u, None, 5000, 0) == 0
    data = random.Random(6).randbytes(3000)
    datagram = udp(4000, 5000, data, PEER6, OUR6)

    def fragments(ident: int, cuts: list[int], nh=17, whole=datagram) -> list[bytes]:
        bounds = [0, *cuts, len(whole)]
        return [eth6(ipv6(44, struct.pack("!BBHI", nh, 0, a | (b < len(whole)), ident) + whole[a:b], PEER6, OUR6))
                for a, b in zip(bounds, bounds[1:])]

    buf = ctypes.create_string_buffer(4096)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 4096)
    addr, port, full = ctypes.create_string_buffer(16), ctypes.c_uint16(), ctypes.c_size_t()
    for frame in reversed(fragments(1, [1232, 2464])):
        stack6.inject(frame)
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == 3000
    assert buf.raw[:3000] == data and (addr.raw, port.value) == (PEER6, 4000)
    first, second, third = fragments(2, [1232, 2464])
    overlapping = fragments(2, [1224, 2464])[1]                 # starts 8 bytes inside the first
    for frame in (first, overlapping, second, third):
        stack6.inject(frame)
    assert lib.uf_udp_recv(u, iov, 1, addr, ctypes.byref(port), 0, ctypes.byref(full)) == -11
    ns = neighbour_solicitation(OUR6, src=PEER6, dst=OUR6)[14 + 40:]
    for frame in fragments(3, [16], nh=58, whole=ns):
        stack6.inject(frame)
    assert stack6.sent(v6=True) == []
    stack6.advance(31)                                          # the slots of the above expire
    live = lib.h_live()
    stack6.inject(fragments(4, [1232])[0])                     # never completed: a slot's buffer, until...
    assert lib.h_live() == live + 1
    stack6.advance(31)
    assert lib.h_live() == live
    lib.uf_udp_free(u)


def test_packet_too_big_lowers_the_mss_and_the_path_mtu(stack6):
    """Path MTU discovery over IPv6 (RFC 8201): a router's Packet Too Big (MTU 1280) about our segment makes the
    connection resend in segments that fit (1280 - 40 - 20 bytes of data), and UDP to that destination fragments to
    it from then on; one quoting a sequence number we never sent changes nothing."""
    knows_peer6(stack6)
    lib = stack6.lib
    l = ctypes.c_void_p(lib.uf_tcp_new(V4 | V6))
    assert lib.uf_tcp_bind(l, None, 85, 0) == 0 and lib.uf_tcp_listen(l, 4) == 0
    stack6.inject(seg6(40085, 85, 1000, 0, "S", options=b"\x02\x04\x05\xa0"))
    [synack] = stack6.sent(v6=True)
    ours = synack.seq + 1
    stack6.inject(seg6(40085, 85, 1001, ours, "A"))
    c = ctypes.c_void_p()
    assert lib.uf_tcp_accept(l, ctypes.byref(c)) == 0
    data = bytes(1440 * 2)
    assert lib.uf_tcp_send(c, data, ctypes.c_size_t(len(data))) == len(data)
    first = stack6.sent(v6=True)
    assert [len(p.data) for p in first] == [1440, 1440]

    def too_big(seq: int) -> bytes:
        quote = first[0].l3[:40] + struct.pack("!HHI", 85, 40085, seq & 0xFFFFFFFF) + bytes(1000)
        router = a6("2001:db8::fe")
        return eth6(ipv6(58, icmp6(2, 0, struct.pack("!I", 1280) + quote, router, OUR6), router, OUR6))

    stack6.inject(too_big(ours + 100_000))
    assert stack6.sent(v6=True) == []
    stack6.inject(too_big(ours))
    assert [(p.seq - ours, len(p.data)) for p in stack6.sent(v6=True)] == [(0, 1220), (1220, 1220)]   # (the rest: Nagle)
    u = ctypes.c_void_p(lib.uf_udp_new(V6))
    msg = ctypes.create_string_buffer(1400)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(msg, ctypes.c_void_p), 1400)
    assert lib.uf_udp_send(u, PEER6, ctypes.c_uint16(9), iov, 1) == 1400
    assert [len(f.l3) for f in stack6.sent(v6=True)] == [1280, 224]
    lib.uf_udp_free(u)
    lib.uf_tcp_abort(c)
    lib.uf_tcp_close(l)


def icmp_message(kind: int, code: int, rest: bytes) -> bytes:
    m = struct.pack("!BBH", kind, code, 0) + rest
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def hostile_frames(count: int, seed: int) -> list[bytes]:
    """Valid frames of every kind, then mutated: truncated, bit-flipped, lengths and offsets lied about."""
    rng = random.Random(seed)
    mss = b"\x02\x04\x05\xb4\x01\x03\x03\x0e"
    base = [
        eth(ipv4(6, tcp(40000 + rng.randrange(50), 80, rng.randrange(1 << 32), 0, "S", options=mss))),
        eth(ipv4(6, tcp(40000 + rng.randrange(50), 80, rng.randrange(1 << 32), rng.randrange(1 << 32), "PA",
                        b"x" * rng.randrange(100)))),
        eth(ipv4(17, udp(53, 7, b"y" * 40))),
        eth(ipv4(17, udp(67, 68, b"\x02" + b"\0" * 300))),
        eth(ipv4(1, struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"z" * 20)),
        eth(_fragment(b"f" * 64, rng.randrange(8), 0x2000 | rng.randrange(8192), 64)),
        eth(struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP), 0x0806),
        # Timestamps and SACK blocks (the sender's scoreboard parses those), and ICMP errors quoting our segments.
        eth(ipv4(6, tcp(8080, rng.randrange(49152, 65536), rng.randrange(1 << 32), rng.randrange(1 << 32), "A",
                        options=ts_option(rng.randrange(1 << 32), rng.randrange(1 << 32)) + b"\x01\x01\x05\x12" +
                        bytes(rng.randrange(256) for _ in range(16))))),
        eth(ipv4(1, icmp_message(3, rng.choice([3, 4]), struct.pack("!HH", 0, rng.randrange(65536)) + ipv4(
            6, tcp(rng.randrange(49152, 65536), 8080, rng.randrange(1 << 32), 0, "S"), src=OUR_IP, dst=PEER_IP)[:28]))),
        # IPv6: neighbour discovery (solicitations, advertisements, a router's with prefix, MTU and DNS options),
        # echo, and chains of extension headers with options.
        neighbour_solicitation(OUR_LL),
        eth6(ipv6(58, icmp6(136, 0, struct.pack("!B3x", 0x60) + PEER_LL + b"\x02\x01" + PEER_MAC, PEER_LL, OUR_LL),
                  PEER_LL, OUR_LL, 255)),
        eth6(ipv6(58, icmp6(134, 0, struct.pack("!BBHII", 64, 0, 1800, 0, 0) + b"\x01\x01" + PEER_MAC +
                            struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + a6("2001:db8:1::") +
                            struct.pack("!BBHI", 5, 1, 0, 1400) + struct.pack("!BBHI", 25, 3, 0, 600) + a6("2001:db8::53"),
                            PEER_LL, a6("ff02::1")), PEER_LL, a6("ff02::1"), 255), dst=b"\x33\x33\x00\x00\x00\x01"),
        echo6(PEER_LL, OUR_LL, b"z" * rng.randrange(64)),
        eth6(ipv6(60, bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([43, 0, 0xC2, 2, 0, 0, 1, 0]) + bytes([44, 0, 0, 0, 0, 0, 0, 0]) +
                  bytes([58, 0, 0, 0, 0, 0, 0, 9]) + icmp6(128, 0, b"\0\1\0\1", PEER_LL, OUR_LL), PEER_LL, OUR_LL)),
        # TCP and UDP over IPv6 (the listener and the UDP endpoint take both families), fragments of a datagram.
        eth6(ipv6(6, tcp(40000 + rng.randrange(50), 80, rng.randrange(1 << 32), 0, "S", options=mss, src=PEER_LL,
                         dst=OUR_LL), PEER_LL, OUR_LL)),
        eth6(ipv6(6, tcp(40000 + rng.randrange(50), 80, rng.randrange(1 << 32), rng.randrange(1 << 32), "PA",
                         b"x" * rng.randrange(100), src=PEER_LL, dst=OUR_LL), PEER_LL, OUR_LL)),
        eth6(ipv6(17, udp(53, 7, b"y" * 40, PEER_LL, OUR_LL), PEER_LL, OUR_LL)),
        eth6(ipv6(44, bytes([17, 0]) + struct.pack("!HI", rng.randrange(8) << 3 | rng.randrange(2), 7) +
                  udp(53, 7, b"z" * 64, PEER_LL, OUR_LL), PEER_LL, OUR_LL)),
    ]
    frames = []
    for _ in range(count):
        f = bytearray(rng.choice(base))
        for _ in range(rng.randrange(1, 6)):
            what = rng.randrange(6)
            if what == 0 and len(f) > 1:
                del f[rng.randrange(1, len(f)):]                     # truncated
            elif what == 1:
                f[rng.randrange(len(f))] ^= 1 << rng.randrange(8)    # a flipped bit
            elif what == 2 and len(f) > 30:
                i = rng.randrange(14, min(len(f), 60))
                f[i] = rng.choice([0, 0xFF, 0x0F, 0xF0, rng.randrange(256)])   # header fields at extremes
            elif what == 3:
                f += bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
            elif what == 4 and len(f) > 40:
                f[16:18] = struct.pack("!H", rng.randrange(65536))       # IP total length lies
            elif what == 5 and len(f) > 47:
                f[46] = rng.randrange(256)                               # TCP data offset lies
        frames.append(bytes(f[:1514]))
    return frames


def test_10000_hostile_frames_under_sanitizers(tmp_path):
    exe = tmp_path / "fuzz"
    sources = [HARNESS, ROOT / "tests" / "net" / "fuzz_main.c", *SOURCES]
    # The strongest checks the host compiler has: AddressSanitizer with UBSan (gcc, clang), else UBSan alone
    # (zig's cc), else none: a memory error then still shows as a crash or a wrong exit status.
    for sanitizers in (["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
                       ["-fsanitize=undefined", "-fsanitize-trap=undefined"], []):
        try:
            compile_harness(exe, sanitizers, sources)
            break
        except subprocess.CalledProcessError:
            if not sanitizers:
                raise
    corpus = tmp_path / "frames.bin"
    corpus.write_bytes(b"".join(struct.pack("!H", len(f)) + f for f in hostile_frames(10_000, seed=7)))
    proc = subprocess.run([str(exe), str(corpus)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fuzz: 10000 frames" in proc.stdout
