"""Storage: files on real FAT images through virtio-blk, the embedded read-only tree, and the host's `uniforge disk`.
Every image is checked from the host with dosfstools/mtools (fsck.fat -n, mcopy), never by trusting the guest."""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, app_dir, compiled_modules, qemu_processes, uniforge
from uniforge.core.errors import ExitCode, RunError, RunStatus

pytestmark = pytest.mark.uniforge(needs=["disk"])
FS_MODULES = {"vfs", "fat", "embedfs", "block", "virtio-blk"}
RECORD = 100                # bytes per record in the power-cut test: fsprobe's `append N 100`
SYNCED = re.compile(r"synced [0-9]+\n")


@pytest.fixture(scope="module", autouse=True)
def disk_tools():
    for tool in ("mkfs.fat", "fsck.fat", "mcopy"):
        if not (shutil.which(tool) or Path("/usr/sbin", tool).exists()):
            pytest.skip(f"{tool} is not installed (scripts/install-host-deps installs dosfstools and mtools)")


def fsck(image: Path) -> str:
    """fsck.fat -n (change nothing): its report; fails the test unless the file system is consistent."""
    tool = shutil.which("fsck.fat") or "/usr/sbin/fsck.fat"
    proc = subprocess.run([tool, "-n", str(image)], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"fsck.fat -n {image}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    return proc.stdout


# What fsck.fat -n says about the states a power cut may leave on FAT by itself: an append's metadata (the new
# cluster linked in each copy of the allocation table, the new size in the directory entry) goes to the device as
# one batch whose writes land in any order, and FAT has no way to change them at once. So the copies may differ
# (fsck uses the first), the file's chain may be longer or shorter than its size, and a new cluster's end mark may
# land without the link to it (where the two entries lie in different blocks); the records fsynced before
# lie in clusters and a size written by earlier batches, which the test checks separately. The lines of its report
# besides its version, summary and "Leaving filesystem unchanged.".
CUT_APPEND = re.compile(r"/log|/LOG|FATs differ but appear to be intact\.|\s*Using first FAT\.|"
                        r"(/log: |\s*)File size is \d+ bytes, cluster chain length is (> )?\d+ bytes\.|"
                        r"\s*Truncating file to \d+ bytes\.|Reclaimed 1 unused cluster \(\d+ bytes\)\.")


def fsck_after_cut(image: Path) -> None:
    """After a power cut: fsck.fat -n finds the file system consistent, or finds nothing but what a cut append's
    metadata may leave (CUT_APPEND); then fsck.fat -a, as a user would run it, gives a consistent one."""
    tool = shutil.which("fsck.fat") or "/usr/sbin/fsck.fat"
    proc = subprocess.run([tool, "-n", str(image)], check=False, capture_output=True, text=True, timeout=120)
    if proc.returncode == 0:
        return
    found = [line for line in proc.stdout.splitlines()[1:-1]
             if line.strip() and line != "Leaving filesystem unchanged."]
    assert found and all(CUT_APPEND.fullmatch(line) for line in found), \
        f"fsck.fat -n {image}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    subprocess.run([tool, "-a", str(image)], check=False, capture_output=True, timeout=120)
    fsck(image)


def make_disk(path: Path, size: str = "64M", source: Path | None = None) -> Path:
    args = ["disk", "create", str(path), "--size", size] + (["--from", str(source)] if source else [])
    uniforge(*args, check=True)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_guest_writes_1000_files_the_host_reads_them(run_app, tmp_path):
    image = make_disk(tmp_path / "tree.img")
    proc = run_app("fsprobe", "write-tree", "1000", disks=[image])
    assert proc.status == 0 and "wrote 1000" in proc.console, proc.console + proc.message
    fsck(image)
    out = tmp_path / "out"
    uniforge("disk", "get", str(image), "/tree", str(out), check=True)
    files = sorted(out.rglob("*.txt"))
    assert len(files) == 1000
    for i in (0, 1, 49, 50, 517, 999):
        path = out / f"folder {i // 50:02d}" / f"File number {i:04d}.txt"
        assert path.read_text() == f"contents of /tree/folder {i // 50:02d}/File number {i:04d}.txt\n"
    for path in files:
        assert path.read_text() == f"contents of /tree/{path.relative_to(out).as_posix()}\n"


def test_guest_reads_what_the_host_put_in(run_app, tmp_path):
    source = tmp_path / "src"
    rng = random.Random(7)
    expected = {}
    for i in range(40):
        rel = f"level {i % 3}/sub-{i % 5}/A file with a long name {i}.bin" if i % 4 else f"SHORT{i}.TXT"
        data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 511, 512, 4096, 5000, 70000])))
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
        expected[f"/data/{rel}"] = (len(data), sum(data))
    image = make_disk(tmp_path / "host.img", "32M", source)    # FAT16
    proc = run_app("fsprobe", "read-tree", "/data", disks=[image])
    assert proc.status == 0 and "done" in proc.console, proc.console + proc.message
    seen = {}
    for line in proc.console.splitlines():
        if line.startswith("file "):
            path, size, total = line[5:].rsplit(" ", 2)
            seen[path] = (int(size), int(total))
    assert seen == expected


