"""Sends malformed and hostile Ethernet frames to a guest through an interface (the host side of its tap).
Runs inside the test's network namespace; the frames are built with scapy and mangled on purpose.

    hostile_frames.py IFACE GUEST_MAC GUEST_IP HOST_IP COUNT SEED

IFACE is a network interface, or unix:MINE:THEIRS for a datagram socket that a QEMU NIC reads (the xl rig's).

Kinds, in turn: truncated headers at every layer, lengths that lie (IP total length, IHL, TCP data offset, UDP
length), bad IP/TCP/UDP/ICMP checksums, overlapping and endless fragments, SYN floods from many addresses, odd
TCP flag sets and options, malformed ARP, and random bytes behind valid headers. With IPv6 addresses (GUEST_IP
HOST_IP such as 2001:db8::2 2001:db8::1), IPv6's own: extension header chains that are long, lie about their
lengths or carry options of every action, routing headers, overlapping and atomic fragments, neighbour discovery
spoofing (advertisements overriding others' addresses, forwarded router advertisements, bad options), truncated
and mis-summed ICMPv6. Prints "sent N" at the end.
"""
import random
import socket
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw, fragment, fragment6, raw)


def kinds(guest_mac: str, guest_ip: str, host_ip: str, host_mac: str, rng: random.Random):
    eth = Ether(dst=guest_mac, src=host_mac)

    def ip(**fields):
        return IP(src=host_ip, dst=guest_ip, **fields)

    def tcp(**fields):
        return TCP(sport=rng.randrange(1024, 65536), dport=rng.choice([80, 80, 81, 0, 65535]),
                   seq=rng.getrandbits(32), ack=rng.getrandbits(32), **fields)

    def payload():
        return Raw(bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 64))))

    def truncated():
        frame = raw(eth / ip() / rng.choice([tcp(flags="S"), UDP(dport=80), ICMP()]) / payload())
        return frame[:rng.randrange(0, len(frame))]

    def lying_ip_length():
        frame = bytearray(raw(eth / ip() / tcp(flags="A") / payload()))
        frame[16:18] = rng.choice([0, 1, 19, 20, 21, 1500, 65535]).to_bytes(2, "big")
        return bytes(frame)

    def lying_ihl():
        frame = bytearray(raw(eth / ip() / UDP(dport=7) / payload()))
        frame[14] = 0x40 | rng.choice([0, 1, 4, 6, 15])
        return bytes(frame)

    def bad_version():
        frame = bytearray(raw(eth / ip() / ICMP()))
        frame[14] = (rng.choice([0, 5, 6, 15]) << 4) | 5
        return bytes(frame)

    def lying_tcp_offset():
        return raw(eth / ip() / tcp(flags=rng.choice(["S", "A", "PA"]), dataofs=rng.choice([0, 1, 4, 15])) /
                   payload())

    def lying_udp_length():
        return raw(eth / ip() / UDP(dport=rng.choice([7, 67, 68, 53]), len=rng.choice([0, 1, 7, 9, 65535])) /
                   payload())

    def bad_checksums():
        layer = rng.choice([tcp(flags="S", chksum=rng.getrandbits(16)), UDP(dport=7, chksum=rng.getrandbits(16)),
                            ICMP(type=8, chksum=rng.getrandbits(16))])
        return raw(eth / ip(chksum=rng.choice([None, rng.getrandbits(16)])) / layer / payload())

    def overlapping_fragments():
        packet = ip(id=rng.getrandbits(16)) / ICMP(type=8) / Raw(bytes(rng.randrange(200, 3000)))
        pieces = fragment(packet, fragsize=rng.choice([8, 16, 64, 512]))
        for piece in pieces:
            piece.frag = max(0, piece.frag - rng.randrange(0, 3))  # step back into the previous piece
        rng.shuffle(pieces)
        return [raw(eth / piece) for piece in pieces[:40]]

    def endless_fragments():
        # Pieces that never complete a datagram, at odd offsets, up to the largest offset IPv4 allows.
        ident = rng.getrandbits(16)
        return [raw(eth / ip(id=ident, flags="MF", frag=rng.choice([1, 100, 8000, 8191])) / Raw(bytes(64)))
                for _ in range(rng.randrange(1, 8))]

    def syn_flood():
        source = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return raw(eth / IP(src=source, dst=guest_ip) / TCP(sport=rng.randrange(1024, 65536), dport=80, flags="S",
                                                            seq=rng.getrandbits(32)))

    def odd_flags():
        flags = rng.choice(["", "F", "SF", "SR", "SFRPAUEC", "RA", "FPU", "U", "SA", "PA"])
        options = rng.choice([[], [("MSS", 0)], [("WScale", 255)], [("MSS", 1)], [("SAckOK", b""), ("NOP", None)],
                              [("Timestamp", (0, 0))]])
        return raw(eth / ip() / tcp(flags=flags, options=options, window=rng.choice([0, 1, 65535])) / payload())

    def bad_options():
        frame = bytearray(raw(eth / ip() / tcp(flags="S", options=[("NOP", None)] * 8)))
        frame[54:62] = bytes(rng.choice([0, 1, 2, 3, 4, 8, 255]) for _ in range(8))  # kinds and lengths at random
        return bytes(frame)

    def bad_arp():
        arp = ARP(op=rng.choice([1, 2, 3, 0, 65535]), psrc=host_ip, pdst=guest_ip, hwsrc=host_mac,
                  hwlen=rng.choice([6, 0, 255]), plen=rng.choice([4, 0, 255]))
        frame = raw(Ether(dst=rng.choice([guest_mac, "ff:ff:ff:ff:ff:ff"]), src=host_mac) / arp)
        return frame[:rng.randrange(14, len(frame) + 1)]

    def garbage_behind_header():
        ethertype = rng.choice([0x0800, 0x0806, 0x86DD, 0x8100, 0x0000, 0xFFFF])
        body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 1500)))
        return bytes.fromhex(guest_mac.replace(":", "")) + bytes(6) + ethertype.to_bytes(2, "big") + body

    def oversized_icmp():
        return raw(eth / ip(flags="DF") / ICMP(type=rng.choice([0, 3, 5, 8, 11, 13, 255])) / Raw(bytes(1472)))

    return [truncated, lying_ip_length, lying_ihl, bad_version, lying_tcp_offset, lying_udp_length, bad_checksums,
            overlapping_fragments, endless_fragments, syn_flood, odd_flags, bad_options, bad_arp,
            garbage_behind_header, oversized_icmp]


