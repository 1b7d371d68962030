"""Real programs from Debian 12's source packages, built unmodified from their own sources (issue 12) and run with
their output checked, one target per arch: bzip2 (compression, through stdin and stdout), lua5.4 (an
interpreter, with files, coroutines and errors), sqlite3 (a database: SQL from stdin, a database file in /tmp
with its journal, WAL and locks) and nginx (a server: its pages over the network, sendfile, its access log).

Each program's uniforge.toml is written here from what its own build does (the Makefile's object list, defines,
the files its packaging generates, what its configure and make generate on the build machine): the sources are
named where they are, in the uniforge cache (debian.py), and never changed. Each is built once per session and
arch."""
from __future__ import annotations

import re
import shutil
import socket
import time
import http.client
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import one_per_arch
from debian import Unavailable, host_build, source_tree
from uniforge.building import targets


@dataclass(frozen=True)
class Program:
    name: str                       # the image's (uniforge.toml's names have no dot: lua, not lua5.4)
    package: str                    # the Debian source package
    sources: tuple[str, ...] = ()   # as its build compiles them into the program: relative to its unpacked tree,
                                    # or to the folder of its host steps when it has some
    cflags: tuple[str, ...] = ()
    generated: dict[str, str] = field(default_factory=dict)     # files its packaging writes before building
    # What its build runs on the build machine first, out of its {tree}, once per arch; {cc} compiles for the
    # guest's arch, and what it links runs here (a configure script's feature tests: debian_tools/guest-cc).
    host_steps: tuple[str, ...] = ()
    host_tools: tuple[str, ...] = ()    # the host commands those need
    # (sources, include dirs, cflags) read from what the host steps wrote in their folder (a generated Makefile).
    makefile: Callable[[Path], tuple[list[str], list[str], list[str]]] | None = None
    # Writes what the app's folder holds besides uniforge.toml (files to embed), given its source tree; returns
    # uniforge.toml's lines for them.
    setup: Callable[[Path, Path], str] | None = None


# bzip2's Makefile: bzip2.o and libbz2's OBJS, CFLAGS' $(BIGFILES).
BZIP2 = Program("bzip2", "bzip2", ("bzip2.c", "blocksort.c", "huffman.c", "crctable.c", "randtable.c", "compress.c",
                          "decompress.c", "bzlib.c"), ("-D_FILE_OFFSET_BITS=64",))

