"""One request per connection, the client closing first: ADDRESS PORT COUNT [WINDOW].

Each connection sends `GET / HTTP/1.1` (keep-alive, so the server waits), reads the whole response (by its
Content-Length) and closes, so the TIME_WAIT is the client's, as with health checks and short RPCs. Prints one
JSON line per WINDOW connections ({"done": N, "per_s": R}) and a last line with the total. A connection that fails
ends the run with its error (exit status 1): running out of local ports shows up as EADDRNOTAVAIL.

bench/net_throughput.py runs it inside its network namespace; tests/integration/test_net.py too.
"""
import json
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: churn\r\n\r\n"


def one_request(address: str, port: int) -> None:
    with socket.create_connection((address, port), timeout=30) as s:
        s.sendall(REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed before the response's head")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed before the end of the body")
            body += chunk


def main() -> None:
    address, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    window = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
    start = last = time.perf_counter()
    for done in range(1, count + 1):
        try:
            one_request(address, port)
        except (OSError, ConnectionError, StopIteration) as e:
            print(json.dumps({"failed_at": done, "error": str(e)}), flush=True)
            sys.exit(1)
        if done % window == 0 or done == count:
            now = time.perf_counter()
            print(json.dumps({"done": done, "per_s": round((done - (done - 1) // window * window) / (now - last), 1)}),
                  flush=True)
            last = now
    print(json.dumps({"total": count, "seconds": round(time.perf_counter() - start, 2)}), flush=True)


if __name__ == "__main__":
    main()
