"""Artifacts booted by what really consumes them: disks (raw, qcow2, vmdk, vhdx) and ISOs made by `uniforge build
-f`, booted through firmware from Debian (SeaBIOS and OVMF with GRUB on x86_64 pc and q35, U-Boot on ARMv7 virt),
never with -kernel; the apps' own disks and NICs beside the boot disk; every artifact byte-identical across two
builds in two folders; bad input as one line with nothing left behind.

A UEFI boot costs OVMF ~15 s under TCG (BIOS: ~1 s), so hello covers every format, firmware and machine, and httpd
and kvstore one combination each of the rest."""
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import copy_example, free_port, require_target, targets_with, uniforge
from host_network import ADDRESS_LINE, Guest
from uniforge.building import targets
from uniforge.core.errors import ExitCode

X86 = "qemu-x86_64-q35"
ARM = "qemu-armv7"
TIMEOUT = 300                   # seconds a guest may take on a busy TCG host (a bound, not a performance check)
EVERY_FORMAT = ("raw", "qcow2", "vmdk", "vhdx", "iso")


@pytest.fixture(scope="module", autouse=True)
def firmware_targets():
    assert set(targets_with("firmware")) == {X86, ARM}
    for tool, package in (("grub-mkimage", "grub-common"), ("xorriso", "xorriso"), ("qemu-img", "qemu-utils"),
                          ("mkimage", "u-boot-tools"), ("mcopy", "mtools")):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (scripts/install-host-deps installs {package})")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """packaged(app, target, *formats) -> the app's folder, built once per (app, target) with the formats."""
    done = {}
    root = tmp_path_factory.mktemp("artifacts")

    def build(app: str, target: str, *formats: str) -> Path:
        require_target(target)
        if (app, target) not in done:
            folder = copy_example(app, root / target)
            flags = [f"-f{fmt}" for fmt in formats]
            report = json.loads(uniforge("build", "-t", target, "--json", *flags, cwd=folder, check=True).stdout)
            assert [a["format"] for a in report["artifacts"]] == list(formats)
            done[app, target] = folder
        return done[app, target]

    return build