# lua5.4's src/Makefile, target linux-noreadline (the host has no readline): lua.o, CORE_O and LIB_O, with
# -DLUA_COMPAT_5_3 -DLUA_USE_LINUX and gnu99 (debian/rules' CC); debian/rules' configure step writes the header
# with the multiarch triple that luaconf.h includes.
LUA = Program("lua", "lua5.4", tuple(f"src/{name}.c" for name in (
    "lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes lparser lstate lstring ltable ltm "
    "lundump lvm lzio lauxlib lbaselib lcorolib ldblib liolib lmathlib loadlib loslib lstrlib ltablib lutf8lib "
    "linit lua").split()), ("-std=gnu99", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX"),
    {"lua5.4-deb-multiarch.h": '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n'
                               '#define DEB_HOST_MULTIARCH "{triple}"\n#endif\n'})


# sqlite3's amalgamation and shell as its configure and `make sqlite3.c shell.c` generate them (Debian's rules
# configure with these options and compile the same code file by file), compiled with debian/rules' CFLAGS and
# the Makefile's (TCC's defines and OPT_FEATURE_FLAGS; not -DSQLITE_HAVE_ZLIB, configure's finding about the
# build machine, where the guest has no zlib, nor the build machine's config header).
SQLITE = Program("sqlite3", "sqlite3", ("shell.c", "sqlite3.c"), (
    "-O2", "-fno-strict-aliasing", "-DSQLITE_SECURE_DELETE", "-DSQLITE_ENABLE_COLUMN_METADATA",
    "-DSQLITE_ENABLE_FTS3", "-DSQLITE_ENABLE_FTS3_PARENTHESIS", "-DSQLITE_ENABLE_RTREE=1", "-DSQLITE_SOUNDEX=1",
    "-DSQLITE_ENABLE_UNLOCK_NOTIFY", "-DSQLITE_OMIT_LOOKASIDE=1", "-DSQLITE_ENABLE_DBSTAT_VTAB",
    "-DSQLITE_ALLOW_ROWID_IN_VIEW", "-DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1", "-DSQLITE_ENABLE_LOAD_EXTENSION",
    "-DSQLITE_ENABLE_JSON1", "-DSQLITE_LIKE_DOESNT_MATCH_BLOBS", "-DSQLITE_THREADSAFE=1",
    "-DSQLITE_ENABLE_FTS3_TOKENIZER=1", "-DSQLITE_USE_URI=1", "-DSQLITE_MAX_SCHEMA_RETRY=25",
    "-DSQLITE_ENABLE_PREUPDATE_HOOK", "-DSQLITE_ENABLE_SESSION", "-DSQLITE_ENABLE_STMTVTAB",
    "-DSQLITE_MAX_VARIABLE_NUMBER=250000", "-DSQLITE_OS_UNIX=1", "-DNDEBUG", "-DSQLITE_ENABLE_MATH_FUNCTIONS",
    "-DSQLITE_ENABLE_FTS4", "-DSQLITE_ENABLE_FTS5"),
    host_steps=("{tree}/configure --enable-threadsafe --enable-load-extension --enable-json --enable-fts4 "
                "--enable-fts5", "make sqlite3.c shell.c"),
    host_tools=("cc", "make", "tclsh"))


# nginx as its configure makes it for the guest's arch (run with {cc}: its feature tests see musl and the arch),
# without the modules that need libraries the guest has none of (PCRE, zlib), with the paths of an image (a
# configuration embedded at /srv, logs to the console, temporary files in /tmp); compiled as objs/Makefile says
# (its link rule's objects, ALL_INCS, CFLAGS), and run in one process (daemon off; master_process off).
NGINX_CONFIGURE = (
    "--with-cc={cc} --builddir=../objs --prefix=/tmp/nginx --conf-path=/srv/nginx.conf --error-log-path=stderr "
    "--http-log-path=/dev/stdout --pid-path=/tmp/nginx.pid --lock-path=/tmp/nginx.lock "
    "--http-client-body-temp-path=/tmp/body --http-proxy-temp-path=/tmp/proxy "
    "--http-fastcgi-temp-path=/tmp/fastcgi --http-uwsgi-temp-path=/tmp/uwsgi --http-scgi-temp-path=/tmp/scgi "
    "--without-http_rewrite_module --without-http_gzip_module --without-pcre")


def nginx_makefile(folder: Path) -> tuple[list[str], list[str], list[str]]:
    top = folder / "nginx"
    text = (folder / "objs" / "Makefile").read_text().replace("\\\n", " ")
    rules = {m.group(1): m.group(2).split() for m in re.finditer(r"^(\S+):[ \t]*(.*)$", text, re.MULTILINE)}
    binary = next(target for target in rules if target.endswith("/nginx"))
    objects = [o for o in rules[binary] if o.endswith(".o")]
    sources = [str((top / next(p for p in rules[o] if p.endswith(".c"))).resolve()) for o in objects]
    includes = re.search(r"^ALL_INCS = (.*)$", text, re.MULTILINE).group(1).split()
    cflags = re.search(r"^CFLAGS = (.*)$", text, re.MULTILINE).group(1).split()
    return sources, [str((top / d).resolve()) for d in includes if d != "-I"], cflags


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
events { worker_connections 64; }
http {
    include mime.types;
    access_log /dev/stdout;
    sendfile on;
    server {
        listen 80;
        root /srv/html;
    }
}
"""
BIG = bytes((i * 7 + (i >> 10)) & 0xFF for i in range(1 << 20))


def nginx_files(folder: Path, tree: Path) -> str:
    """The package's own html/ and mime.types, a 1 MiB file and the configuration, embedded at /srv."""
    srv = folder / "srv"
    shutil.copytree(tree / "html", srv / "html")
    shutil.copy(tree / "conf" / "mime.types", srv / "mime.types")
    (srv / "nginx.conf").write_text(NGINX_CONF)
    (srv / "html" / "big.bin").write_bytes(BIG)
    return 'files = { dir = "srv", mount = "/srv" }\n'


NGINX = Program("nginx", "nginx", host_steps=("cp -r {tree}/. nginx", f"cd nginx && ./configure {NGINX_CONFIGURE}"),
                host_tools=("make",), makefile=nginx_makefile, setup=nginx_files)


pytestmark = pytest.mark.uniforge(targets=one_per_arch("console"))


@pytest.fixture(scope="session")
def debian_image(tmp_path_factory, uniforge_build):
    """image(program, target) -> the program's Image, built once per session and target (skipped, saying why,
    when its sources cannot be fetched here)."""
    root = tmp_path_factory.mktemp("debian")

    def image(program: Program, target: str):
        spec = targets.load(target)
        triple = spec.compiler.app_target
        try:
            tree = source_tree(program.package)
            base = _host_build(program, spec.arch, triple) if program.host_steps else tree
        except Unavailable as e:
            pytest.skip(str(e))
        folder = root / program.package / target
        if not folder.is_dir():
            folder.mkdir(parents=True)
            for name, text in program.generated.items():
                (folder / name).write_text(text.format(triple=triple))
            sources, include_dirs, cflags = (program.makefile(base) if program.makefile else
                                             ([str(base / s) for s in program.sources], ["."], list(program.cflags)))
            extra = program.setup(folder, tree) if program.setup else ""
            (folder / "uniforge.toml").write_text(
                f'name = "{program.name}"\nsources = {_toml_list(sources)}\n'
                f'include_dirs = {_toml_list(include_dirs)}\ncflags = {_toml_list(cflags)}\n{extra}')
        return uniforge_build(folder, target)

    return image


def _host_build(program: Program, arch: str, triple: str) -> Path:
    """The program's host steps' folder: once for every arch, or once per arch when they compile for it ({cc})."""
    from uniforge.building.compiler import Toolchain
    if not any("{cc}" in step for step in program.host_steps):
        return host_build(program.package, program.host_steps, program.host_tools)
    user_mode = {"x86_64": "qemu-x86_64", "armv7": "qemu-arm"}[arch]
    native = platform.machine() == {"x86_64": "x86_64", "armv7": "armv7l"}[arch]
    env = {"UF_ZIG": str(Toolchain("x86_64-freestanding-none").zig), "UF_TRIPLE": triple,
           "UF_QEMU_USER": "" if native else user_mode}
    tools = (*program.host_tools, *(() if native else (user_mode,)))
    return host_build(program.package, program.host_steps, tools, variant=triple, env=env,
                      cc=str(Path(__file__).parent / "debian_tools" / "guest-cc"))


def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def test_bzip2_passes_its_own_test_through_stdin_and_stdout(debian_image, target):
    """bzip2's `make test`: each sample compressed at its level gives the package's .bz2 byte for byte, and each
    .bz2 decompresses to the sample."""
    image = debian_image(BZIP2, target)
    tree = source_tree(BZIP2.package)
    for n in (1, 2, 3):
        reference, compressed = (tree / f"sample{n}.ref").read_bytes(), (tree / f"sample{n}.bz2").read_bytes()
        packed = image.run([f"-{n}"], stdin=reference, timeout=300)
        assert packed.ok and packed.output == compressed, f"-{n}: {packed.message}, {len(packed.output)} bytes"
        unpacked = image.run(["-d"], stdin=compressed, timeout=300)
        assert unpacked.ok and unpacked.output == reference, f"-d: {unpacked.message}, {len(unpacked.output)} bytes"


def test_bzip2_says_damaged_input_is_damaged(debian_image, target):
    """A .bz2 with 100 bytes zeroed: bzip2's own diagnosis and exit status 2, no crash."""
    image = debian_image(BZIP2, target)
    damaged = bytearray((source_tree(BZIP2.package) / "sample1.bz2").read_bytes())
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


def test_lua_runs_a_script_from_stdin(debian_image, target):
    """`lua -` runs what comes on stdin: tables, closures, coroutines, errors as values, integers and floats,
    UTF-8, the clock and dates, files in /tmp, load; os.exit's status comes back."""
    image = debian_image(LUA, target)
    result = image.run(["-"], stdin=LUA_SCRIPT.encode(), timeout=300)
    assert (result.status, result.ending) == (7, "exited"), result.message + result.console
    assert result.console == LUA_OUTPUT, result.console


def test_lua_reports_a_runtime_error_with_its_traceback(debian_image, target):
    image = debian_image(LUA, target)
    result = image.run(["-e", "local function f() error('deep') end f()"], timeout=300)
    assert (result.status, result.ending) == (1, "exited"), result.message + result.console
    assert re.search(r"lua: \(command line\):1: deep\nstack traceback:\n", result.console), result.console


def test_the_programs_link_only_what_they_use(debian_image, target):
    """bzip2, lua and sqlite3 open no socket: no network stack; they read the console: module stdin. nginx has
    the stack and a NIC, and no disk (its files are embedded)."""
    for program in (BZIP2, LUA, SQLITE):
        modules = set(debian_image(program, target).inspect()["modules"])
        assert "stdin" in modules and not modules & {"net", "socket", "virtio-net"}, sorted(modules)
    modules = set(debian_image(NGINX, target).inspect()["modules"])
    assert {"net", "socket", "epoll", "embedfs"} <= modules and not modules & {"fat", "virtio-blk"}, sorted(modules)


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


def test_sqlite3_runs_sql_from_stdin(debian_image, target):
    """SQL from stdin: tables, aggregates, full-text search (FTS5), JSON, a recursive CTE, math; an error names
    the line and sets the exit status, as the shell does for a script."""
    result = debian_image(SQLITE, target).run(stdin=SQL_MEMORY.encode(), timeout=300)
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


def test_sqlite3_keeps_a_database_file_through_wal_vacuum_and_reopening(debian_image, target):
    """A database in /tmp: a 5000-row transaction in WAL mode (the -wal file, its -shm mapped shared, POSIX
    locks), a checkpoint, back to a rollback journal, VACUUM, then opened again and checked."""
    result = debian_image(SQLITE, target).run(["/tmp/test.db"], stdin=SQL_FILE.encode(), timeout=300)
    assert result.ok, result.message + result.console
    assert result.console == ("wal\n5000|1|5000|160000\n0|0|0\ndelete\n2500|6250000\nok\nkv\n"), result.console


def test_nginx_serves_its_own_pages_and_a_large_file(debian_image, target):
    """nginx in one process: its package's index.html and 50x.html with their MIME type, a 1 MiB file (sendfile)
    whole, HEAD, 404; its access log on the console."""
    with debian_image(NGINX, target).boot(publish=[80], timeout=300) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)
        pages = {}
        for method, path in [("GET", "/"), ("GET", "/50x.html"), ("GET", "/big.bin"), ("HEAD", "/big.bin"),
                             ("GET", "/nope")]:
            connection = http.client.HTTPConnection(host, port, timeout=60)
            connection.request(method, path, headers={"Connection": "close"})
            response = connection.getresponse()
            pages[method, path] = (response.status, response.getheader("Content-Type"),
                                   response.getheader("Content-Length"), response.read())
            connection.close()
        tree = source_tree(NGINX.package)
        assert pages["GET", "/"] == (200, "text/html", str((tree / "html/index.html").stat().st_size),
                                     (tree / "html/index.html").read_bytes())
        assert pages["GET", "/50x.html"][:2] == (200, "text/html")
        assert pages["GET", "/big.bin"] == (200, "application/octet-stream", str(len(BIG)), BIG)
        assert pages["HEAD", "/big.bin"] == (200, "application/octet-stream", str(len(BIG)), b"")
        assert pages["GET", "/nope"][0] == 404
        vm.expect(r'"GET /big.bin HTTP/1.1" 200 1048576 ', timeout=30)
        assert vm.crash is None


def test_nginx_keeps_a_connection_alive(debian_image, target):
    """Twenty requests one after the other on one kept-alive connection, each sent as soon as the last answer
    arrived: nginx waits for them on edge-triggered epoll, so each arrival must be reported again."""
    with debian_image(NGINX, target).boot(publish=[80], timeout=300) as vm:
        host, port = vm.port(80)
        _wait_until_serving(host, port)
        index = (source_tree(NGINX.package) / "html/index.html").read_bytes()
        connection = http.client.HTTPConnection(host, port, timeout=60)
        answers = []
        for _ in range(20):
            connection.request("GET", "/")
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Connection"), response.read()))
        connection.close()
        assert answers == [(200, "keep-alive", index)] * 20
        assert vm.crash is None


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
