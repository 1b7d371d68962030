"""Real programs from Debian 12's source packages, built unmodified by their own build systems as the ports in ports/
say (bzip2's Makefile; SQLite's and nginx's ./configure and make, with `uniforge cc`), and run with their output
checked, one target per arch (and bzip2 and dos2unix on the xl targets too): bzip2 (compression, through stdin and
stdout), dos2unix (a line-break filter), sqlite3 (a database: SQL from stdin, a database file in /tmp with its
journal, WAL and locks), nginx (a server: its pages from the image and a FAT disk, sendfile, keep-alive, its access
log) and Redis (a server with threads, driven by Debian's redis-cli and redis-benchmark). Each port is built once
per target and kept in the uniforge cache (its project build), so a session builds each once at most."""
from __future__ import annotations

import functools
import hashlib
import http.client
import re
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import uniforge as api
from conftest import one_per_arch, targets_with, uniforge
from host_network import Namespace, require_namespaces
from uniforge.building import ports
from uniforge.core.errors import ToolError


pytestmark = pytest.mark.uniforge(targets=one_per_arch("console"))


@pytest.fixture(scope="session")
def port_image():
    """image(name, target) -> the port's Image (skipped, saying why, when its sources cannot be fetched here)."""
    images = {}

    def image(name: str, target: str) -> api.Image:
        if (name, target) not in images:
            try:
                images[name, target] = api.build_port(name, target)
            except ToolError as e:
                pytest.skip(e.message)
        return images[name, target]

    return image


def source_tree(name: str) -> Path:
    return ports.load(name).source_tree()


@pytest.mark.uniforge(targets=[*one_per_arch("console"), *targets_with("xl")])
def test_bzip2_passes_its_own_test_through_stdin_and_stdout(port_image, target):
    """bzip2's `make test`: each sample compressed at its level gives the package's .bz2 byte for byte, and each
    .bz2 decompresses to the sample; on the xl targets too, where stdin goes through the domain's PV console."""
    image = port_image("bzip2", target)
    tree = source_tree("bzip2")
    for n in (1, 2, 3):
        reference, compressed = (tree / f"sample{n}.ref").read_bytes(), (tree / f"sample{n}.bz2").read_bytes()
        packed = image.run([f"-{n}"], stdin=reference, timeout=300)
        assert packed.ok and packed.output == compressed, f"-{n}: {packed.message}, {len(packed.output)} bytes"
        unpacked = image.run(["-d"], stdin=compressed, timeout=300)
        assert unpacked.ok and unpacked.output == reference, f"-d: {unpacked.message}, {len(unpacked.output)} bytes"


def test_the_port_commands_work_from_any_folder(port_image, target, tmp_path):
    """`uniforge port run` from a folder that is no app's: the program's stdin and stdout are the command's, byte
    for byte; `uniforge port check` boots the server ports and asks them (nginx its page, Redis a PING)."""
    port_image("bzip2", target)
    sample = source_tree("bzip2") / "sample1.ref"
    packed = uniforge("port", "run", "bzip2", "-t", target, "--", "-1", cwd=tmp_path, input=sample.read_bytes(),
                      text=False)
    assert packed.returncode == 0 and packed.stdout == (source_tree("bzip2") / "sample1.bz2").read_bytes(), \
        packed.stderr
    for server in ("nginx", "redis"):      # asked over HTTP; over TCP (PING, +PONG)
        port_image(server, target)
        checked = uniforge("port", "check", server, "-t", target, cwd=tmp_path)
        assert checked.stdout == f"port {server} on {target}: its check passed\n", checked.stdout + checked.stderr


def test_bzip2_says_damaged_input_is_damaged(port_image, target):
    """A .bz2 with 100 bytes zeroed: bzip2's own diagnosis and exit status 2, no crash."""
    image = port_image("bzip2", target)
    damaged = bytearray((source_tree("bzip2") / "sample1.bz2").read_bytes())
    damaged[5000:5100] = bytes(100)
    result = image.run(["-d"], stdin=bytes(damaged), timeout=300)
    assert (result.status, result.ending) == (2, "exited"), result.message
    assert "bzip2: Data integrity error when decompressing.\n\tInput file = (stdin), output file = (stdout)\n" \
        in result.console, result.console


