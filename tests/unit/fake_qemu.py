"""A stand-in for qemu-system-*, for vm.QemuVM's state machine: it speaks QMP on the socket QemuVM passes it
(`-chardev socket,id=qmp,fd=N`, with -S: nothing runs before `cont`) and plays the scenario `-fake NAME[:ARG]`:

  exit:N              after cont, writes a console line and exits with N (as isa-debug-exit makes QEMU do)
  reset               after cont, reports SHUTDOWN (guest-reset) and exits 0
  halt:STATE          after cont, stops the guest (STOP) and keeps running; query-status says STATE
  hang                after cont, runs until told to quit
  deaf                as hang, but never answers quit (QemuVM must kill it)
  exit-during-cont:N  exits with N on cont, before answering it (a guest that ends at once)
  die                 exits 1 with an error on stderr before its greeting (a QEMU that cannot start)

Every QMP command it receives is appended to the file named by FAKE_QEMU_LOG, one per line."""

import json
import os
import socket
import sys
import time


def main(argv: list[str]) -> None:
    name, _, arg = argv[argv.index("-fake") + 1].partition(":")
    if name == "die":
        print("fake-qemu: -machine no-such-machine: unsupported machine type", file=sys.stderr)
        sys.exit(1)
    chardev = next(a for a in argv if a.startswith("socket,id=qmp,fd="))
    qmp = socket.socket(fileno=int(chardev.rsplit("=", 1)[1]))
    log = open(os.environ["FAKE_QEMU_LOG"], "a") if "FAKE_QEMU_LOG" in os.environ else None

    def send(message: dict) -> None:
        qmp.sendall(json.dumps(message).encode() + b"\r\n")

    def event(kind: str, data: dict | None = None) -> None:
        send({"event": kind, "data": data or {}, "timestamp": {"seconds": int(time.time()), "microseconds": 0}})

    send({"QMP": {"version": {"qemu": {"major": 10, "minor": 0, "micro": 0}, "package": "fake"},
                  "capabilities": []}})
    status, buffer, decoder = "prelaunch", "", json.JSONDecoder()
    while chunk := qmp.recv(65536):
        buffer += chunk.decode()
        while buffer.strip():
            try:
                message, end = decoder.raw_decode(buffer.lstrip())
            except ValueError:
                break                   # the rest of this message is still on its way
            buffer = buffer.lstrip()[end:]
            command = message.get("execute")
            if log:
                log.write(command + "\n")
                log.flush()
            reply = {"return": {}, **({"id": message["id"]} if "id" in message else {})}
            if command == "cont":
                if name == "exit-during-cont":
                    os._exit(int(arg))
                send(reply)
                status = "running"
                event("RESUME")
                if name == "exit":
                    sys.stdout.write("hello from the fake guest\n")
                    sys.stdout.flush()
                    os._exit(int(arg))
                if name == "reset":
                    event("SHUTDOWN", {"guest": True, "reason": "guest-reset"})
                    os._exit(0)
                if name == "halt":
                    status = arg
                    event("STOP")
            elif command == "query-status":
                send({**reply, "return": {"status": status, "running": status == "running"}})
            elif command == "quit":
                if name == "deaf":
                    continue
                send(reply)
                event("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"})
                os._exit(0)
            else:
                send(reply)


if __name__ == "__main__":
    main(sys.argv)
