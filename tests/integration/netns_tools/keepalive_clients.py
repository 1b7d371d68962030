"""Opens CLIENTS connections to examples/httpd, checks the server holds them all at once (/stats), then has every
one send ROUNDS requests over itself at the same time (keep-alive): GET PATH must return the bytes of PAGE_FILE,
POST /echo its own payload. Runs on the host or inside a test's network namespace.

    keepalive_clients.py HOST PORT CLIENTS ROUNDS PAGE_FILE [--burst]

--burst: all connect at the same moment (a SYN burst) instead of one after another. Prints "ok", or the failures
and exits 1.
"""
import http.client
import json
import sys
import threading
from pathlib import Path

TIMEOUT = 600  # seconds per request: a bound for a busy TCG host, not a performance check


def main() -> int:
    host, port, clients, rounds, page_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
        sys.argv[5]
    burst = "--burst" in sys.argv[6:]
    page = Path(page_file).read_bytes()
    failures: list[str] = []
    conns = [http.client.HTTPConnection(host, port, timeout=TIMEOUT) for _ in range(clients)]
    def connect(n: int, conn: http.client.HTTPConnection) -> None:
        try:
            conn.connect()
        except OSError as e:
            failures.append(f"client {n}: connect: {e!r}")

    if burst:
        threads = [threading.Thread(target=connect, args=(n, c)) for n, c in enumerate(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for n, c in enumerate(conns):
            connect(n, c)
    if failures:
        print("\n".join(failures[:20]))
        return 1

    # Every connection is open and none has sent a request: the server must hold them all (+ this one).
    probe = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    probe.request("GET", "/stats")
    stats = json.loads(probe.getresponse().read())
    probe.close()
    if stats["open_connections"] < clients + 1:
        failures.append(f"the server holds {stats['open_connections']} connections, not {clients + 1}: {stats}")

    def client(n: int, conn: http.client.HTTPConnection) -> None:
        sock = conn.sock
        try:
            for i in range(rounds):
                if i % 2:
                    payload = f"client {n} round {i} ".encode() * (1 + 97 * i)
                    conn.request("POST", "/echo", body=payload)
                    response = conn.getresponse()
                    body = response.read()
                    if (response.status, body) != (200, payload):
                        failures.append(f"client {n} round {i}: {response.status}, {len(body)} bytes back")
                else:
                    conn.request("GET", "/")
                    response = conn.getresponse()
                    if (response.status, response.read()) != (200, page):
                        failures.append(f"client {n} round {i}: status {response.status} or a wrong page")
                if conn.sock is not sock:
                    failures.append(f"client {n}: the connection was not kept alive")
        except Exception as e:  # any failure is reported, with the others
            failures.append(f"client {n}: {e!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n, c)) for n, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("\n".join(failures[:20]))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
