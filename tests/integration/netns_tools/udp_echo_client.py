"""Sends datagrams of each SIZE to an echo service at ADDRESS PORT (IPv4 or IPv6) and checks each comes back whole.
UDP may lose a datagram, so each is tried up to 10 times. Prints "ok", or what went wrong (exit 1).

    udp_echo_client.py ADDRESS PORT SIZE...
"""
import socket
import sys


def main() -> None:
    address, port, sizes = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        for size in sizes:
            datagram = bytes((size + i) % 251 for i in range(size))
            for _ in range(10):
                s.sendto(datagram, (address, port))
                try:
                    reply, peer = s.recvfrom(65536)
                except TimeoutError:
                    continue
                if reply != datagram or peer[0] != address:
                    sys.exit(f"{size} bytes: {len(reply)} other bytes came back from {peer[0]}")
                break
            else:
                sys.exit(f"no echo of a {size}-byte datagram")
    print("ok")


if __name__ == "__main__":
    main()