LUA_SCRIPT = r"""
local t = {}
for i = 1, 10 do t[i] = (i * 7919) % 101 end
table.sort(t)
print("sorted", table.concat(t, " "))
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib", fib(20))
print(string.format("%5.2f|%x|%q", math.pi, 255, "a\0b"))
local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
print("co", co(1), co(21))
print("pcall", select(2, pcall(error, {code = 42})).code, select(2, pcall(error, "boom", 0)))
print("gsub", ("hello world"):gsub("o", "0"))
print("utf8", utf8.len("h\u{e9}llo"), #"h\u{e9}llo")
print("int", math.maxinteger, 7 // 2, 7 / 2, 3 | 5, 2^53)
print("require", (pcall(require, "nosuchmodule")))
print("time", os.time{year = 2000, month = 1, day = 1, hour = 0}, os.date("!%Y-%m-%d", 86400 * 365))
local f = assert(io.open("/tmp/lua.txt", "w"))
f:write("line1\n", 42, "\n")
f:close()
for line in io.lines("/tmp/lua.txt") do io.write("[", line, "]") end
print()
print("remove", os.remove("/tmp/lua.txt"), io.open("/tmp/lua.txt") == nil)
print("load", load("return 6 * 7")(), select(2, load("return +")))
os.exit(7)
"""

LUA_OUTPUT = """sorted\t3 6 22 25 41 44 63 66 82 85
fib\t6765
 3.14|ff|"a\\0b"
co\t2\t42
pcall\t42\tboom
gsub\thell0 w0rld\t2
utf8\t5\t6
int\t9223372036854775807\t3\t3.5\t7\t9.007199254741e+15
require\tfalse
time\t946684800\t1971-01-01
[line1][42]
remove\ttrue\ttrue
load\t42\t[string "return +"]:1: unexpected symbol near '+'
"""


def test_lua_runs_a_script_from_stdin(port_image, target):
    """`lua -` runs what comes on stdin: tables, closures, coroutines, errors as values, integers and floats,
    UTF-8, the clock and dates, files in /tmp, load; os.exit's status comes back."""
    image = port_image("lua", target)
    result = image.run(["-"], stdin=LUA_SCRIPT.encode(), timeout=300)
    assert (result.status, result.ending) == (7, "exited"), result.message + result.console
    assert result.console == LUA_OUTPUT, result.console


def test_lua_reports_a_runtime_error_with_its_traceback(port_image, target):
    image = port_image("lua", target)
    result = image.run(["-e", "local function f() error('deep') end f()"], timeout=300)
    assert (result.status, result.ending) == (1, "exited"), result.message + result.console
    assert re.search(r"lua: \(command line\):1: deep\nstack traceback:\n", result.console), result.console


@pytest.mark.uniforge(targets=[*one_per_arch("console"), *targets_with("xl")])
def test_dos2unix_filters_stdin_to_stdout(port_image, target):
    """Debian's dos2unix as a filter: DOS line breaks become Unix ones, a lone CR and UTF-8 stay as they are; -c mac
    turns a lone CR into LF and leaves CRLF; --info counts the breaks; a NUL byte makes it refuse binary input."""
    image = port_image("dos2unix", target)
    runs = [([], b"a\r\nb\rc\r\n\xc3\xa9\n", b"a\nb\rc\n\xc3\xa9\n"),
            (["-c", "mac"], b"a\r\nb\rc\r\n", b"a\r\nb\nc\r\n"),
            (["--info"], b"a\r\nb\nc\r", b"       1       1       1  no_bom    text  \n")]
    for args, given, wanted in runs:
        result = image.run(args, stdin=given, timeout=300)
        assert result.ok and result.output == wanted, f"{args}: {result.message} {result.output!r}"
    binary = image.run([], stdin=b"a\r\n\0b\r\n", timeout=300)
    assert binary.status == 1 and "Binary symbol 0x00 found at line 2" in binary.console, binary.console


