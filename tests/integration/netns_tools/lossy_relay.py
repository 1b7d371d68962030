"""Relays Ethernet frames between the guest's tap device and a new host-side tap, dropping a share of them at
random in both directions: packet loss for hosts without sch_netem. Runs inside the test's network namespace.

    lossy_relay.py GUEST_IFACE HOST_TAP HOST_CIDR LOSS SEED

GUEST_IFACE is the tap QEMU is attached to (no address: the host stack never uses it); frames are read from it
with a packet socket. HOST_TAP is created here and given HOST_CIDR, so the namespace's own TCP/IP talks to the
guest through this relay. Prints "ready" once relaying, and "dropped A B of C D" (guest->host, host->guest) when
ended with SIGTERM.

Frames travel with their virtio-net header (PACKET_VNET_HDR on the packet socket, IFF_VNET_HDR on the tap): QEMU's
tap backend and the kernel leave TCP/UDP checksums to be completed later when the NIC offloads them, and the header
is what says so; without it such frames would arrive with wrong checksums.
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


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    return fd


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
                counts["to_host"][1] += 1
                if rng.random() < loss:
                    counts["to_host"][0] += 1
                else:
                    os.write(tap, frame)
        if tap in readable:
            frame = os.read(tap, 65536)
            counts["to_guest"][1] += 1
            if rng.random() < loss:
                counts["to_guest"][0] += 1
            else:
                guest.send(frame)


if __name__ == "__main__":
    main()
