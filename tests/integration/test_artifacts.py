"""Artifacts booted by what really consumes them: disks (raw, qcow2, vmdk, vhdx) and ISOs made by `uniforge build
-f`, booted through firmware from Debian (SeaBIOS and OVMF with GRUB on x86_64 pc and q35, U-Boot and AAVMF with
our EFI stub on ARMv7 virt), never with -kernel; the apps' own disks and NICs beside the boot disk; every artifact
byte-identical across two builds in two folders; bad input as one line with nothing left behind.

A UEFI boot costs OVMF ~15 s under TCG (BIOS: ~1 s), so hello covers every format, firmware and machine, and httpd
and kvstore one combination each of the rest."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import copy_example, free_port, targets_with, uniforge
from host_network import ADDRESS_LINE
from uniforge.api.schema import schema_file
from uniforge.core.errors import ExitCode

X86 = "qemu-x86_64-q35"
ARM = "qemu-armv7"
TIMEOUT = 300                   # seconds a guest may take on a busy TCG host (a bound, not a performance check)
EVERY_FORMAT = ("raw", "qcow2", "vmdk", "vhdx", "iso")
pytestmark = pytest.mark.uniforge(targets=[X86])    # a test's own marker or parameters say where else it runs


@pytest.fixture(scope="module", autouse=True)
def firmware_targets():
    assert set(targets_with("firmware")) == {X86, ARM}
    for tool, package in (("grub-mkimage", "grub-common"), ("xorriso", "xorriso"), ("qemu-img", "qemu-utils"),
                          ("mkimage", "u-boot-tools"), ("mcopy", "mtools")):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (scripts/install-host-deps installs {package})")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """packaged(app, target, *formats) -> the app's folder, built once per (app, target) with the formats (the
    test's target: the plugin skips those this host cannot run)."""
    done = {}
    root = tmp_path_factory.mktemp("artifacts")

    def build(app: str, target: str, *formats: str) -> Path:
        if (app, target) not in done:
            folder = copy_example(app, root / target)
            flags = [f"-f{fmt}" for fmt in formats]
            report = built_json(uniforge("build", "-t", target, "--json", *flags, cwd=folder, check=True))
            # One domain XML boots the image as its kernel, one more each disk.
            disks = [f for f in formats if f != "libvirt"]
            domains = 1 + len(disks) if "libvirt" in formats else 0
            assert [a["format"] for a in packages(report)] == disks + ["libvirt"] * domains
            done[app, target] = folder
        return done[app, target]

    return build


def built_json(proc: subprocess.CompletedProcess, document: str = "build") -> dict:
    """`build --json` or `package --json`, checked against its schema."""
    import jsonschema
    report = json.loads(proc.stdout)
    jsonschema.validate(report, json.loads(schema_file(document).read_text()))
    return report


def packages(report: dict) -> list[dict]:
    """The artifacts -f asked for, among the files the build wrote."""
    return [a for a in report["artifacts"] if a["kind"] == "package"]