def test_the_programs_link_only_what_they_use(port_image, target):
    """bzip2, lua and sqlite3 open no socket: no network stack; they read the console: module stdin. nginx has
    the stack, its files embedded and the FAT driver for its disk."""
    for name in ("bzip2", "lua", "sqlite3"):
        modules = set(port_image(name, target).inspect()["modules"])
        assert "stdin" in modules and not modules & {"net", "socket", "virtio-net"}, sorted(modules)
    modules = set(port_image("nginx", target).inspect()["modules"])
    assert {"net", "socket", "epoll", "embedfs", "fat", "sendfile"} <= modules, sorted(modules)
    modules = set(port_image("redis", target).inspect()["modules"])
    assert {"net", "socket", "epoll", "embedfs", "thread", "fat"} <= modules, sorted(modules)


SQL_MEMORY = """
.mode list
create table t(id integer primary key, name text, score real);
insert into t(name, score) values ('ann', 3.5), ('bob', 4.25), ('cy', 2.0);
select count(*), sum(score), group_concat(name, ',') from t;
select name from t where score > 3 order by score desc;
create virtual table docs using fts5(body);
insert into docs values ('the quick brown fox'), ('lazy dogs sleep'), ('quick thinking');
select rowid, body from docs where docs match 'quick' order by rowid;
select json_extract('{"a":[1,2,{"b":"x"}]}', '$.a[2].b');
with recursive c(x) as (select 1 union all select x + 1 from c where x < 10) select sum(x * x) from c;
select printf('%08.3f|%s', pi(), upper('abc')), sqlite_version();
select * from nosuchtable;
"""


def test_sqlite3_runs_sql_from_stdin(port_image, target):
    """SQL from stdin: tables, aggregates, full-text search (FTS5), JSON, a recursive CTE, math; an error names
    the line and sets the exit status, as the shell does for a script."""
    result = port_image("sqlite3", target).run(stdin=SQL_MEMORY.encode(), timeout=300)
    assert (result.status, result.ending) == (1, "exited"), result.message + result.console
    assert result.console == ("3|9.75|ann,bob,cy\nbob\nann\n1|the quick brown fox\n3|quick thinking\nx\n385\n"
                              "0003.142|ABC|3.40.1\nParse error near line 13: no such table: nosuchtable\n"), \
        result.console


SQL_FILE = """
pragma journal_mode=wal;
create table kv(k integer primary key, v text);
begin;
with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000)
  insert into kv select x, hex(randomblob(16)) from c;
commit;
select count(*), min(k), max(k), sum(length(v)) from kv;
delete from kv where k % 2 = 0;
pragma wal_checkpoint(truncate);
pragma journal_mode=delete;
vacuum;
.open /tmp/test.db
select count(*), sum(k) from kv;
pragma integrity_check;
.tables
"""


def test_sqlite3_keeps_a_database_file_through_wal_vacuum_and_reopening(port_image, target):
    """A database in /tmp: a 5000-row transaction in WAL mode (the -wal file, its -shm mapped shared, POSIX
    locks), a checkpoint, back to a rollback journal, VACUUM, then opened again and checked."""
    result = port_image("sqlite3", target).run(["/tmp/test.db"], stdin=SQL_FILE.encode(), timeout=300)
    assert result.ok, result.message + result.console
    assert result.console == ("wal\n5000|1|5000|160000\n0|0|0\ndelete\n2500|6250000\nok\nkv\n"), result.console


BIG = bytes((i * 7 + (i >> 10)) & 0xFF for i in range(1 << 20))


@pytest.fixture(scope="module")
def site_disk(tmp_path_factory) -> Path:
    """A FAT disk with a 1 MiB file, which the nginx port serves at /data/."""
    folder = tmp_path_factory.mktemp("site")
    (folder / "files").mkdir()
    (folder / "files" / "big.bin").write_bytes(BIG)
    uniforge("disk", "create", str(folder / "site.img"), "--size", "16M", "--from", str(folder / "files"),
             check=True)
    return folder / "site.img"


