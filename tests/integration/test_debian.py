"""Real programs from Debian 12's source packages, built unmodified from their own sources (issue 12) and run with
their output checked, one target per arch: bzip2 (compression, through stdin and stdout), lua5.4 (an
interpreter, with files, coroutines and errors) and sqlite3 (a database: SQL from stdin, a database file in /tmp
with its journal, WAL and locks).

Each program's uniforge.toml is written here from what its own build does (the Makefile's object list, defines,
the files its packaging generates, what its configure and make generate on the build machine): the sources are
named where they are, in the uniforge cache (debian.py), and never changed. Each is built once per session and
arch."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import one_per_arch, require_target
from debian import Unavailable, host_build, source_tree
from uniforge.building import targets


@dataclass(frozen=True)
class Program:
    name: str                       # the image's (uniforge.toml's names have no dot: lua, not lua5.4)
    package: str                    # the Debian source package
    sources: tuple[str, ...]        # as its build compiles them into the program: relative to its unpacked tree,
                                    # or to the folder of its host steps when it has some
    cflags: tuple[str, ...] = ()
    generated: dict[str, str] = field(default_factory=dict)     # files its packaging writes before building
    host_steps: tuple[str, ...] = ()    # what its build runs on the build machine first, out of its {tree}
    host_tools: tuple[str, ...] = ()    # the host commands those need


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


@pytest.fixture(params=one_per_arch("console"))
def target(request):
    require_target(request.param)
    return request.param


@pytest.fixture(scope="session")
def debian_image(tmp_path_factory, uniforge_build):
    """image(program, target) -> the program's Image, built once per session and target (skipped, saying why,
    when its sources cannot be fetched here)."""
    root = tmp_path_factory.mktemp("debian")

    def image(program: Program, target: str):
        try:
            tree = (host_build(program.package, program.host_steps, program.host_tools) if program.host_steps
                    else source_tree(program.package))
        except Unavailable as e:
            pytest.skip(str(e))
        folder = root / program.package / target
        if not folder.is_dir():
            folder.mkdir(parents=True)
            triple = targets.load(target).compiler.app_target
            for name, text in program.generated.items():
                (folder / name).write_text(text.format(triple=triple))
            sources = ", ".join(f'"{tree / s}"' for s in program.sources)
            cflags = ", ".join(f'"{f}"' for f in program.cflags)
            (folder / "uniforge.toml").write_text(f'name = "{program.name}"\nsources = [{sources}]\n'
                                                  f'include_dirs = ["."]\ncflags = [{cflags}]\n')
        return uniforge_build(folder, target)

    return image


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
    """Neither opens a socket: no network stack; both read the console: module stdin."""
    for program in (BZIP2, LUA, SQLITE):
        modules = set(debian_image(program, target).inspect()["modules"])
        assert "stdin" in modules and not modules & {"net", "socket", "virtio-net"}, sorted(modules)


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
