"""The host a Linux program expects besides its own files: locks, file mappings, /dev, /etc, /tmp, "/", who the
process is, file metadata, POSIX shared memory and semaphores (tests/apps/posixprobe), and that none of it costs an
app that does not use it (`uniforge inspect`). What reaches the disk is read back on the host with mtools."""
import re
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from conftest import app_dir, one_per_arch, uniforge
from test_storage import fsck, make_disk

TARGETS = one_per_arch("disk")        # what is checked here does not depend on the machine
pytestmark = pytest.mark.uniforge(targets=TARGETS)
STORAGE = {"fat", "block", "virtio-blk"}
NETWORK = {"net", "socket", "virtio-net"}
FILES = {"vfs", "devfs", "etcfs", "tmpfs"}


def probe(run_app, tmp_path, *commands, cmdline=""):
    """posixprobe's commands in one boot on a fresh disk: (console output, disk image)."""
    image = make_disk(tmp_path / "probe.img")
    proc = run_app("posixprobe", *commands, disks=[image], cmdline=cmdline)
    assert proc.status == 0 and "failures 0" in proc.console, proc.console + proc.message
    return proc.console, image


def line(output: str, prefix: str) -> str:
    found = [text[len(prefix):] for text in output.splitlines() if text.startswith(prefix)]
    assert found, f"no line starting {prefix!r} in:\n{output}"
    return found[-1]


def modules(uniforge_build, target: str, app: str) -> set[str]:
    return set(uniforge_build(app_dir(app), target).inspect()["modules"])


def test_locks_between_two_descriptors(run_app, tmp_path):
    """POSIX locks of one process never conflict; OFD locks and flock of two open()s do; F_GETLK names the
    holder; unlocking splits; closes release as Linux says; a wait that cannot end is EDEADLK."""
    probe(run_app, tmp_path, "locks")


def test_file_mappings_reach_the_disk(run_app, tmp_path):
    out, image = probe(run_app, tmp_path, "mmap", "shared")
    fsck(image)
    for name, expected in (("mapped.txt", "THIS LINE was written with write()\n"),
                           ("at-exit.txt", "this line LINEwritten with write()\n")):
        got = tmp_path / name
        uniforge("disk", "get", str(image), f"/{name}", str(got), check=True)
        assert got.read_text() == expected, f"{name}: {got.read_text()!r}"


def test_dev_tmp_root_and_shared_memory(run_app, uniforge_build, target, tmp_path):
    """/dev's devices, /tmp, what "/" lists (a tmpfs mounted from the command line too), shm_open and sem_open."""
    out, _ = probe(run_app, tmp_path, "dev", "tmp", "root", "shm",
                   cmdline="uf.mount=/data:disk0:fat,/scratch:none:tmpfs")
    for text in ("through /dev/stdout\n", "through /dev/fd/2\n", "through /dev/console\n"):
        assert text in out
    assert line(out, "dev: ").split() == ["console", "fd", "full", "null", "random", "shm", "stderr", "stdin",
                                          "stdout", "tty", "urandom", "zero"]
    assert line(out, "dev/fd: ").split() == ["0", "1", "2", "3"]       # 3: the folder being read
    assert line(out, "root: ").split() == ["data", "dev", "etc", "scratch", "tmp", "www"]
    # "/" is the image, read-only: its pages in memory, all used; one folder (all it lists are mount points).
    bsize, blocks, bfree, bavail, files, ffree = map(int, line(out, "root statvfs: ").split())
    assert (bsize, bfree, bavail, files, ffree) == (4096, 0, 0, 1, 0)
    assert blocks == _memory_pages(uniforge_build(app_dir("posixprobe"), target).elf)
    assert line(out, "www statvfs: ").split() == ["4096", "1", "0", "2"]       # the tree: readme.txt and its root
    assert line(out, "tmp: ").split() == ["third-name"]
    shm = [text for text in out.splitlines() if text.startswith("shm: ")]
    assert shm == ["shm: folder probe reopen", "shm: folder probe-sem reopen"]     # dev made folder and reopen