def test_nginx_serves_its_own_pages_and_a_large_file(port_image, target, site_disk):
    """nginx in one process: its package's index.html and 50x.html from the image with their MIME type, a 1 MiB
    file from the FAT disk (sendfile) whole, HEAD, 404; its access log on the console."""
    with port_image("nginx", target).boot(publish=[80], disks=[f"{site_disk}:ro"], timeout=600) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)
        pages = {}
        for method, path in [("GET", "/"), ("GET", "/50x.html"), ("GET", "/data/big.bin"), ("HEAD", "/data/big.bin"),
                             ("GET", "/nope")]:
            connection = http.client.HTTPConnection(host, port, timeout=60)
            connection.request(method, path, headers={"Connection": "close"})
            response = connection.getresponse()
            pages[method, path] = (response.status, response.getheader("Content-Type"),
                                   response.getheader("Content-Length"), response.read())
            connection.close()
        tree = source_tree("nginx")
        assert pages["GET", "/"] == (200, "text/html", str((tree / "html/index.html").stat().st_size),
                                     (tree / "html/index.html").read_bytes())
        assert pages["GET", "/50x.html"][:2] == (200, "text/html")
        assert pages["GET", "/data/big.bin"] == (200, "application/octet-stream", str(len(BIG)), BIG)
        assert pages["HEAD", "/data/big.bin"] == (200, "application/octet-stream", str(len(BIG)), b"")
        assert pages["GET", "/nope"][0] == 404
        vm.expect(r'"GET /data/big.bin HTTP/1.1" 200 1048576 ', timeout=30)
        assert vm.crash is None


def test_nginx_answers_a_thousand_requests_and_fifty_at_once(port_image, target, site_disk):
    """1,000 requests one after the other, each on a connection of its own; then 50 connections open at once,
    whose 50 requests (the page from the image and the large file from the disk, alternately) are sent together
    and answered with the right bytes. The 50 are opened one by one: QEMU's user networking accepts a forwarded
    port's connections through a listen backlog of 1 (`ss -ltn` shows it), so connects all at once would overflow
    the host's own queue before they reach the guest."""
    with port_image("nginx", target).boot(publish=[80], disks=[f"{site_disk}:ro"], timeout=900) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)
        index = (source_tree("nginx") / "html/index.html").read_bytes()
        wrong = []
        for n in range(1000):
            connection = http.client.HTTPConnection(host, port, timeout=60)
            connection.request("GET", "/", headers={"Connection": "close"})
            response = connection.getresponse()
            if (response.status, response.read()) != (200, index):
                wrong.append(n)
            connection.close()
        assert not wrong, f"{len(wrong)} of 1000 answers were wrong (first: request {wrong[0]})"
        connections = []
        for _ in range(50):
            connections.append(socket.create_connection((host, port), timeout=120))
            time.sleep(0.05)
        expected = [BIG if n % 2 else index for n in range(50)]

        def exchange(n: int) -> bytes:
            path = "/data/big.bin" if n % 2 else "/"
            connections[n].sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := connections[n].recv(1 << 16):
                answer += chunk
            connections[n].close()
            return answer
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(exchange, range(50)))
        for n, answer in enumerate(answers):
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK") and body == expected[n], (n, head, len(body))
        assert vm.crash is None


def test_nginx_keeps_a_connection_alive(port_image, target):
    """Twenty requests one after the other on one kept-alive connection, each sent as soon as the last answer
    arrived: nginx waits for them on edge-triggered epoll, so each arrival must be reported again."""
    with port_image("nginx", target).boot(publish=[80], timeout=300) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)
        index = (source_tree("nginx") / "html/index.html").read_bytes()
        connection = http.client.HTTPConnection(host, port, timeout=60)
        answers = []
        for _ in range(20):
            connection.request("GET", "/")
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Connection"), response.read()))
        connection.close()
        assert answers == [(200, "keep-alive", index)] * 20
        assert vm.crash is None