def run_disk(folder: Path, disk: str, *args: str, flags=(), timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    return uniforge("run", f"build/{disk}", "--timeout", str(timeout), *flags, "--", *args, cwd=folder,
                    timeout=timeout + 60)


@pytest.mark.parametrize("fmt", ["raw", "qcow2", "iso"])
@pytest.mark.parametrize("firmware", ["bios", "uefi"])
@pytest.mark.parametrize("machine", ["q35", "pc"])
def test_hello_boots_from_a_disk_through_firmware(packaged, fmt, firmware, machine, target):
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt")
    proc = run_disk(folder, f"hello.{target}.{fmt}", "a b", "exit=3",
                    flags=["--firmware", firmware, "--machine", machine])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Hello, world!\nargv[1] = a b\nargv[2] = exit=3\n" in proc.stdout.replace("\r\n", "\n")


def test_the_python_api_builds_packages_and_boots_a_disk(tmp_path, target):
    """uniforge.build(formats=) reports the artifacts with the files it wrote; a disk opens as an Image and boots
    through firmware in the background like any image (expect, wait)."""
    import uniforge
    folder = copy_example("hello", tmp_path)
    image = uniforge.build(folder, target, formats=["raw", "libvirt"])
    made = image.report.packages
    assert [(a.format, a.path.name) for a in made] == [("raw", f"hello.{target}.raw"),
                                                        ("libvirt", f"hello.{target}.libvirt.xml"),
                                                        ("libvirt", f"hello.{target}.raw.libvirt.xml")]
    assert made[0].sha256 == hashlib.sha256(made[0].path.read_bytes()).hexdigest()
    assert image.package(["raw"]) == made[:1]                   # again: the same bytes
    disk = uniforge.Image.open(made[0].path)
    assert disk.elf == image.path and disk.target == target
    with disk.boot(["x", "exit=2"], firmware="bios", machine="pc", timeout=TIMEOUT) as vm:
        vm.expect(r"argv\[1\] = x", timeout=TIMEOUT)
        done = vm.wait(TIMEOUT)
    assert (done.status, done.ending) == (2, "exited"), done.console + done.message


def test_every_argument_arrives_through_grub_as_given(packaged, target):
    """GRUB gets the guest's words from the SMBIOS OEM string in its own quoting, and quotes them again for the
    kernel command line the way the guest reads them back: nothing is lost on the way."""
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt")
    args = ["plain", "with space", 'quote"d', "back\\slash", "comma,s", "--not-an-option", "é", "it's", "$HOME", ";x"]
    proc = run_disk(folder, f"hello.{target}.raw", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = "".join(f"argv[{i}] = {a}\n" for i, a in enumerate(args, 1))
    assert "Hello, world!\n" + shown in proc.stdout.replace("\r\n", "\n")


@pytest.mark.parametrize("fmt", ["vmdk", "vhdx"])
def test_the_other_cloud_formats_boot_too(packaged, fmt, target):
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt")
    proc = run_disk(folder, f"hello.{target}.{fmt}", "exit=200")      # all 8 bits: the status channel as with -kernel
    assert proc.returncode == 200 and "Hello, world!" in proc.stdout, proc.stdout + proc.stderr


def test_qemu_img_reads_the_disks_as_the_same_disk(packaged, target):
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt") / "build"
    raw = folder / f"hello.{target}.raw"
    for fmt in ("qcow2", "vmdk", "vhdx"):
        disk = folder / f"hello.{target}.{fmt}"
        check = subprocess.run(["qemu-img", "check", str(disk)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        same = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", fmt, str(raw), str(disk)],
                              capture_output=True, text=True)
        assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.uniforge(targets=[X86, ARM])
def test_the_partition_table_and_the_file_systems_check_clean(packaged, tmp_path, target):
    """gdisk verifies the GPT (both headers, both tables, their CRCs, overlaps), dosfstools' fsck every FAT
    partition (the EFI system partition; ARMv7's boot partition), read-only."""
    if not shutil.which("sgdisk"):
        pytest.skip("sgdisk is not installed (scripts/install-host-deps installs gdisk)")
    formats = (*EVERY_FORMAT, "libvirt") if target == X86 else ("raw", "qcow2", "vmdk", "vhdx")    # as the others
    raw = packaged("hello", target, *formats) / "build" / f"hello.{target}.raw"

    def verify(disk: Path) -> str:
        return subprocess.run(["sgdisk", "-v", str(disk)], capture_output=True, text=True, check=True).stdout

    assert "No problems found" in verify(raw), verify(raw)
    table = subprocess.run(["sgdisk", "-p", str(raw)], capture_output=True, text=True, check=True).stdout
    fats = re.findall(r"^\s+\d+\s+(\d+)\s+(\d+)\s+.*\s(?:EF00|0700)\s", table, re.MULTILINE)
    assert fats, table
    for start, end in fats:
        partition = tmp_path / f"part-{start}.img"
        with raw.open("rb") as disk:
            disk.seek(int(start) * 512)
            partition.write_bytes(disk.read((int(end) - int(start) + 1) * 512))
        fsck = subprocess.run(["fsck.fat", "-n", str(partition)], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    broken = tmp_path / "broken.raw"                    # the check can fail: a main table whose CRC is wrong
    data = bytearray(raw.read_bytes())
    data[1024 + 10] ^= 0xFF
    broken.write_bytes(bytes(data))
    assert "No problems found" not in verify(broken)


@pytest.mark.parametrize("fmt, firmware, machine", [("qcow2", "bios", "q35"), ("iso", "uefi", "pc"),
                                                     ("raw", "uefi", "q35")])
def test_httpd_from_a_disk_serves_curl(packaged, uniforge_boot, fmt, firmware, machine, target):
    import uniforge
    folder = packaged("httpd", target, "raw", "qcow2", "iso")
    guest = uniforge_boot(uniforge.Image.open(folder / "build" / f"httpd.{target}.{fmt}"), ["80"], publish=[80],
                          firmware=firmware, machine=machine, timeout=2 * TIMEOUT)
    guest.expect(r"httpd: listening on port 80", TIMEOUT)
    guest.expect(ADDRESS_LINE, TIMEOUT, since_boot=True)     # its DHCP lease: QEMU then forwards the port to it
    host, port = guest.port(80)
    page = subprocess.run(["curl", "-sf", "--max-time", "120", f"http://{host}:{port}/"], capture_output=True,
                          timeout=180)
    assert page.returncode == 0 and page.stdout == (folder / "htdocs" / "index.html").read_bytes()


@pytest.mark.uniforge(targets=[ARM])
def test_armv7_httpd_from_a_uefi_disk_serves_curl(packaged, uniforge_boot, target):
    """Under UEFI the stub hands over a device tree the NIC's driver finds its virtio-mmio device in."""
    import uniforge
    folder = packaged("httpd", target, "raw", "qcow2")
    guest = uniforge_boot(uniforge.Image.open(folder / "build" / f"httpd.{target}.raw"), ["80"], publish=[80],
                          firmware="uefi", timeout=2 * TIMEOUT)
    guest.expect(r"httpd: listening on port 80", TIMEOUT)
    guest.expect(ADDRESS_LINE, TIMEOUT, since_boot=True)
    host, port = guest.port(80)
    page = subprocess.run(["curl", "-sf", "--max-time", "120", f"http://{host}:{port}/"], capture_output=True,
                          timeout=180)
    assert page.returncode == 0 and page.stdout == (folder / "htdocs" / "index.html").read_bytes()


@pytest.mark.parametrize("uniforge_target, first, second", [
    (X86, ("raw", "bios", "q35"), ("qcow2", "uefi", "pc")),
    (X86, ("iso", "bios", "pc"), ("iso", "bios", "q35")),
    (ARM, ("raw", "uefi", "virt,highmem=off"), ("qcow2", "uboot", "virt,highmem=off")),
], scope="module")
def test_kvstore_keeps_its_data_disk_apart_from_the_boot_disk(packaged, tmp_path, target, first, second):
    """The app's disk 0 is its data disk, not the boot disk (nor the ISO's CD drive): what one boot sets, the next
    (from another format, firmware and machine) gets, and the host reads it back from the data disk."""
    folder = packaged("kvstore", target, "raw", "qcow2", *(["iso"] if target == X86 else []))
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


@pytest.mark.parametrize("uniforge_target, fmt, firmware", [(X86, "qcow2", "bios"), (X86, "raw", "uefi"),
                                                              (ARM, "raw", "uboot"), (ARM, "qcow2", "uefi")],
                         scope="module")
def test_an_app_booted_from_a_disk_reads_its_stdin(packaged, target, fmt, firmware):
    """SeaBIOS, OVMF, GRUB and U-Boot read the serial line too (a key would stop a countdown): the runner holds
    the host's stdin until the app asks for it (uf_exit_want_input), then every byte arrives, and its end."""
    folder = packaged("stdio", target, "raw", "qcow2")
    data = bytes(range(256)) * 64 + b"\xff\xff\x04 escapes in the data \xff\x01\n"
    proc = uniforge("run", f"build/stdio.{target}.{fmt}", "--firmware", firmware, "--timeout", str(TIMEOUT), "--",
                    "cat", cwd=folder, input=data, text=False, timeout=TIMEOUT + 60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith(data), proc.stdout[-300:]    # after what the firmware and boot loader printed


@pytest.mark.uniforge(targets=[ARM])
def test_armv7_disk_boots_through_u_boot(packaged, target):
    folder = packaged("hello", target, "raw", "qcow2", "vmdk", "vhdx")
    proc = run_disk(folder, f"hello.{target}.vhdx", "a b", "exit=204")
    assert proc.returncode == 204, proc.stdout + proc.stderr
    console = proc.stdout.replace("\r\n", "\n")
    assert "Starting kernel ..." in console                     # U-Boot's bootz, not QEMU's -kernel
    assert "Hello, world!\nargv[1] = a b\nargv[2] = exit=204\n" in console


@pytest.mark.uniforge(targets=[ARM])
@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_armv7_disk_boots_through_uefi(packaged, target, fmt):
    """AAVMF (Debian's qemu-efi-arm) starts EFI/BOOT/BOOTARM.EFI from the same disk U-Boot boots: our EFI stub,
    which hands the zImage the device tree and the OEM string's command line, word for word."""
    folder = packaged("hello", target, "raw", "qcow2", "vmdk", "vhdx")
    args = ["a b", 'quote"d', "comma,s", "it's", "exit=201"]
    proc = run_disk(folder, f"hello.{target}.{fmt}", *args, flags=["--firmware", "uefi"])
    assert proc.returncode == 201, proc.stdout + proc.stderr
    console = proc.stdout.replace("\r\n", "\n")
    assert "BdsDxe: starting Boot" in console and "Starting kernel ..." not in console      # UEFI, not U-Boot
    assert "Hello, world!\n" + "".join(f"argv[{i}] = {a}\n" for i, a in enumerate(args, 1)) in console


@pytest.mark.parametrize("uniforge_target, formats", [
    (X86, (*EVERY_FORMAT, "libvirt", "oci", "openstack", "kubevirt")),
    (ARM, ("raw", "qcow2", "vmdk", "vhdx", "oci")),
], scope="module")
def test_every_artifact_is_the_same_from_two_builds_in_two_folders(tmp_path, target, formats):
    digests = []
    for where in ("one", "two"):
        folder = copy_example("hello", tmp_path / where)
        report = built_json(uniforge("build", "-t", target, "--json", *[f"-f{f}" for f in formats], cwd=folder,
                                     check=True))
        found = {a["format"]: a for a in packages(report)}
        for a in packages(report):
            path = Path(a["path"])
            assert path.parent == folder / "build"
            if path.is_dir():               # an OCI layout: its index.json names every blob by digest
                assert a["sha256"] == hashlib.sha256((path / "index.json").read_bytes()).hexdigest()
            else:
                assert a["bytes"] == path.stat().st_size
                assert a["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        digests.append({Path(a["path"]).name: a["sha256"] for a in packages(report)})
        for layout in (folder / "build").glob("*.oci"):           # every blob too
            digests[-1].update({f"{p.relative_to(folder)}": hashlib.sha256(p.read_bytes()).hexdigest()
                                for p in layout.rglob("*") if p.is_file()})
    assert digests[0] == digests[1] and set(found) == set(formats)


def test_the_bootable_disk_and_the_iso_stay_small(packaged, target):
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt") / "build"
    assert (folder / f"hello.{target}.raw").stat().st_size <= 2 << 20
    assert (folder / f"hello.{target}.iso").stat().st_size <= 4 << 20


@pytest.mark.parametrize("target, flags, message", [
    (X86, ["-f", "qcow3"], "unknown artifact format 'qcow3'"),
    (ARM, ["-f", "iso"], "qemu-armv7 makes no ISO"),
    ("qemu-x86_64", ["-f", "raw"], "qemu-x86_64 makes no disk images"),
    (ARM, ["-f", "kubevirt"], "qemu-armv7 makes no KubeVirt VirtualMachine"),
])
def test_a_format_that_cannot_be_made_is_one_line_before_the_build(tmp_path, target, flags, message):
    folder = copy_example("hello", tmp_path)
    proc = uniforge("build", "-t", target, *flags, cwd=folder)
    assert proc.returncode == ExitCode.IMAGE and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2 and "Traceback" not in proc.stderr      # error + hint
    assert not (folder / "build").exists()


def test_a_full_output_folder_leaves_nothing_behind(tmp_path, packaged, target):
    """A folder with room for the image but not for its disk: one line, and no artifact or leftover."""
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.skip("mounting a small tmpfs needs root")
    built = packaged("hello", target, *EVERY_FORMAT, "libvirt") / "build"
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(small)], check=True)
    try:
        image = small / f"hello.{target}"
        shutil.copy(built / image.name, image)
        before = sorted(p.name for p in small.iterdir())
        proc = uniforge("package", str(image), "-f", "qcow2", "-f", "iso")
        assert proc.returncode == ExitCode.IMAGE and "Traceback" not in proc.stderr, proc.stderr
        assert "No space left on device" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in small.iterdir()) == before
    finally:
        subprocess.run(["umount", str(small)], check=True)


# --- libvirt: a real libvirtd (qemu:///system, TCG domains) ------------------------------------------------------

@pytest.fixture(scope="module")
def libvirtd():
    """libvirtd and virtlogd, started here if they are not running, and left running: like the system services
    they are, they outlive this session, since another test session (a concurrent run, another xdist worker) may
    have found them running and still be using them. Counting their users instead would need a count shared by
    every session that a killed session could not leave wrong."""
    for daemon in ("libvirtd", "virtlogd", "virsh"):
        if not (shutil.which(daemon) or Path("/usr/sbin", daemon).exists()):
            pytest.skip(f"{daemon} is not installed (scripts/install-host-deps installs libvirt-daemon-system)")
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.skip("qemu:///system needs root")
    for daemon in ("virtlogd", "libvirtd"):
        if subprocess.run(["pgrep", "-x", daemon], capture_output=True).returncode != 0:
            # -d: a daemon of its own; a second one started at the same moment by another session finds the
            # first's pid file locked and exits.
            subprocess.run([shutil.which(daemon) or f"/usr/sbin/{daemon}", "-d"], check=False)
    for _ in range(100):
        if subprocess.run(["virsh", "-c", "qemu:///system", "version"], capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("libvirtd does not answer at qemu:///system")


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 or not check, f"virsh {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def test_libvirt_defines_and_starts_the_domain_the_build_wrote(packaged, libvirtd, tmp_path, target):
    """The artifact itself: the image copied where its XML says, `virsh define` + `virsh start`; the console log
    shows the app and the domain stops with it. The domain's name, its kernel's and its log's file names get this
    run's pid and a random part, as a user's second copy of a domain would, so that concurrent sessions never
    share them; nothing else of the XML changes."""
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt") / "build"
    xml = (folder / f"hello.{target}.libvirt.xml").read_text()
    unique = f"-{os.getpid()}-{os.urandom(4).hex()}"
    domain = re.search(r"<name>(.*)</name>", xml)[1]
    log = Path(re.search(r"<log file='([^']*)'", xml)[1])
    kernel = Path(re.search(r"<kernel>(.*)</kernel>", xml)[1])
    copy = {domain: domain + unique, str(log): str(log.with_name(log.name + unique)),
            str(kernel): str(kernel.with_name(kernel.name + unique))}
    for old, new in copy.items():
        assert xml.count(f">{old}<") + xml.count(f"'{old}'") == 1, old
        xml = xml.replace(f">{old}<", f">{new}<").replace(f"'{old}'", f"'{new}'")
    domain, log, kernel = copy[domain], Path(copy[str(log)]), Path(copy[str(kernel)])
    (tmp_path / "domain.xml").write_text(xml)
    shutil.copy(folder / f"hello.{target}", kernel)
    try:
        virsh("define", str(tmp_path / "domain.xml"))
        virsh("start", domain)
        deadline = time.monotonic() + TIMEOUT
        while virsh("domstate", domain).stdout.strip() != "shut off":
            assert time.monotonic() < deadline, f"the domain is still {virsh('domstate', domain).stdout}"
            time.sleep(0.5)
        assert "Hello, world!" in log.read_text()
    finally:
        virsh("destroy", domain, check=False)
        virsh("undefine", domain, check=False)
        kernel.unlink(missing_ok=True)
        log.unlink(missing_ok=True)


@pytest.mark.parametrize("booted, status", [(f"hello.{X86}.qcow2", 3), (f"hello.{X86}", 200)])
def test_run_via_libvirt_boots_with_arguments_and_returns_the_status(packaged, libvirtd, uniforge_boot, booted,
                                                                     status, target):
    """A disk and the image as the domain's kernel: the app's arguments go in, its whole exit status comes back
    (200: more than the exit device's 7 bits) through the status channel the domain writes to a file; the domain
    (named after the process that ran it) is undefined again."""
    import uniforge
    image = uniforge.Image.open(packaged("hello", target, *EVERY_FORMAT, "libvirt") / "build" / booted)
    result = uniforge_boot(image, ["a b", f"exit={status}"], via="libvirt", timeout=TIMEOUT).wait()
    assert result.status == status, result.message
    assert "Hello, world!\nargv[1] = a b\n" in result.console
    ours = [d for d in virsh("list", "--all", "--name").stdout.split() if d.startswith(f"uniforge-{os.getpid()}-")]
    assert not ours, f"domains left defined: {ours}"


# --- OCI: a real registry on localhost (Debian's docker-registry, the CNCF distribution registry) ----------------

@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registry on 127.0.0.1 (plain HTTP, as docker allows for this host), stopped by its pid afterwards."""
    for tool, package in (("docker-registry", "docker-registry"), ("skopeo", "skopeo"), ("umoci", "umoci")):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (scripts/install-host-deps installs {package})")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    (root / "config.yml").write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                                     f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    server = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/v2/"], capture_output=True).returncode:
            assert server.poll() is None and time.monotonic() < deadline, "docker-registry did not start"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


def skopeo(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"skopeo {' '.join(args)}: {proc.stderr}"
    return proc


def test_oci_images_go_to_a_registry_and_the_pulled_disk_boots(tmp_path, registry, target):
    folder = copy_example("hello", tmp_path)
    report = built_json(uniforge("build", "-t", target, "-f", "oci", "--push", f"{registry}/hello:1", "--json",
                                 cwd=folder, check=True))
    layout = Path(next(a["path"] for a in packages(report) if a["format"] == "oci"))
    index = json.loads((layout / "index.json").read_text())
    digests = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"] for m in index["manifests"]}
    # The registry serves the very manifests the layout holds: the digests are ours.
    for tag, ref in ((target, "1"), (f"{target}-kernel", "1-kernel")):
        pushed = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry}/hello:{ref}").stdout)
        assert pushed["Digest"] == digests[tag] and pushed["Architecture"] == "amd64"
    # Pulled back, checked by umoci, its disk owned by KubeVirt's qemu user, and booted.
    pulled = tmp_path / "pulled"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry}/hello:1", f"oci:{pulled}:1")
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{pulled}:1", str(bundle)], check=True, capture_output=True)
    disk = bundle / "rootfs" / "disk" / f"hello.{target}.qcow2"
    assert (disk.stat().st_uid, disk.stat().st_gid, disk.stat().st_mode & 0o777) == (107, 107, 0o440)
    boot = tmp_path / "boot" / "build"
    boot.mkdir(parents=True)
    shutil.copy(folder / "build" / f"hello.{target}", boot)           # the manifest `uniforge run` reads
    shutil.copy(disk, boot / disk.name)
    proc = run_disk(boot.parent, disk.name, "exit=5")
    assert proc.returncode == 5 and "Hello, world!" in proc.stdout, proc.stdout + proc.stderr
    kernel = bundle.parent / "kernel-bundle"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry}/hello:1-kernel", f"oci:{pulled}:k")
    subprocess.run(["umoci", "unpack", "--image", f"{pulled}:k", str(kernel)], check=True, capture_output=True)
    assert (kernel / "rootfs" / "boot" / f"hello.{target}").read_bytes() == (folder / "build" / f"hello.{target}").read_bytes()


def test_a_registry_that_refuses_is_one_line_and_leaves_nothing(tmp_path, target):
    folder = copy_example("hello", tmp_path)
    uniforge("build", "-t", target, cwd=folder, check=True)
    before = sorted(p.name for p in (folder / "build").iterdir())
    closed = f"127.0.0.1:{free_port()}"                              # nothing listens there
    proc = uniforge("package", f"build/hello.{target}", "-f", "oci", "--push", f"{closed}/hello:1", cwd=folder)
    assert proc.returncode == ExitCode.IMAGE and f"pushing {closed}/hello:1" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (folder / "build").iterdir()) == before


# --- Documents, checked against the consumers' own schemas ---------------------------------------------------------

def fetch(command: list[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"could not fetch {what} from its package registry: {proc.stderr.strip()[-300:]}")


def test_openstack_document_follows_glances_schemas(packaged, tmp_path, target):
    """Glance's image schema (python-glanceclient's copy of what Glance serves) for the core properties, and the
    compute-libvirt-image metadefs (Glance's own) for the ones Nova reads, both from PyPI."""
    import zipfile

    import jsonschema
    fetch([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp_path), "glance",
           "python-glanceclient"], "glance and python-glanceclient")
    client = zipfile.ZipFile(next(tmp_path.glob("python_glanceclient-*.whl")))
    schema_module: dict = {}           # plain assignments only: the schema, and the URL its texts name
    exec(compile(client.read("glanceclient/v2/image_schema.py"), "image_schema.py", "exec"), schema_module)
    base = schema_module["_BASE_SCHEMA"]
    glance = zipfile.ZipFile(next(tmp_path.glob("glance-*.whl")))
    metadefs = json.loads(next(glance.read(n) for n in glance.namelist()
                               if n.endswith("metadefs/compute-libvirt-image.json")))
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt")
    made = built_json(uniforge("package", f"build/hello.{target}", "-f", "qcow2", "-f", "iso", "-f", "openstack",
                               "--json", cwd=folder, check=True), "package")
    assert [a["format"] for a in made["artifacts"]] == ["qcow2", "iso", "openstack", "openstack"]
    for fmt in ("qcow2", "iso"):
        document = json.loads((folder / "build" / f"hello.{target}.{fmt}.openstack.json").read_text())
        jsonschema.validate(document, base)
        for key in ("hw_firmware_type", "hw_machine_type", "hw_disk_bus", "os_command_line"):
            jsonschema.validate(document[key], metadefs["properties"][key])
        assert document["disk_format"] == fmt and document["min_ram"] == 64
    with pytest.raises(jsonschema.ValidationError):          # the check can fail: a firmware Nova does not know
        jsonschema.validate("efi", metadefs["properties"]["hw_firmware_type"])


def test_kubevirt_document_follows_kubevirts_api(packaged, tmp_path, target):
    """The VirtualMachine type-checked against KubeVirt's API types (generated from its OpenAPI schema; npm's
    @kubevirt-ui-ext/kubevirt-api) with TypeScript, which rejects unknown and misspelled fields."""
    if not shutil.which("npm"):
        pytest.skip("npm is not installed")
    fetch(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(tmp_path), "typescript@5",
           "@kubevirt-ui-ext/kubevirt-api@1.7.0"], "typescript and KubeVirt's API types")
    folder = packaged("hello", target, *EVERY_FORMAT, "libvirt")
    uniforge("package", f"build/hello.{target}", "-f", "kubevirt", cwd=folder, check=True)
    vm = json.loads((folder / "build" / f"hello.{target}.kubevirt.yaml").read_text())
    assert vm["spec"]["template"]["spec"]["volumes"][0]["containerDisk"]["image"] == f"localhost/hello:{target}"

    def check(document: dict) -> subprocess.CompletedProcess:
        source = tmp_path / "vm.ts"
        source.write_text("import type { V1VirtualMachine } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';\n"
                          f"export const vm: V1VirtualMachine = {json.dumps(document, indent=1)};\n")
        return subprocess.run([str(tmp_path / "node_modules" / ".bin" / "tsc"), "--noEmit", "--strict", "--module",
                               "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", str(source)],
                              capture_output=True, text=True, timeout=300)
    proc = check(vm)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["bootOrdr"] = 1      # the check can fail
    assert "bootOrdr" in check(vm).stdout
