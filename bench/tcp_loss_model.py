"""The TCP sender's loss recovery alone, on the host: libos/net compiled natively with the fake NIC and clock of the
host-side stack tests (tests/unit/test_net_host_stack.py), a SACK receiver in Python, random loss of data segments
and ACKs, a fixed 0.5 ms round trip. Reports the simulated time to deliver MIB MiB and how much of it was spent
waiting for a timer (the probe timer or the retransmission timeout): what loss costs the sender, without TCG,
the guest's scheduling or a second stack in the way. With --delayed-acks the receiver acknowledges every second
in-order segment, as Linux's does between losses (what is out of order at once; an ACK still owed at the end of a
round trip then too). Prints JSON.

    python bench/tcp_loss_model.py [--mib 4] [--loss 0.01,0.05] [--seeds 1,2,3] [--delayed-acks]
"""
import argparse
import ctypes
import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))
import test_net_host_stack as host  # noqa: E402 (the harness and the SACK receiver of the stack's tests)


class DelayedAckReceiver(host.SackReceiver):
    """A SACK receiver that acknowledges every second in-order segment."""

    owed = False

    def ack(self, blocks):
        if not blocks and not self.held and not self.owed:
            self.owed = True
            return
        self.owed = False
        super().ack(blocks)

    def flush(self):
        if self.owed:
            self.owed = False
            super().ack([])


def run(library: Path, total: int, loss: float, seed: int, delayed_acks: bool) -> dict:
    stack = host.Stack(ctypes.CDLL(str(library)))
    lib = stack.lib
    assert lib.h_up(b"static", b"10.0.2.15/24", b"10.0.2.2", None) == 0
    stack.inject(host.eth(host.struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, host.PEER_MAC, host.PEER_IP,
                                           b"\0" * 6, host.OUR_IP), 0x0806, b"\xff" * 6))
    stack.sent()
    listener, conn, ours, seq = host.ts_handshake(stack, 80, 40000)
    receiver = (DelayedAckReceiver if delayed_acks else host.SackReceiver)(stack, 40000, 80, seq, ours, ts=True)
    rng, chunk, queued, waited = random.Random(seed), bytes(65536), 0, 0
    start = lib.h_now()
    while receiver.next < total:
        while queued < total and (n := lib.uf_tcp_send(conn, chunk, ctypes.c_size_t(min(65536, total - queued)))) > 0:
            queued += n
        out = [p for p in stack.sent() if p.proto == 6 and p.data]
        if not out:                     # nothing in flight moves: time passes until a timer fires
            stack.advance(0.001)
            waited += 1
            continue
        stack.advance(0.0005)
        for p in out:
            if rng.random() < loss:
                continue
            if rng.random() < loss:     # the ACK it draws is lost
                real, stack.inject = stack.inject, lambda frame: None
                receiver.receive(p)
                stack.inject = real
            else:
                receiver.receive(p)
        if delayed_acks:
            receiver.flush()
    i = host.info(stack, conn)
    return {"seconds": round((lib.h_now() - start) / 1e9, 3), "waiting_s": waited / 1000,
            "retransmitted_segments": i.total_retrans}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=4)
    parser.add_argument("--loss", default="0.01,0.05")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--delayed-acks", action="store_true", help="a receiver that acknowledges every second segment")
    opts = parser.parse_args()
    stdout = os.dup(1)
    os.dup2(2, 1)               # the stack's console lines (uf_printk) to stderr: stdout is the report's
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "libnet.so"
        host.compile_harness(library, ["-shared", "-fPIC"], [host.HARNESS, *host.SOURCES])
        report = {}
        for loss in map(float, opts.loss.split(",")):
            runs = []
            for seed in map(int, opts.seeds.split(",")):
                copy = Path(tmp) / f"libnet-{loss}-{seed}.so"      # a fresh stack per run
                copy.write_bytes(library.read_bytes())
                runs.append(run(copy, opts.mib << 20, loss, seed, opts.delayed_acks))
            report[f"{loss:g}"] = runs
    os.dup2(stdout, 1)
    print(json.dumps({"mib": opts.mib, "round_trip_ms": 0.5, "delayed_acks": opts.delayed_acks, "by_loss": report},
                     indent=2))


if __name__ == "__main__":
    main()