def fnv1a64(data: bytes) -> int:
    value = 0xcbf29ce484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001b3) & 0xffffffffffffffff
    return value


def test_large_read_and_write_in_demand_zero_memory(uniforge_build, run_app, target, tmp_path):
    """One read() of a 3 MiB file into an untouched anonymous mapping at an odd address (module demand's pages
    where it exists: the copy out of the block cache backs them) and one write() of it to a new file: the guest's
    digest of what it read and the host's copy of what it wrote are the file's bytes."""
    image = uniforge_build(app_dir("fsprobe"), target)
    _, available = compiled_modules(target)
    assert ("demand" in image.inspect()["modules"]) == ("demand" in available)
    source = tmp_path / "src"
    source.mkdir()
    data = random.Random(11).randbytes(3 * 2**20 + 123)
    (source / "in.bin").write_bytes(data)
    disk = make_disk(tmp_path / "big.img", "32M", source)
    proc = run_app(image, "big", "/data/in.bin", "/data/out.bin", disks=[disk])
    assert proc.status == 0, proc.console + proc.message
    assert f"big {len(data)} {fnv1a64(data):016x}" in proc.console
    fsck(disk)
    uniforge("disk", "get", str(disk), "/out.bin", str(tmp_path / "out.bin"), check=True)
    assert (tmp_path / "out.bin").read_bytes() == data


def test_posix_file_semantics(run_app, tmp_path):
    image = make_disk(tmp_path / "ops.img")
    proc = run_app("fsprobe", "ops", disks=[image])
    assert proc.status == 0 and "failures 0" in proc.console, proc.console + proc.message
    fsck(image)
    listing = uniforge("disk", "ls", str(image), "/", check=True).stdout
    assert "stdio.txt" in listing and "café €.txt" in listing      # long names as the host sees them


def test_power_cut_keeps_every_fsynced_record(uniforge_build, uniforge_boot, target, tmp_path):
    """SIGKILL QEMU at random moments while the guest appends and fsyncs: every record it reported as fsynced is
    there and intact afterwards, and the file system is consistent (or needs no more than fsck_after_cut allows)."""
    fsprobe = uniforge_build(app_dir("fsprobe"), target)
    image = make_disk(tmp_path / "log.img", "16M")
    rng = random.Random(2024)
    synced = set()
    for cut in range(20):
        vm = uniforge_boot(fsprobe, ["append", "1000000", str(RECORD)], disks=[image], timeout=300)
        wanted = rng.randint(1, 40)         # records to let through, then a random delay inside the next ones
        count = 0
        for line in vm.console:
            if SYNCED.fullmatch(line):
                count += 1
                if count == wanted:
                    break
            elif "errno=" in line:
                pytest.fail(f"cut {cut}: the guest failed: {line}")
        time.sleep(rng.uniform(0, 0.05))
        pids = qemu_processes(naming=image)
        assert pids, f"cut {cut}: QEMU ended before the cut"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(RunError, match="QEMU was killed by SIGKILL"):
            vm.wait(60)
        for line in vm.console.text.splitlines(keepends=True):  # all it printed before the kill landed
            if SYNCED.fullmatch(line):                          # not a line the kill cut short
                synced.add(int(line.split()[1]))
        fsck_after_cut(image)
        log = tmp_path / f"log.{cut}"
        uniforge("disk", "get", str(image), "/log", str(log), check=True)
        data = log.read_bytes()
        assert len(data) >= (max(synced) + 1) * RECORD, f"cut {cut}: record {max(synced)} was reported fsynced, " \
                                                         f"the file has {len(data) // RECORD} whole records"
        for i in sorted(synced):
            rec = data[i * RECORD:(i + 1) * RECORD]
            head = f"record {i:08d} ".encode()
            assert rec.startswith(head) and rec.endswith(b"\n"), f"cut {cut}: record {i} damaged: {rec!r}"
            assert set(rec[len(head):-1]) == {ord("a") + i % 26}, f"cut {cut}: record {i} damaged: {rec!r}"
    assert len(synced) > 20


