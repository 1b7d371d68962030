"""The descriptors servers use, in real guests: pipes, socketpairs and AF_UNIX sockets, eventfd, timerfd, sendfile,
copy_file_range, dup3, readv/writev under poll, select and epoll (level and edge triggered), and System V IPC.

Each probe app (tests/apps/fdprobe, unixprobe, sysvprobe, sigpipeprobe) runs its scenarios in one boot and prints
what it saw; the host checks it: byte counts and checksums it computes itself, errno names, timer expirations
against the guest's own clock readings, and which modules the images link."""
import random
import re
import shutil
from pathlib import Path

import pytest

from conftest import app_dir, compiled_modules, copy_example, one_per_arch, uniforge

TARGETS = one_per_arch("boots")       # what is checked here does not depend on the machine
pytestmark = pytest.mark.uniforge(targets=TARGETS)
FLOW_BYTES = 1000003                    # fdprobe's and unixprobe's stream: byte i is pattern(i)
PAYLOAD_BYTES = 300007                  # the embedded-tree file fdprobe sends with sendfile
DESCRIPTOR_MODULES = {"pipe", "unix", "sockcall", "eventfd", "timerfd", "sendfile", "sysvipc"}


def pattern_fnv(n: int) -> str:
    """FNV-1a over the probes' byte stream, byte i = (i * 7 + i // 251) mod 256."""
    h = 0xcbf29ce484222325
    for i in range(n):
        h = ((h ^ ((i * 7 + i // 251) & 0xff)) * 0x100000001b3) & 0xffffffffffffffff
    return f"{h:016x}"


def fnv(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return f"{h:016x}"


@pytest.fixture(scope="module")
def stream_fnv():
    return pattern_fnv(FLOW_BYTES)


def lines(output: str, scenario: str) -> list[str]:
    """What a scenario printed, without its "NAME: " prefix; fails the test if it did not end with "ok"."""
    said = [line[len(scenario) + 2:] for line in output.splitlines() if line.startswith(f"{scenario}: ")]
    assert said and said[-1] == "ok", f"scenario {scenario} did not pass:\n{output}"
    return said[:-1]


class Probes:
    """Each probe built once per target and run once with all its scenarios; outputs kept for the tests."""

    def __init__(self, root, uniforge_build):
        self.root, self.build, self.runs = root, uniforge_build, {}

    def fdprobe_folder(self, target: str):
        """fdprobe with a random payload in its embedded tree (what sendfile sends)."""
        folder = self.root / target / "fdprobe"
        if not folder.exists():
            folder = copy_example("fdprobe", self.root / target)
            payload = random.Random(12).randbytes(PAYLOAD_BYTES)
            (folder / "tree" / "payload.bin").write_bytes(payload)
        return folder

    def image(self, app: str, target: str):
        return self.build(self.fdprobe_folder(target) if app == "fdprobe" else app_dir(app), target)

    def modules(self, app: str, target: str) -> set[str]:
        return set(self.image(app, target).inspect()["modules"])

    def output(self, app: str, target: str) -> str:
        if (app, target) not in self.runs:
            result = self.image(app, target).run(timeout=240)
            assert result.status == 0 and "failures 0" in result.console, result.console + result.message
            self.runs[app, target] = result.console
        return self.runs[app, target]


@pytest.fixture(scope="module")
def probes(tmp_path_factory, uniforge_build):
    return Probes(tmp_path_factory.mktemp("descriptors"), uniforge_build)


# --- pipes and socketpairs under poll, select, epoll ----------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["pipe-poll", "pipe-select", "pipe-epoll", "pipe-epoll-et"])
def test_pipe_producer_consumer(probes, target, scenario, stream_fnv):
    """A million bytes through a non-blocking pipe, written until full and read until empty as readiness comes:
    every byte arrives in order, and the pipe holds Linux's 64 KiB at most."""
    (stats,) = lines(probes.output("fdprobe", target), scenario)
    m = re.fullmatch(r"bytes=(\d+) fnv=([0-9a-f]+) rounds=(\d+) max_fill=(\d+)", stats)
    assert m, stats
    assert int(m[1]) == FLOW_BYTES and m[2] == stream_fnv
    assert int(m[4]) == 65536
    assert int(m[3]) >= FLOW_BYTES // 65536, "the pipe never filled: flow control was not exercised"


@pytest.mark.parametrize("scenario", ["pair-poll", "pair-epoll", "pair-epoll-et"])
def test_socketpair_producer_consumer(probes, target, scenario, stream_fnv):
    (stats,) = lines(probes.output("fdprobe", target), scenario)
    m = re.fullmatch(r"bytes=(\d+) fnv=([0-9a-f]+) rounds=(\d+) max_fill=(\d+)", stats)
    assert m, stats
    assert int(m[1]) == FLOW_BYTES and m[2] == stream_fnv
    assert int(m[4]) == 212992          # SO_RCVBUF's default, as on Linux
    assert int(m[3]) >= FLOW_BYTES // 212992


def test_end_of_file_and_broken_pipe(probes, target):
    assert lines(probes.output("fdprobe", target), "eof") == [
        "pipe poll after writer closed: POLLIN POLLHUP",
        "pipe reads 1 1 then 0",
        "pipe write on the read end: -1 EBADF",
        "pipe lseek: -1 ESPIPE",
        "socketpair after shutdown(SHUT_WR): POLLIN POLLRDHUP reads 1 1 then 0",
        "socketpair send(MSG_NOSIGNAL) after the peer closed: -1 EPIPE",
    ]


def test_pipe_buf_writes_are_atomic(probes, target):
    assert lines(probes.output("fdprobe", target), "atomic") == [
        "first write of 70000: 65536",
        "write of 4096 with 100 free: -1 EAGAIN",       # at most PIPE_BUF: all at once or not at all
        "writev of 4096 with 100 free: -1 EAGAIN",
        "write of 60 with 100 free: 60",
        "write of 5000 with 3040 free: 3040",           # more than PIPE_BUF: as much as fits
        "FIONREAD 65536",
    ]


def test_sigpipe_default_action_ends_the_program(probes, run_app, target):
    result = run_app(probes.image("fdprobe", target), "sigpipe-default", timeout=240)
    assert "sigpipe-default: writing" in result.console, result.message
    assert "still running" not in result.console and result.status != 0, result.message


def test_epipe_with_sigpipe_ignored_or_caught(run_app):
    result = run_app("sigpipeprobe", timeout=120)
    assert result.status == 0, result.message
    assert result.console.splitlines() == [
        "ignored pipe write: -1 EPIPE caught=0",
        "ignored socketpair write: -1 EPIPE caught=0",
        "caught pipe write: -1 EPIPE caught=1",
        "caught socketpair send MSG_NOSIGNAL: -1 EPIPE caught=1",
        "caught socketpair write: -1 EPIPE caught=2",
    ]


# --- eventfd, timerfd ------------------------------------------------------------------------------------------------

def test_eventfd_counter_and_semaphore(probes, target):
    assert lines(probes.output("fdprobe", target), "eventfd") == [
        "5 + 3 reads 8",
        "read at 0: -1 EAGAIN",
        "read of 4 bytes: -1 EINVAL",
        "write of 2^64-1: -1 EINVAL",
        "at the maximum: POLLIN, write 1: -1 EAGAIN",
        "semaphore reads 1 1 1 EAGAIN",
        # nothing yet; the write's edge; nothing new; a write after a read: an edge again, as on Linux
        "epoll edge-triggered events: 0 1 0 1",
    ]


@pytest.mark.parametrize("clock", ["monotonic", "boottime", "realtime"])
def test_timerfd_periodic_expirations_match_the_clock(probes, target, clock):
    """A 30 ms + 20 ms periodic timer read three times blocking, then after sleeping 9 periods: the expirations
    counted are those the guest's clock says passed between arming and the last read."""
    out = probes.output("fdprobe", target)
    lines(out, "timerfd")
    said = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(f"timerfd-{clock}: ")]
    m = re.fullmatch(r"expirations=(\d+) expected from (\d+) to (\d+) \(elapsed (\d+) ns\)", said[0])
    assert m, said
    count, low, high = int(m[1]), int(m[2]), int(m[3])
    assert low <= count <= high, said[0]
    assert count >= 12, said[0]         # three blocking reads, then at least nine periods slept
    assert said[1] == "gettime interval=0.020000000 value within interval: yes"
    assert said[2] == "disarmed: read -1 EAGAIN, value 0.000000000, old interval 0.020000000"


def test_timerfd_absolute_and_errors(probes, target):
    out = probes.output("fdprobe", target)
    assert "timerfd-absolute: poll 1, woke after the deadline, expirations 1" in out.splitlines()
    assert "timerfd-errors: past expired 1; nsec 1e9: -1 EINVAL; clock 12345: -1 EINVAL" in out.splitlines()


# --- sendfile, dup3, readv/writev ------------------------------------------------------------------------------------

def test_sendfile_from_the_embedded_tree(probes, target):
    out = probes.output("fdprobe", target)
    payload = (probes.fdprobe_folder(target) / "tree" / "payload.bin").read_bytes()
    lines(out, "sendfile")
    assert [s for s in out.splitlines() if s.startswith(("sendfile-console", "sendfile-errors"))] == [
        "sendfile-console: o, world",           # /hello.txt from offset 4, straight to the console
        "sendfile-console: sent 9, offset 13",
        "sendfile-errors: from a pipe: -1 EINVAL",
    ]
    for name, offset in (("pipe", PAYLOAD_BYTES), ("pipe-offset", 0), ("socketpair", 0)):
        (stats,) = [s for s in out.splitlines() if s.startswith(f"sendfile-{name}: ")]
        m = re.fullmatch(rf"sendfile-{name}: bytes=(\d+) fnv=([0-9a-f]+) calls=(\d+) file offset=(\d+)", stats)
        assert m, stats
        assert int(m[1]) == len(payload) and m[2] == fnv(payload)
        assert int(m[4]) == offset      # with an offset argument the file's own stays put
        assert int(m[3]) > 1            # the destination filled up: sendfile stopped where it took no more


def test_copy_file_range_to_a_fat_disk(probes, run_app, target, tmp_path):
    """From the embedded tree to a file on a FAT disk, then read back on the host with mtools."""
    for tool in ("mkfs.fat", "mcopy"):
        if not (shutil.which(tool) or Path("/usr/sbin", tool).exists()):
            pytest.skip(f"{tool} is not installed (scripts/install-host-deps installs dosfstools and mtools)")
    image = tmp_path / "copy.img"
    uniforge("disk", "create", str(image), "--size", "16M", check=True)
    folder = probes.fdprobe_folder(target)
    result = run_app(probes.image("fdprobe", target), "copy-file-range", disks=[image], timeout=240)
    assert result.status == 0, result.message
    rest = PAYLOAD_BYTES - 1000
    said = lines(result.console, "copy-file-range")
    assert re.fullmatch(rf"copied {rest} in \d+ calls; source offset argument {PAYLOAD_BYTES}, source's own 0, "
                        rf"destination's own {rest}", said[0]), said
    assert said[1:] == ["at explicit offsets: 10, offsets now 10 10", "to a pipe: -1 EINVAL; flags 1: -1 EINVAL"]
    uniforge("disk", "get", str(image), "/copy.bin", str(tmp_path / "copy.bin"), check=True)
    payload = (folder / "tree" / "payload.bin").read_bytes()
    assert (tmp_path / "copy.bin").read_bytes() == payload[:10] + payload[1010:]


def test_dup3_and_f_dupfd_cloexec(probes, target):
    assert lines(probes.output("fdprobe", target), "dup") == [
        "F_DUPFD_CLOEXEC from 20: 20 cloexec=1",
        "dup3 to 30: 30 cloexec=1",
        "dup3 onto itself: -1 EINVAL",
        "hang-up with a copy open: 0, after the last close: 1, read 0",
    ]


def test_rlimit_nofile_bounds_the_table(probes, target):
    """setrlimit(RLIMIT_NOFILE) as Linux honours it: new descriptors stay below the soft limit (dup: EMFILE,
    dup2: EBADF, F_DUPFD: EINVAL), those above it stay open; the hard limit is the table's size (EPERM past it)."""
    assert lines(probes.output("fdprobe", target), "nofile") == [
        "default 64/64",
        "at 10, dup until EMFILE, highest 9",
        "dup2 to 10: -1 EBADF, F_DUPFD from 10: -1 EINVAL, write to 12 above it: 0",
        "past the table: -1 EPERM, back to 64: dup2 to 40: 40",
    ]


def test_readv_writev_on_every_kind(probes, target):
    out = probes.output("fdprobe", target)
    assert lines(out, "vector") == [
        "pipe writev 13 readv 10: one-|two-th",
        "datagram writev 13 readv 13: one-two-three, then read 3: nex",    # one datagram each way
        "eventfd writev 8 readv 8 value 42",
        "console writev",
    ]


# --- AF_UNIX sockets -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario,name,length", [("stream-path", "/echo.sock", 13),
                                                  ("stream-abstract", "@uniforge-echo", 16)])
def test_unix_stream_echo(probes, target, scenario, name, length, stream_fnv):
    missing = "ENOENT" if name.startswith("/") else "ECONNREFUSED"
    assert lines(probes.output("unixprobe", target), scenario) == [
        f"accepted socket's name {name} (length {length})",
        f"client's peer {name} (length {length}, bound with {length})",
        "server's peer (unnamed)",
        "SO_PEERCRED pid=1 uid=0 gid=0 (getpid 1)",
        f"echoed bytes={FLOW_BYTES} fnv={stream_fnv}",
        "second bind: -1 EADDRINUSE",
        "after the client closed: read 3 then 0, send -1 EPIPE",
        # closing the listener frees its name (a path name is not a file here: libos/README.md)
        f"connect after the listener closed: -1 {missing}; bind again: 0",
    ]


def test_unix_datagram_boundaries(probes, target):
    assert lines(probes.output("unixprobe", target), "dgram") == [
        "received 1 from @client; 1000 from @client; 0 from @client; 60000 from @client; 4 from (unnamed);",
        "short buffer: 10 MSG_TRUNC, with MSG_TRUNC: 700",
        "a third socket to the connected server: -1 EPERM",
        "after the server closed: send -1 ECONNREFUSED, sendto its path -1 ENOENT",
        "socketpair sizes 100 200 300",
    ]


def test_unix_seqpacket_and_rights(probes, target):
    out = probes.output("unixprobe", target)
    assert lines(out, "seqpacket") == ["records 5 100(of 5000) 5: third", "after the peer closed: 0"]
    assert lines(out, "rights") == [
        "received descriptor reads 7: through (cloexec=1)",
        "two sent, room for one: received 1 MSG_CTRUNC",
        "sending a closed descriptor: -1 EBADF",
    ]


def test_unix_errors_as_linux(probes, target):
    assert lines(probes.output("unixprobe", target), "errors") == [
        "connect to a missing path: -1 ENOENT",
        "connect to a missing abstract name: -1 ECONNREFUSED",
        "listen unbound: -1 EINVAL",
        "accept on a socket not listening: -1 EINVAL",
        "recv unconnected stream: -1 EINVAL",
        "send unconnected stream: -1 ENOTCONN",
        "send unconnected datagram: -1 ENOTCONN",
        "datagram connect to a stream listener: -1 EPROTOTYPE",
        "socket type SOCK_RDM: -1 ESOCKTNOSUPPORT",
        "socketpair AF_INET: -1 EOPNOTSUPP",
        "bind on a pipe: -1 ENOTSOCK",
        "SO_TYPE 2, SO_ACCEPTCONN 1, autobind name length 8 abstract 1",
    ]


# --- System V IPC ----------------------------------------------------------------------------------------------------

def test_sysv_message_queue(probes, target):
    assert lines(probes.output("sysvprobe", target), "msg") == [
        "IPC_EXCL again: -1 EEXIST; by key: same id; missing key: -1 ENOENT",
        "new queue: mode 640 qnum 0 qbytes 16384 lspid 0 stime 0 ctime recent yes",
        "after 4 sends: qnum 4 cbytes 19 lspid 1 stime recent yes",
        "into 2 bytes: -1 E2BIG; with MSG_NOERROR: 2 type 3",
        "received: [type 2 asked] 4 2 two; [type -4 asked] 4 1 one;",
        "MSG_EXCEPT 5 with only 5 left: -1 ENOMSG",
        "any type: 5 five, then empty: -1 ENOMSG",
        "type 0 send: -1 EINVAL",
        "8192-byte messages a queue takes: 2, then EAGAIN",
        "after IPC_RMID: msgsnd -1 EINVAL, msgget -1 ENOENT",
        "two IPC_PRIVATE queues differ: yes",
    ]


def test_sysv_semaphores(probes, target):
    assert lines(probes.output("sysvprobe", target), "sem") == [
        "IPC_EXCL again: -1 EEXIST; asking 4 of 3: -1 EINVAL; by key: same id",
        "new set: nsems 3 mode 600 otime 0 ctime recent yes",
        "after +1 and an atomic pair: 0 0 0, pid 1",
        "a pair that cannot proceed: -1 EAGAIN, semaphore 2 still 0",
        "semtimedop 100 ms on 0: -1 EAGAIN after >= 100 ms",
        "GETALL 7 8 9; wait-for-zero on 8: -1 EAGAIN; SETVAL 40000: -1 ERANGE; semaphore 3 of 3: -1 EFBIG",
        "otime recent yes",
        "after IPC_RMID: GETVAL -1 EINVAL",
    ]


def test_sysv_shared_memory(probes, target):
    assert lines(probes.output("sysvprobe", target), "shm") == [
        "IPC_EXCL again: -1 EEXIST; bigger than it is: -1 EINVAL",
        "new segment: size 10000 nattch 0 cpid 1 lpid 0 atime 0 ctime recent yes",
        "two attachments: zeroed 1, read through the other: shared bytes, nattch 2, atime recent yes",
        "removed while attached: still reads shared bytes, by key -1 ENOENT",
        "after the last detach: shmat -1 EINVAL, shmdt again -1 EINVAL",
    ]


# --- Only what is needed ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target_name", TARGETS)
def test_pipes_and_socketpairs_link_no_network(probes, target_name):
    """An app with pipes, socketpairs, eventfd, timerfd and sendfile but no socket() links none of the TCP/IP
    stack or a NIC driver; hello links none of the descriptor modules; SysV IPC only where used."""
    _, compiled = compiled_modules(target_name)
    drivers = {name for name, m in compiled.items() if "uf_netdev_get" in m.defined}
    stack = {name for name, m in compiled.items() if "uf_netdev_get" in m.undefined or "uf_sys_socket" in m.defined}
    assert drivers and stack
    fd = probes.modules("fdprobe", target_name)
    assert not fd & (drivers | stack), f"fdprobe links network modules: {sorted(fd & (drivers | stack))}"
    assert {"pipe", "unix", "sockcall", "eventfd", "timerfd", "sendfile"} <= fd and "sysvipc" not in fd, sorted(fd)
    sysv = probes.modules("sysvprobe", target_name)
    assert "sysvipc" in sysv and not sysv & (DESCRIPTOR_MODULES - {"sysvipc"}), sorted(sysv)
    hello = probes.modules("hello", target_name)
    assert not hello & (DESCRIPTOR_MODULES | {"poll", "epoll"}), sorted(hello)