def kinds6(guest_mac: str, guest_ip: str, host_ip: str, host_mac: str, rng: random.Random):
    eth = Ether(dst=guest_mac, src=host_mac)
    octets = [int(x, 16) for x in guest_mac.split(":")]
    guest_ll = "fe80::%02x%02x:%02xff:fe%02x:%02x%02x" % (octets[0] ^ 2, octets[1], octets[2], octets[3], octets[4],
                                                        octets[5])

    def ip6(**fields):
        return IPv6(src=host_ip, dst=rng.choice([guest_ip, guest_ll]), **fields)

    def ping():
        return ICMPv6EchoRequest(id=rng.getrandbits(16), data=bytes(rng.randrange(0, 64)))

    def option():
        kind = rng.choice([0, 1, 0x05, 0x3e, 0x42, 0x80, 0xc2, 0xff])
        return bytes([kind]) if kind == 0 else bytes([kind, rng.choice([0, 1, 2, 6, 255])]) + bytes(rng.randrange(8))

    def long_chain():
        chain = IPv6ExtHdrHopByHop() if rng.random() < 0.5 else IPv6ExtHdrDestOpt()
        for _ in range(rng.randrange(1, 20)):
            chain = chain / rng.choice([IPv6ExtHdrDestOpt(), IPv6ExtHdrHopByHop(), IPv6ExtHdrRouting(segleft=0),
                                        IPv6ExtHdrFragment(offset=0, m=0)])
        return raw(eth / ip6() / chain / ping())

    def lying_ext_length():
        frame = bytearray(raw(eth / ip6() / IPv6ExtHdrDestOpt() / ping()))
        frame[54 + 1] = rng.choice([1, 2, 16, 255])          # the option header's length, past the end
        frame[18:20] = rng.choice([0, 1, 8, 48, 65535]).to_bytes(2, "big") if rng.random() < 0.3 else frame[18:20]
        return bytes(frame)

    def options():
        body = b"".join(option() for _ in range(rng.randrange(1, 6)))
        body += bytes(-(len(body) + 2) % 8)
        header = bytes([58, (len(body) + 2) // 8 - 1]) + body
        frame = bytearray(raw(eth / ip6(nh=rng.choice([0, 60])) / Raw(header) / ping()))
        return bytes(frame)

    def routing():
        return raw(eth / ip6() / IPv6ExtHdrRouting(type=rng.choice([0, 2, 3, 4, 255]), segleft=rng.choice([0, 1, 255]),
                                                   addresses=[host_ip] * rng.randrange(0, 3)) / ping())

    def overlapping_fragments():
        packet = ip6() / IPv6ExtHdrFragment(id=rng.getrandbits(32)) / ICMPv6EchoRequest(data=bytes(rng.randrange(100, 3000)))
        pieces = fragment6(packet, rng.choice([1280, 1500]))
        for piece in pieces:
            frag = piece[IPv6ExtHdrFragment]
            frag.offset = max(0, frag.offset - rng.randrange(0, 3))
        rng.shuffle(pieces)
        return [raw(eth / piece) for piece in pieces[:40]]

    def atomic_fragment():
        return raw(eth / ip6() / IPv6ExtHdrFragment(offset=0, m=0, id=rng.getrandbits(32)) / ping())

    def nd_spoofing():
        target = rng.choice([guest_ip, guest_ll, host_ip, "2001:db8::99"])
        spoof_mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
        message = rng.choice([
            ICMPv6ND_NA(tgt=target, R=0, S=rng.randrange(2), O=1) / ICMPv6NDOptDstLLAddr(lladdr=spoof_mac),
            ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=spoof_mac),
            ICMPv6ND_RA(routerlifetime=rng.choice([0, 1, 9000])) / ICMPv6NDOptSrcLLAddr(lladdr=spoof_mac) /
            ICMPv6NDOptPrefixInfo(prefix=f"2001:db8:{rng.randrange(65536):x}::", prefixlen=rng.choice([0, 48, 64, 128]),
                                  validlifetime=rng.choice([0, 1, 0xffffffff]))])
        src = rng.choice(["fe80::1", host_ip, "::"])
        frame = bytearray(raw(Ether(dst=rng.choice([guest_mac, "33:33:00:00:00:01"]), src=host_mac) /
                              IPv6(src=src, dst=rng.choice([guest_ll, "ff02::1"]), hlim=rng.choice([255, 255, 64])) /
                              message))
        if rng.random() < 0.3 and len(frame) > 62:
            frame[rng.randrange(62, len(frame))] = rng.choice([0, 255])     # an option's type or length
        return bytes(frame)

    def truncated_icmp6():
        frame = raw(eth / ip6() / ping())
        return frame[:rng.randrange(14, len(frame))]

    def bad_icmp6_checksum():
        return raw(eth / ip6() / ICMPv6EchoRequest(cksum=rng.getrandbits(16)))

    return [long_chain, lying_ext_length, options, routing, overlapping_fragments, atomic_fragment, nd_spoofing,
            truncated_icmp6, bad_icmp6_checksum]


def main() -> None:
    iface, guest_mac, guest_ip, host_ip, count, seed = sys.argv[1:7]
    count = int(count)
    rng = random.Random(int(seed))
    if iface.startswith("unix:"):
        # unix:MINE:THEIRS, a datagram socket a QEMU NIC reads frames from (-netdev dgram): the xl rig's.
        _, mine, theirs = iface.split(":", 2)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(mine)
        sock.connect(theirs)
        host_mac = "02:75:66:00:00:01"
    else:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((iface, 0))
        host_mac = ":".join(f"{b:02x}" for b in sock.getsockname()[4][:6])
    makers = (kinds6 if ":" in guest_ip else kinds)(guest_mac, guest_ip, host_mac=host_mac, host_ip=host_ip, rng=rng)
    sent = 0
    while sent < count:
        made = makers[sent % len(makers)]()
        for frame in made if isinstance(made, list) else [made]:
            if sent == count:
                break
            sock.send(frame[:1514].ljust(14, b"\0"))  # a packet socket refuses less than an Ethernet header
            sent += 1
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    main()