def run_disk(folder: Path, disk: str, *args: str, flags=(), timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    return uniforge("run", f"build/{disk}", "--timeout", str(timeout), *flags, "--", *args, cwd=folder,
                    timeout=timeout + 60)


@pytest.mark.parametrize("fmt", ["raw", "qcow2", "iso"])
@pytest.mark.parametrize("firmware", ["bios", "uefi"])
@pytest.mark.parametrize("machine", ["q35", "pc"])
def test_hello_boots_from_a_disk_through_firmware(packaged, fmt, firmware, machine):
    folder = packaged("hello", X86, *EVERY_FORMAT)
    proc = run_disk(folder, f"hello.{X86}.{fmt}", "a b", "exit=3",
                    flags=["--firmware", firmware, "--machine", machine])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Hello, world!\nargv[1] = a b\nargv[2] = exit=3\n" in proc.stdout.replace("\r\n", "\n")


@pytest.mark.parametrize("fmt", ["vmdk", "vhdx"])
def test_the_other_cloud_formats_boot_too(packaged, fmt):
    folder = packaged("hello", X86, *EVERY_FORMAT)
    proc = run_disk(folder, f"hello.{X86}.{fmt}", "exit=7")
    assert proc.returncode == 7 and "Hello, world!" in proc.stdout, proc.stdout + proc.stderr


def test_qemu_img_reads_the_disks_as_the_same_disk(packaged):
    folder = packaged("hello", X86, *EVERY_FORMAT) / "build"
    raw = folder / f"hello.{X86}.raw"
    for fmt in ("qcow2", "vmdk", "vhdx"):
        disk = folder / f"hello.{X86}.{fmt}"
        check = subprocess.run(["qemu-img", "check", str(disk)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        same = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", fmt, str(raw), str(disk)],
                              capture_output=True, text=True)
        assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.parametrize("fmt, firmware, machine", [("qcow2", "bios", "q35"), ("iso", "bios", "pc")])
def test_httpd_from_a_disk_serves_curl(packaged, fmt, firmware, machine):
    folder = packaged("httpd", X86, "qcow2", "iso")
    port = free_port()
    guest = Guest(folder, f"build/httpd.{X86}.{fmt}",
                  ["-p", f"127.0.0.1:{port}:80", "--firmware", firmware, "--machine", machine], ["80"])
    try:
        guest.wait_for(r"httpd: listening on port 80", TIMEOUT)
        guest.wait_for(ADDRESS_LINE, TIMEOUT)          # its DHCP lease: QEMU then forwards the port to it
        page = subprocess.run(["curl", "-sf", "--max-time", "120", f"http://127.0.0.1:{port}/"],
                              capture_output=True, timeout=180)
        assert page.returncode == 0 and page.stdout == (folder / "htdocs" / "index.html").read_bytes(), \
            guest.report()
    finally:
        guest.stop()


@pytest.mark.parametrize("target, first, second", [
    (X86, ("raw", "bios", "q35"), ("qcow2", "uefi", "pc")),
    (ARM, ("raw", "uboot", "virt,highmem=off"), ("qcow2", "uboot", "virt,highmem=off")),
])
def test_kvstore_keeps_its_data_disk_apart_from_the_boot_disk(packaged, tmp_path, target, first, second):
    """The app's disk 0 is its data disk, not the boot disk: what one boot sets, the next (from another format,
    firmware and machine) gets, and the host reads it back from the data disk."""
    folder = packaged("kvstore", target, "raw", "qcow2")
    data = tmp_path / "data.img"
    uniforge("disk", "create", str(data), "--size", "16M", check=True)
    fmt, firmware, machine = first
    proc = run_disk(folder, f"kvstore.{target}.{fmt}", "set", "greeting", "hello there",
                    flags=["--disk", str(data), "--firmware", firmware, "--machine", machine])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fmt, firmware, machine = second
    proc = run_disk(folder, f"kvstore.{target}.{fmt}", "get", "greeting",
                    flags=["--disk", str(data), "--firmware", firmware, "--machine", machine])
    assert proc.returncode == 0 and "hello there" in proc.stdout, proc.stdout + proc.stderr
    got = tmp_path / "greeting"
    uniforge("disk", "get", str(data), "/kv/greeting", str(got), check=True)
    assert got.read_text().strip() == "hello there"


def test_armv7_disk_boots_through_u_boot(packaged):
    folder = packaged("hello", ARM, "raw", "qcow2", "vmdk", "vhdx")
    proc = run_disk(folder, f"hello.{ARM}.vhdx", "a b", "exit=4")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    console = proc.stdout.replace("\r\n", "\n")
    assert "Starting kernel ..." in console                     # U-Boot's bootz, not QEMU's -kernel
    assert "Hello, world!\nargv[1] = a b\nargv[2] = exit=4\n" in console


@pytest.mark.parametrize("target, formats", [(X86, EVERY_FORMAT), (ARM, ("raw", "qcow2", "vmdk", "vhdx"))])
def test_every_artifact_is_the_same_from_two_builds_in_two_folders(tmp_path, target, formats):
    require_target(target)
    digests = []
    for where in ("one", "two"):
        folder = copy_example("hello", tmp_path / where)
        report = json.loads(uniforge("build", "-t", target, "--json", *[f"-f{f}" for f in formats], cwd=folder,
                                     check=True).stdout)
        found = {a["format"]: a for a in report["artifacts"]}
        for a in found.values():
            path = Path(a["path"])
            assert path.parent == folder / "build" and a["bytes"] == path.stat().st_size
            assert a["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        digests.append({fmt: a["sha256"] for fmt, a in found.items()})
    assert digests[0] == digests[1] and set(digests[0]) == set(formats)


def test_the_bootable_disk_and_the_iso_stay_small(packaged):
    folder = packaged("hello", X86, *EVERY_FORMAT) / "build"
    assert (folder / f"hello.{X86}.raw").stat().st_size <= 2 << 20
    assert (folder / f"hello.{X86}.iso").stat().st_size <= 4 << 20


@pytest.mark.parametrize("target, flags, message", [
    (X86, ["-f", "qcow3"], "unknown artifact format 'qcow3'"),
    (ARM, ["-f", "iso"], "qemu-armv7 makes no ISO"),
    ("qemu-x86_64", ["-f", "raw"], "qemu-x86_64 makes no disk images"),
])
def test_a_format_that_cannot_be_made_is_one_line_before_the_build(tmp_path, target, flags, message):
    folder = copy_example("hello", tmp_path)
    proc = uniforge("build", "-t", target, *flags, cwd=folder)
    assert proc.returncode == ExitCode.IMAGE and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2 and "Traceback" not in proc.stderr      # error + hint
    assert not (folder / "build").exists()


def test_a_full_output_folder_leaves_nothing_behind(tmp_path, packaged):
    """A folder with room for the image but not for its disk: one line, and no artifact or leftover."""
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.skip("mounting a small tmpfs needs root")
    built = packaged("hello", X86, *EVERY_FORMAT) / "build"
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(small)], check=True)
    try:
        image = small / f"hello.{X86}"
        shutil.copy(built / image.name, image)
        before = sorted(p.name for p in small.iterdir())
        proc = uniforge("package", str(image), "-f", "qcow2", "-f", "iso")
        assert proc.returncode == ExitCode.IMAGE and "Traceback" not in proc.stderr, proc.stderr
        assert "No space left on device" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in small.iterdir()) == before
    finally:
        subprocess.run(["umount", str(small)], check=True)