def _unchanged_after(run_app, image: Path, *args, disks=None, cmdline=""):
    before = digest(image)
    proc = run_app("fsprobe", *args, disks=disks or [image], cmdline=cmdline)
    assert digest(image) == before, "the guest wrote to a disk it must not write to"
    return proc


def test_read_only_disk_is_never_written(run_app, tmp_path):
    image = make_disk(tmp_path / "ro.img", "16M")
    proc = _unchanged_after(run_app, image, "try-write", disks=[f"{image}:ro"])
    assert proc.status == 0 and "errno=EROFS" in proc.console, proc.console + proc.message
    # A writable device mounted read-only by the command line: the same.
    proc = _unchanged_after(run_app, image, "try-write", cmdline="uf.mount=/data:disk0:fat:ro")
    assert proc.status == 0 and "errno=EROFS" in proc.console, proc.console + proc.message
    # Reading works on both.
    proc = _unchanged_after(run_app, image, "read-tree", "/data", disks=[f"{image}:ro"])
    assert proc.status == 0 and "done" in proc.console


def test_mounts_from_the_command_line(run_app, tmp_path):
    (tmp_path / "a" / "two").mkdir(parents=True)      # the mount point, as on Linux a folder of the disk below
    (tmp_path / "a" / "first.txt").write_text("on disk 0\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "second.txt").write_text("on disk 1\n")
    first = make_disk(tmp_path / "first.img", "16M", tmp_path / "a")
    second = make_disk(tmp_path / "second.img", "16M", tmp_path / "b")
    mounts = "uf.mount=/one:disk0:fat,/one/two:disk1:fat:ro,/bad:disk7:fat,/worse:disk1"
    before = digest(second)
    proc = run_app("fsprobe", "read-tree", "/one", disks=[first, second], cmdline=mounts)
    assert proc.status == 0, proc.console + proc.message
    assert "file /one/first.txt 10 " in proc.console and "file /one/two/second.txt 10 " in proc.console
    assert "vfs: cannot mount disk7 on /bad" in proc.console and "ignoring uf.mount entry '/worse:disk1'" in \
        proc.console, proc.console
    assert digest(second) == before


def _damaged(kind: str, path: Path) -> Path:
    make_disk(path, "16M")
    data = bytearray(path.read_bytes())
    if kind == "zeroed-boot-sector":
        data[:512] = bytes(512)
    elif kind == "truncated":
        data = data[:1 << 20]
    elif kind == "garbage-geometry":
        data[11:13] = (3).to_bytes(2, "little")     # 3-byte sectors
        data[13] = 7
    elif kind == "wrong-filesystem":
        mkfs = shutil.which("mkfs.ext2") or "/usr/sbin/mkfs.ext2"
        if not Path(mkfs).exists():
            pytest.skip("mkfs.ext2 (e2fsprogs) is not installed")
        subprocess.run([mkfs, "-q", "-F", str(path)], check=True, capture_output=True)
        return path
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind", ["zeroed-boot-sector", "truncated", "garbage-geometry", "wrong-filesystem"])
def test_bad_image_is_a_clean_error(run_app, tmp_path, kind):
    image = _damaged(kind, tmp_path / f"{kind}.img")
    proc = _unchanged_after(run_app, image, "try-write")
    # The mount fails with one console line; the app sees no /data (ENOENT), the guest does not crash.
    assert proc.status == 0, proc.console + proc.message
    assert "errno=ENOENT" in proc.console and "fat: disk0:" in proc.console, proc.console
    host = uniforge("disk", "ls", str(image))
    assert host.returncode == ExitCode.DISK and "Traceback" not in host.stderr
    assert len(host.stderr.strip().splitlines()) <= 2 and "error:" in host.stderr, host.stderr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damaged_metadata_never_crashes_the_guest(run_app, tmp_path, seed):
    """Random bytes over the allocation table, the directories and the boot sector's neighbourhood of a populated
    volume: the guest may report errors (errno), but never crashes or hangs."""
    source = tmp_path / "src"
    for i in range(30):
        path = source / f"dir {i % 4}" / f"file with a long name {i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([i]) * (i * 700))
    image = make_disk(tmp_path / "bad.img", "16M", source)
    data = bytearray(image.read_bytes())
    reserved = int.from_bytes(data[14:16], "little") * 512
    fat_end = reserved + data[16] * int.from_bytes(data[22:24], "little") * 512
    rng = random.Random(seed)
    for _ in range(400):        # the tables and the root directory, then the first data clusters (folders)
        data[rng.randrange(reserved, fat_end + 64 * 1024)] = rng.randrange(256)
    image.write_bytes(bytes(data))
    # The probe runs to its end and exits with its own verdict: read-tree 1 after an errno line, else 0; ops the
    # number of checks that failed. Not a crash, a hang or a runner failure.
    proc = run_app("fsprobe", "read-tree", "/data", disks=[image], timeout=120)
    said = proc.console + proc.message
    assert proc.status not in (RunStatus.CRASHED, RunStatus.TIMED_OUT) and "uniforge: error" not in said, said
    assert proc.console.splitlines()[-1] == "done", said
    assert proc.status == ("errno=" in proc.console), said
    proc = run_app("fsprobe", "ops", disks=[image], timeout=120)
    said = proc.console + proc.message
    failures = re.search(r"^failures (\d+)$", proc.console, re.MULTILINE)
    assert failures and proc.status == int(failures[1]) and "uniforge: error" not in said, said


def test_full_disk_is_enospc_and_stays_consistent(run_app, tmp_path):
    image = make_disk(tmp_path / "full.img", "10M")
    proc = run_app("fsprobe", "fill", disks=[image])
    assert proc.status == 0 and "full errno=ENOSPC" in proc.console, proc.console + proc.message
    assert "after: close=0 unlink=0" in proc.console
    fsck(image)


def test_kvstore_persists_across_boots(run_app, tmp_path):
    image = make_disk(tmp_path / "kv.img", "16M")
    assert run_app("kvstore", "set", "greeting", "hello there", disks=[image]).status == 0
    assert run_app("kvstore", "set", "n", "1", disks=[image]).status == 0
    assert run_app("kvstore", "set", "n", "2", disks=[image]).status == 0
    got = run_app("kvstore", "get", "greeting", disks=[image])
    assert got.status == 0 and "hello there" in got.console
    assert run_app("kvstore", "get", "n", disks=[image]).console.splitlines() == ["2"]
    assert run_app("kvstore", "del", "greeting", disks=[image]).status == 0
    listed = run_app("kvstore", "list", disks=[image])
    assert listed.status == 0 and listed.console.split() == ["n"], listed.console
    missing = run_app("kvstore", "get", "greeting", disks=[image])
    assert missing.status == 1 and "no key greeting" in missing.console + missing.message
    fsck(image)
    out = tmp_path / "n"
    uniforge("disk", "get", str(image), "/kv/n", str(out), check=True)
    assert out.read_text() == "2"


def test_embedded_tree_is_served_read_only(run_app):
    proc = run_app("treeprobe")
    assert proc.status == 0, proc.console + proc.message
    htdocs = ROOT / "tests" / "apps" / "treeprobe" / "htdocs"
    for path in htdocs.rglob("*"):
        guest = "/www/" + path.relative_to(htdocs).as_posix()
        if path.is_dir():
            assert f"dir {guest}\n" in proc.console
        else:
            data = path.read_bytes()
            assert f"file {guest} {len(data)} {sum(data)}\n" in proc.console, proc.console
    assert "write errno=EROFS" in proc.console and "rdwr errno=EROFS" in proc.console


def test_only_apps_that_use_files_get_storage(uniforge_build, target):
    def modules(app: str) -> set[str]:
        return set(uniforge_build(app_dir(app), target).inspect()["modules"])

    assert not modules("hello") & FS_MODULES
    tree_only = modules("treeprobe")
    assert {"vfs", "embedfs"} <= tree_only and not tree_only & {"fat", "block", "virtio-blk"}
    assert {"vfs", "fat", "block", "virtio-blk"} <= modules("fsprobe")


def test_embedded_tree_is_reproducible(tmp_path):
    from uniforge.building import embedtree
    htdocs = ROOT / "tests" / "apps" / "treeprobe" / "htdocs"
    copy = tmp_path / "copy"
    shutil.copytree(htdocs, copy)
    os.utime(copy / "index.html", (0, 0))
    assert embedtree.pack(htdocs) == embedtree.pack(copy)