def test_nginx_serves_in_4_mib(port_image, target, site_disk):
    """The same server in 4 MiB of RAM (the goal for nginx's minimum memory): the block cache and virtio-net's
    queues size themselves from the free memory, so the disk mounts and the network comes up; the page, the 1 MiB
    file from the disk ten times (more than the smaller cache holds), then thirty connections at once (half of
    them for the 1 MiB file), each answered whole: their TCP buffers are sized from the RAM too (with 128 KiB each
    way, thirty transfers ran the guest out of memory)."""
    with port_image("nginx", target).boot(publish=[80], disks=[f"{site_disk}:ro"], memory="4M", timeout=600) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)
        index = (source_tree("nginx") / "html/index.html").read_bytes()
        for _ in range(10):
            connection = http.client.HTTPConnection(host, port, timeout=60)
            connection.request("GET", "/data/big.bin", headers={"Connection": "close"})
            response = connection.getresponse()
            assert (response.status, response.read() == BIG) == (200, True)
            connection.close()

        connections = []
        for _ in range(30):                 # one by one, as in the test above
            connections.append(socket.create_connection((host, port), timeout=120))
            time.sleep(0.05)

        def exchange(n: int) -> bool:
            path, body = ("/data/big.bin", BIG) if n % 2 else ("/", index)
            connections[n].sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := connections[n].recv(1 << 16):
                answer += chunk
            connections[n].close()
            head, _, got = answer.partition(b"\r\n\r\n")
            return head.startswith(b"HTTP/1.1 200 OK") and got == body
        with ThreadPoolExecutor(30) as pool:
            assert list(pool.map(exchange, range(30))) == [True] * 30
        assert "Out of memory" not in vm.console.text and vm.crash is None


# curl's exit statuses for a server that refused or reset a connection (7: connect refused, 52: closed without a
# reply, 56: reset while receiving): a clean refusal. Anything else that is not the whole file is wrong.
CURL_REFUSED = {7, 52, 56}


def test_nginx_in_4_mib_fails_transfers_cleanly_under_memory_pressure(port_image, target, site_disk):
    """More transfers of the 1 MiB file at once than 4 MiB holds buffers for, by curl: 50, then 150. Every one is
    either the whole file (its SHA-256 checked) or refused or reset (curl says which); none is cut short or wrong,
    and the guest never stops: TCP's buffers all together are bounded (smaller for each connection under pressure,
    none past the bound) and backed when allocated (or the connection is reset), malloc returns NULL when the memory
    is gone and nginx fails that one request. Most of the 50 complete (all 50, when written); after both bursts it serves the file ten times.
    (Before: 50 at once ended the guest with "out of memory for a demand-zero page".)"""
    if not shutil.which("curl"):
        pytest.skip("`curl` is not installed (scripts/install-host-deps installs it)")
    want = hashlib.sha256(BIG).hexdigest()
    with port_image("nginx", target).boot(publish=[80], disks=[f"{site_disk}:ro"], memory="4M", timeout=900) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)

        def transfer(_) -> tuple[int, str]:
            done = subprocess.run(["curl", "-sS", "--max-time", "300", "-o", "-", f"http://{host}:{port}/data/big.bin"],
                                  capture_output=True, timeout=600)
            return done.returncode, hashlib.sha256(done.stdout).hexdigest()
        for clients, at_least in [(50, 25), (150, 1)]:
            with ThreadPoolExecutor(clients) as pool:
                outcomes = list(pool.map(transfer, range(clients)))
            right = [status == 0 and digest == want for status, digest in outcomes]
            unclean = [status for (status, _), ok in zip(outcomes, right) if not ok and status not in CURL_REFUSED]
            assert not unclean, f"{clients} at once: curl statuses {unclean} (neither the file nor refused)"
            assert sum(right) >= at_least, f"{clients} at once: {sum(right)} transfers completed"
            assert vm.crash is None, vm.crash
        assert [transfer(n) for n in range(10)] == [(0, want)] * 10
        assert "demand-zero" not in vm.console.text and vm.crash is None