def test_etc_and_dropping_privileges(run_app, tmp_path):
    out, _ = probe(run_app, tmp_path, "etc", "identity", cmdline="uf.dns=192.0.2.53 uf.dns6=2001:db8::53")
    assert line(out, "etc: ").split() == ["group", "hostname", "hosts", "passwd", "posixprobe.conf", "protocols",
                                          "resolv.conf", "services"]
    assert "resolv.conf: nameserver 192.0.2.53\nnameserver 2001:db8::53\n" in out
    assert line(out, "uid=") == "65534 euid=65534 gid=65534 egid=65534"


def _memory_pages(image: Path) -> int:
    """The pages an ELF image spans once loaded, from its program headers."""
    with image.open("rb") as f:
        loads = [seg for seg in ELFFile(f).iter_segments() if seg["p_type"] == "PT_LOAD"]
        start = min(seg["p_vaddr"] for seg in loads)
        end = max(seg["p_vaddr"] + seg["p_memsz"] for seg in loads)
    return -(-(end - start) // 4096)


def _fat_geometry(image: Path) -> tuple[int, int]:
    """(cluster size, data clusters) from the boot sector, as Microsoft's FAT specification derives them."""
    bs = image.read_bytes()[:512]
    bps, spc, reserved, fats, root_entries, total16, fat16 = struct.unpack_from("<HBHBHHxH", bs, 11)
    total = total16 or struct.unpack_from("<I", bs, 32)[0]
    fat_sectors = fat16 or struct.unpack_from("<I", bs, 36)[0]
    meta = reserved + fats * fat_sectors + (root_entries * 32 + bps - 1) // bps
    return bps * spc, (total - meta) // spc


def test_metadata_as_the_host_sees_it(run_app, tmp_path):
    """statvfs says what the disk holds; utimensat's time is the one mtools lists; chmod, chown, access,
    truncate and readlink answer as Linux does for a FAT volume root mounted."""
    out, image = probe(run_app, tmp_path, "meta")
    fsck(image)
    bsize, blocks, bfree = map(int, line(out, "statvfs ").split())
    assert (bsize, blocks) == _fat_geometry(image)
    listing = uniforge("disk", "ls", str(image), "/", check=True).stdout
    free = re.search(r"([0-9 ]+) bytes free", listing)
    assert free and int(free[1].replace(" ", "")) == bfree * bsize, listing
    stamp = next(text for text in listing.splitlines() if text.rstrip().endswith("stamp.txt"))
    assert re.search(r"2001-02-03\s+4:05", stamp), stamp


def test_a_privilege_drop_needs_no_disk_and_no_network(run_app, uniforge_build, target):
    """getpwnam/getpwuid/getgrnam read the image's own /etc: no nscd socket (no network stack), no FAT, no disk
    driver."""
    result = run_app("etclookup", timeout=120)
    assert result.status == 0, result.message
    assert "root is root, home /root\n" in result.console
    assert "dropping to nobody (65534) and nogroup (65534)\n" in result.console
    assert "uid=65534 euid=65534 gid=65534 egid=65534\n" in result.console
    linked = modules(uniforge_build, target, "etclookup")
    assert FILES <= linked and not linked & (STORAGE | NETWORK), sorted(linked)


def test_localtime_needs_no_file_system(run_app, uniforge_build, target):
    result = run_app("localtime", timeout=120)
    assert result.status == 0 and result.console.endswith("2001-02-03 04:05:06 UTC\n"), result.message
    # glibc's strptime conversions, which musl 1.2.3's lacks (libos/libc/src/time/strptime.c)
    assert "strptime %F %T %z: 2001-02-03 04:05:06 -19800\n" in result.console, result.console
    assert "strptime %s: 2001-02-03 04:05:06\n" in result.console, result.console
    linked = modules(uniforge_build, target, "localtime")
    assert not linked & (FILES | STORAGE | NETWORK), sorted(linked)


def test_an_apps_own_malloc_is_the_apps_alone(run_app):
    """An app that replaces malloc with one whose blocks are unaligned (as libc-test's flockfile-list does) runs: the
    library OS allocates with the libc's own allocator (ARM's strd faulted on such blocks in tmpfs)."""
    result = run_app("ownmalloc", timeout=120)
    assert result.status == 0, result.console + result.message
    assert "own malloc: 0 calls from the library OS; failures 0\n" in result.console, result.console


def test_hello_links_none_of_it(uniforge_build, target):
    linked = modules(uniforge_build, target, "hello")
    assert not linked & (FILES | STORAGE | NETWORK | {"embedfs"}), sorted(linked)
