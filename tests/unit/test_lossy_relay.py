"""The loss tests' relay (tests/integration/netns_tools/lossy_relay.py) draws loss per wire packet: a TCP segmentation
offload frame (what a Linux guest's virtio-net hands its tap) is drawn for per segment, and when some are lost it is
cut into frames of one segment each that the host's stack takes as it would QEMU's."""
import importlib.util
import random
import struct
from pathlib import Path

RELAY = Path(__file__).resolve().parents[1] / "integration" / "netns_tools" / "lossy_relay.py"
spec = importlib.util.spec_from_file_location("lossy_relay", RELAY)
relay = importlib.util.module_from_spec(spec)
spec.loader.exec_module(relay)

SRC, DST = bytes([10, 79, 1, 2]), bytes([10, 79, 1, 1])


class Draws(random.Random):
    """Returns the given draws in turn."""

    def __init__(self, draws):
        super().__init__(0)
        self.draws = list(draws)

    def random(self):
        return self.draws.pop(0)


def fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return fold(sum(struct.unpack(f"!{len(data) // 2}H", data)))


def tso_frame(payload: bytes, gso_size: int, flags: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 80, 40000, 1000, 77, 5 << 4, flags, 500, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 300, 0x4000, 64, 6, 0, SRC, DST)
    vnet = relay.VNET_HDR.pack(relay.NEEDS_CSUM, relay.GSO_TCPV4, 54, gso_size, 34, 16)
    return vnet + bytes(12) + b"\x08\x00" + ip + tcp + payload


def test_a_tso_frame_is_drawn_for_per_segment_and_cut_where_one_is_lost():
    payload = bytes(range(256)) * 13 + bytes(172)           # 3,500 bytes: segments of 1,000, 1,000, 1,000, 500
    frame = tso_frame(payload, 1000, 0x80 | 0x10 | 0x08 | 0x01)     # CWR ACK PSH FIN
    whole, packets, lost = relay.segments(frame, Draws([0.9] * 4), 0.5)
    assert (whole, packets, lost) == ([frame], 4, 0)
    out, packets, lost = relay.segments(frame, Draws([0.9, 0.1, 0.9, 0.9]), 0.5)
    assert (len(out), packets, lost) == (3, 4, 1)
    for piece, index in zip(out, (0, 2, 3)):
        flags, gso_type, _, _, csum_start, csum_offset = relay.VNET_HDR.unpack_from(piece)
        assert (flags, gso_type, csum_start, csum_offset) == (relay.NEEDS_CSUM, 0, 34, 16)
        ip, tcp = piece[24:44], piece[44:]
        data = tcp[20:]
        assert data == payload[index * 1000:(index + 1) * 1000]
        assert ones_sum(ip) == 0xFFFF and struct.unpack("!H", ip[2:4])[0] == 40 + len(data)
        assert struct.unpack("!H", ip[4:6])[0] == 300 + index
        assert struct.unpack("!I", tcp[4:8])[0] == 1000 + 1000 * index
        assert tcp[13] == {0: 0x90, 2: 0x10, 3: 0x19}[index]   # CWR on the first only, PSH FIN on the last only
        # What the host does with NEEDS_CSUM (the sum from csum_start, over the pseudo-header sum left in the
        # field) gives the segment's true checksum.
        completed = ~ones_sum(tcp) & 0xFFFF
        zeroed = tcp[:16] + b"\0\0" + tcp[18:]
        assert completed == ~ones_sum(SRC + DST + struct.pack("!BBH", 0, 6, len(tcp)) + zeroed) & 0xFFFF


def test_a_plain_frame_is_one_draw():
    frame = relay.VNET_HDR.pack(0, 0, 0, 0, 0, 0) + bytes(60)
    assert relay.segments(frame, Draws([0.9]), 0.05) == ([frame], 1, 0)
    assert relay.segments(frame, Draws([0.01]), 0.05) == ([], 1, 1)