def _wait_until_serving(host: str, port: int, seconds: float = 120) -> None:
    """Until the guest answers HTTP on the port: its address comes first, its listen() a little later."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, port), timeout=5) as probe:
                probe.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
                if probe.recv(9) == b"HTTP/1.1 ":
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"nothing answered HTTP on {host}:{port} in {seconds:g} s"
        time.sleep(1)


def test_a_cmake_cxx_program_checks_itself(port_image, target):
    """TinyXML-2's xmltest, C++ built by its own CMake through the toolchain file: it parses, edits and writes
    XML (the package's documents embedded, its output to a RAM file system) and counts what it checked. The image
    links the C++ runtime because its objects call into it (none of its sources is in a manifest)."""
    image = port_image("tinyxml2", target)
    result = image.run(timeout=600)
    assert result.ok, result.message + result.console[-2000:]
    passed = re.search(r"\nPass (\d+), Fail (\d+)\n", result.console)
    assert passed and int(passed.group(1)) > 400 and passed.group(2) == "0", result.console[-2000:]
    assert "c++" in image.inspect()["bytes"], image.inspect()["bytes"].keys()


@pytest.fixture(scope="module")
def redis_client():
    """client(host, port, *args, stdin=None, tool=, netns=) -> what Debian's redis-cli (or `tool`, run in network
    namespace `netns` if given) printed (it must exit 0); skipped when
    the host lacks Debian's redis-tools (redis-cli, redis-benchmark, redis-check-rdb: scripts/install-host-deps)."""
    missing = [tool for tool in ("redis-cli", "redis-benchmark", "redis-check-rdb") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"no {' or '.join(missing)} here (Debian's redis-tools)")

    def client(host: str, port: int, *args: str, stdin: str | None = None, tool: str = "redis-cli",
               netns: str | None = None) -> str:
        inside = ["ip", "netns", "exec", netns] if netns else []
        done = subprocess.run([*inside, tool, "-h", host, "-p", str(port), *args], input=stdin, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{tool} {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    return client


def test_redis_answers_redis_cli_and_redis_benchmark(port_image, target, redis_client):
    """redis-server from its own Makefile (libc's malloc, its background threads), its configuration from the
    image: Debian's redis-cli sends PING, SET/GET, INCR, LPUSH/LRANGE and a pipeline of 1,000 SETs (--pipe, all
    answered), then redis-benchmark's default 50 clients, connecting at once, run 2,000 SETs and 2,000 GETs to
    the end (through the published port: QEMU's host socket, whose backlog of 1 uniforge widens; with it, one run
    in four stalled and ended in "Connection reset by peer"). Redis asks for descriptors for its default 10,000
    clients and 32 of its own; an image with sockets has Linux's default 1,024 (RLIMIT_NOFILE, the descriptor
    table's size), so it says it serves 992. All in 8 MiB of RAM: its three background threads' 4 MiB stacks take
    only the pages they touch (module demand)."""
    with port_image("redis", target).boot(["/srv/redis.conf"], publish=[6379], memory="8M", timeout=900) as vm:
        vm.expect(r"Configuration loaded", timeout=300)
        vm.expect(r"You requested maxclients of 10000 requiring at least 10032 max file descriptors", timeout=300)
        vm.expect(r"Current maximum open files is 1024\. maxclients has been reduced to 992", timeout=300)
        vm.expect(r"Ready to accept connections", timeout=300)
        host, port = vm.port(6379)
        cli = functools.partial(redis_client, host, port)
        assert cli("PING") == "PONG\n"
        assert cli("SET", "greeting", "hello unikernel") == "OK\n"
        assert cli("GET", "greeting") == "hello unikernel\n"
        assert [cli("INCR", "counter") for _ in range(3)] == ["1\n", "2\n", "3\n"]
        assert cli("LPUSH", "list", "a", "b", "c") == "3\n"
        assert cli("LRANGE", "list", "0", "-1") == "c\nb\na\n"
        piped = cli("--pipe", stdin="".join(f"SET key:{n} {n * n}\r\n" for n in range(1000)))
        assert "errors: 0, replies: 1000" in piped, piped
        assert (cli("DBSIZE"), cli("GET", "key:999")) == ("1003\n", "998001\n")
        assert "multiplexing_api:epoll" in cli("INFO", "server") and "maxclients:992" in cli("INFO", "clients")
        bench = redis_client(host, port, "-q", "-n", "2000", "-t", "set,get", tool="redis-benchmark")
        rates = dict(re.findall(r"(SET|GET): ([\d.]+) requests per second", bench))
        assert rates.keys() == {"SET", "GET"} and all(float(r) > 0 for r in rates.values()), bench
        assert cli("DBSIZE") == "1004\n"          # redis-benchmark's own key:__rand_int__ is the one more
        total = int(re.search(r"total_system_memory:(\d+)", cli("INFO", "memory")).group(1))   # sysinfo's RAM
        assert 6 << 20 < total <= 8 << 20, total
        assert vm.crash is None


def test_redis_serves_redis_benchmarks_50_clients_over_a_tap(port_image, target, redis_client):
    """redis-benchmark's default 50 clients, three runs of 2,000 SETs and 2,000 GETs, over a tap in a private
    network namespace: the 50 connects of each run reach the guest's listener at once from Linux's TCP (QEMU's
    user networking would hand them over one by one), and every one is served (the namespace's counters: no
    connect failed, no connection was reset)."""
    require_namespaces()
    ns = Namespace()
    try:
        ns.add_tap("urd0", "10.79.0.1/24")
        with port_image("redis", target).boot(["/srv/redis.conf"], net="tap:urd0", netns=ns.name,
                                              cmdline="uf.ip=10.79.0.2/24 uf.gw=10.79.0.1", timeout=900) as vm:
            vm.expect(r"Ready to accept connections", timeout=300)
            cli = functools.partial(redis_client, "10.79.0.2", 6379, netns=ns.name)
            assert cli("PING") == "PONG\n"
            counters = ("TcpAttemptFails", "TcpEstabResets")
            before = ns.run("nstat", "-az", *counters).stdout
            for _ in range(3):
                bench = cli("-q", "-n", "2000", "-t", "set,get", tool="redis-benchmark")
                rates = dict(re.findall(r"(SET|GET): ([\d.]+) requests per second", bench))
                assert rates.keys() == {"SET", "GET"} and all(float(r) > 0 for r in rates.values()), bench
            after = ns.run("nstat", "-az", *counters).stdout
            assert [line.split()[:2] for line in after.splitlines()[1:]] == \
                [line.split()[:2] for line in before.splitlines()[1:]], (before, after)
            assert cli("DBSIZE") == "1\n"          # redis-benchmark's key:__rand_int__
            assert vm.crash is None
    finally:
        ns.delete()


def test_redis_keeps_its_keys_on_a_disk_across_a_reboot(port_image, target, redis_client, tmp_path):
    """`--dir /data`: SAVE writes dump.rdb to the FAT disk (redis-check-rdb on the host reads it back whole); a
    second boot with the same disk loads it and serves the keys."""
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "readme.txt").write_text("Redis keeps its snapshot here\n")
    disk = tmp_path / "data.img"
    uniforge("disk", "create", str(disk), "--size", "16M", "--from", str(tmp_path / "files"), check=True)
    image = port_image("redis", target)
    args = ["/srv/redis.conf", "--dir", "/data"]
    with image.boot(args, publish=[6379], disks=[str(disk)], timeout=600) as vm:
        vm.expect(r"Ready to accept connections", timeout=300)
        cli = functools.partial(redis_client, *vm.port(6379))
        assert cli("SET", "greeting", "kept on disk") == "OK\n"
        assert cli("RPUSH", "list", "one", "two", "three") == "3\n"
        assert cli("HSET", "hash", "field", "value") == "1\n"
        assert cli("SAVE") == "OK\n"
        vm.expect(r"DB saved on disk", timeout=60)
        cli("SHUTDOWN", "NOSAVE")
        vm.expect(r"Redis is now ready to exit, bye bye", timeout=60)
        assert vm.crash is None
    subprocess.run(["mcopy", "-o", "-i", str(disk), "::dump.rdb", str(tmp_path / "dump.rdb")], check=True)
    checked = subprocess.run(["redis-check-rdb", str(tmp_path / "dump.rdb")], capture_output=True, text=True)
    assert "RDB looks OK" in checked.stdout and "3 keys read" in checked.stdout, checked.stdout
    with image.boot(args, publish=[6379], disks=[str(disk)], timeout=600) as vm:
        vm.expect(r"DB loaded from disk", timeout=300)
        vm.expect(r"Ready to accept connections", timeout=300)
        cli = functools.partial(redis_client, *vm.port(6379))
        assert cli("GET", "greeting") == "kept on disk\n"
        assert cli("LRANGE", "list", "0", "-1") == "one\ntwo\nthree\n"
        assert (cli("HGET", "hash", "field"), cli("DBSIZE")) == ("value\n", "3\n")
        assert vm.crash is None
