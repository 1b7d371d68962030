"""Relays Ethernet frames between the guest's tap device and a new host-side tap, dropping a share of them at
random in both directions: packet loss for hosts without sch_netem. Runs inside the test's network namespace.

    lossy_relay.py GUEST_IFACE HOST_TAP HOST_CIDR LOSS SEED

GUEST_IFACE is the tap QEMU is attached to (no address: the host stack never uses it); frames are read from it
with a packet socket. HOST_TAP is created here and given HOST_CIDR, so the namespace's own TCP/IP talks to the
guest through this relay. Prints "ready" once relaying, and "dropped A B of C D" (guest->host, host->guest, in wire
packets) when ended with SIGTERM.

Frames travel with their virtio-net header (PACKET_VNET_HDR on the packet socket, IFF_VNET_HDR on the tap): QEMU's
tap backend and the kernel leave TCP/UDP checksums to be completed later when the NIC offloads them, and the header
is what says so; without it such frames would arrive with wrong checksums.

Loss is drawn per packet as it would travel on a wire: a guest whose NIC does TCP segmentation offload (a Linux
guest's virtio-net) hands over frames of up to 64 KiB that the host cuts into MSS-sized segments. Dropping such a
frame whole would spare its sender 44 draws in 45 (one frame per loss event instead of one segment per packet); so
each of its segments is drawn for, and when any is lost the frame is cut here and the others go on alone.
"""
import fcntl
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
SOL_PACKET, PACKET_VNET_HDR = 263, 15
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
VNET_HDR = struct.Struct("<BBHHHH")     # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
NEEDS_CSUM, GSO_TCPV4 = 1, 1
TCP_FIN, TCP_PSH, TCP_CWR = 0x01, 0x08, 0x80


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    return fd


def ip_checksum(header: bytes) -> int:
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def one_draw(frame: bytes, rng: random.Random, loss: float) -> tuple[list[bytes], int, int]:
    """A frame of one packet: passed on or lost whole."""
    dropped = rng.random() < loss
    return ([] if dropped else [frame]), 1, int(dropped)


def segments(frame: bytes, rng: random.Random, loss: float) -> tuple[list[bytes], int, int]:
    """The frames to pass on for one from the guest (its virtio-net header first), how many wire packets it stands
    for and how many of them were lost. A TCP/IPv4 segmentation offload frame is drawn for per segment; when some
    are lost, the others go as frames of their own (checksum left to the host: NEEDS_CSUM over a pseudo-header sum,
    as QEMU hands them)."""
    _, gso_type, _, gso_size, _, _ = VNET_HDR.unpack_from(frame)
    if gso_type & 0x7F != GSO_TCPV4 or not gso_size:       # 0x80: the ECN bit
        return one_draw(frame, rng, loss)
    eth = VNET_HDR.size
    ihl = (frame[eth + 14] & 15) * 4
    ip = eth + 14
    tcp = ip + ihl
    doff = (frame[tcp + 12] >> 4) * 4
    payload = frame[tcp + doff:]
    count = max(1, -(-len(payload) // gso_size))
    lost = [rng.random() < loss for _ in range(count)]
    if not any(lost):
        return [frame], count, 0
    out = []
    ident, seq = struct.unpack_from("!H", frame, ip + 4)[0], struct.unpack_from("!I", frame, tcp + 4)[0]
    for i in range(count):
        if lost[i]:
            continue
        piece = payload[i * gso_size:(i + 1) * gso_size]
        iph = bytearray(frame[ip:tcp])
        struct.pack_into("!HH", iph, 2, ihl + doff + len(piece), (ident + i) & 0xFFFF)
        struct.pack_into("!H", iph, 10, 0)
        struct.pack_into("!H", iph, 10, ip_checksum(bytes(iph)))
        tcph = bytearray(frame[tcp:tcp + doff])
        struct.pack_into("!I", tcph, 4, (seq + i * gso_size) & 0xFFFFFFFF)
        if i < count - 1:
            tcph[13] &= ~(TCP_FIN | TCP_PSH) & 0xFF
        if i:
            tcph[13] &= ~TCP_CWR & 0xFF
        pseudo = iph[12:20] + struct.pack("!BBH", 0, 6, doff + len(piece))
        struct.pack_into("!H", tcph, 16, ~ip_checksum(bytes(pseudo)) & 0xFFFF)
        vnet = VNET_HDR.pack(NEEDS_CSUM, 0, 0, 0, 14 + ihl, 16)
        out.append(vnet + frame[eth:ip] + bytes(iph) + bytes(tcph) + piece)
    return out, count, sum(lost)


def main() -> None:
    guest_iface, host_tap, host_cidr, loss, seed = sys.argv[1:6]
    loss = float(loss)
    rng = random.Random(int(seed))
    guest = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    guest.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    guest.bind((guest_iface, 0))
    tap = open_tap(host_tap)
    subprocess.run(["ip", "addr", "add", host_cidr, "dev", host_tap], check=True)
    subprocess.run(["ip", "link", "set", host_tap, "up"], check=True)
    counts = {"to_host": [0, 0], "to_guest": [0, 0]}  # [dropped, seen]

    def finish(*_):
        (a, c), (b, d) = counts["to_host"], counts["to_guest"]
        print(f"dropped {a} {b} of {c} {d}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([guest, tap], [], [])
        if guest in readable:
            frame, address = guest.recvfrom(65536)
            if address[2] != PACKET_OUTGOING:  # our own sends to the guest come back here: not the guest's
                passed, packets, lost = segments(frame, rng, loss)
                counts["to_host"][0] += lost
                counts["to_host"][1] += packets
                for piece in passed:
                    os.write(tap, piece)
        if tap in readable:
            frame = os.read(tap, 65536)
            counts["to_guest"][1] += 1
            if rng.random() < loss:
                counts["to_guest"][0] += 1
            else:
                guest.send(frame)


if __name__ == "__main__":
    main()
