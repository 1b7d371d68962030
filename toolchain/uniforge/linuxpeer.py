"""The peer `uniforge bench --peer linux` measures against: a minimal Linux microVM made from Debian packages, booted
with the same QEMU flags as the apps (x86_64 targets).

The kernel is Debian's `linux-image-amd64`, fetched with `apt-get download` into the uniforge cache (never installed
into /boot), booted uncompressed: the vmlinux XZ-packed in the bzImage carries a PVH note, so QEMU loads it as it
loads a Uniforge image and skips the ~2.5 s decompression a bzImage costs under TCG. The initramfs (an uncompressed
newc cpio, written here) holds `busybox-static` and an /init that prints one line and powers off; `poweroff -f` ends
QEMU on microvm only with ACPI on, its default.
"""

from __future__ import annotations

import lzma
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .boottime import Boot
from .errors import BenchError
from .hosttsc import host_tsc_hz
from .run import build_qemu_command

KERNEL_PACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"
LINE = b"uniforge-peer: init reached"
CMDLINE = "console=ttyS0 quiet panic=-1"    # panic: reboot at once, which -no-reboot turns into QEMU's exit
MEMORY_KIB = 512 * 1024
XZ_MAGIC = b"\xfd7zXZ\x00"
INIT = b"#!/bin/busybox sh\n/bin/busybox echo '" + LINE + b"'\n/bin/busybox poweroff -f\n"


@dataclass(frozen=True)
class Peer:
    vmlinux: Path
    initramfs: Path
    bzimage_bytes: int
    version: str


def _apt(*args: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BenchError(f"the Linux peer needs {args[0]} (a Debian or Ubuntu host)") from None
    if done.returncode:
        raise BenchError(f"{' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}",
                         hint="`apt-get update` may be needed")
    return done.stdout


def _fields(package: str) -> dict[str, str]:
    """The candidate version's control fields, from apt's cache (no download)."""
    fields = {}
    for line in _apt("apt-cache", "show", "--no-all-versions", package).splitlines():
        if ":" in line and not line.startswith(" "):
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def prepare() -> Peer:
    """The peer's kernel and initramfs, made on first use and cached by the packages' versions."""
    kernel_package = _fields(KERNEL_PACKAGE)["Depends"].split()[0]     # the metapackage names the real one
    versions = f"{kernel_package} {_fields(kernel_package)['Version']} {_fields(BUSYBOX_PACKAGE)['Version']}"

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _apt("apt-get", "download", kernel_package, BUSYBOX_PACKAGE, cwd=Path(tmp))
            debs = {p.name.split("_")[0]: p for p in Path(tmp).glob("*.deb")}
            bzimage = _member(debs[kernel_package], lambda name: name.startswith("./boot/vmlinuz-"))
            busybox = _member(debs[BUSYBOX_PACKAGE], lambda name: name == "./bin/busybox")
        (out / "bzImage.size").write_text(str(len(bzimage)))
        (out / "vmlinux").write_bytes(vmlinux_from_bzimage(bzimage))
        (out / "initramfs.cpio").write_bytes(initramfs(busybox))

    folder, _ = cache.entry("linux-peer", cache.digest(versions, INIT), make)
    return Peer(folder / "vmlinux", folder / "initramfs.cpio", int((folder / "bzImage.size").read_text()),
                versions)


def _member(deb: Path, wanted) -> bytes:
    """One file of a .deb's file system tree (what `dpkg -x` would unpack), read without unpacking the rest."""
    # Its stderr is dropped: it complains of a broken pipe when the wanted file is found before the end.
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if member.isfile() and wanted(member.name):
                    return tar.extractfile(member).read()
    finally:
        proc.stdout.close()
        proc.wait()
    raise BenchError(f"{deb.name} does not contain the expected file")


def vmlinux_from_bzimage(bzimage: bytes) -> bytes:
    """The ELF kernel inside a bzImage compressed with XZ (Debian's), from the XZ stream's signature on."""
    at = bzimage.find(XZ_MAGIC)
    if at < 0:
        raise BenchError("the bzImage has no XZ stream: not an XZ-compressed kernel")
    vmlinux = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(bzimage[at:])
    if not vmlinux.startswith(b"\x7fELF"):
        raise BenchError("the bzImage's XZ stream is not an ELF kernel")
    return vmlinux


def initramfs(busybox: bytes) -> bytes:
    """A newc cpio: /dev/console (the kernel opens it for init's stdio), /bin/busybox and /init."""
    entries = [("dev", 0o040755, b"", 0), ("dev/console", 0o020600, b"", (5, 1)), ("bin", 0o040755, b"", 0),
               ("bin/busybox", 0o100755, busybox, 0), ("init", 0o100755, INIT, 0)]
    out = bytearray()
    for ino, (name, mode, data, dev) in enumerate(entries, 1):
        _cpio_entry(out, ino, name, mode, data, dev or (0, 0))
    _cpio_entry(out, 0, "TRAILER!!!", 0, b"", (0, 0))
    return bytes(out)


def _cpio_entry(out: bytearray, ino: int, name: str, mode: int, data: bytes, rdev: tuple[int, int]) -> None:
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
    out += b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
    out += bytes(-len(out) % 4) + data
    out += bytes(-len(out) % 4)


def peer_subject(target):
    """The peer as a bench Subject on an x86_64 target."""
    from .bench import Subject, section_sizes
    peer = prepare()

    # Under TCG on a loaded host, Linux's PIT calibration of the TSC fails, and microvm has no HPET or ACPI PM
    # timer to fall back on: the kernel then hangs before its first timer tick. TCG's TSC is the host's, so give
    # its rate.
    host_hz = host_tsc_hz() if target.qemu["accel"] == "tcg" else None
    cmdline = CMDLINE + (f" tsc_early_khz={host_hz // 1000}" if host_hz else "")

    def command(kib: int) -> list[str]:
        return build_qemu_command(target, peer.vmlinux, cmdline=cmdline, memory=f"{kib}K",
                                  extra_qemu_args=["-initrd", str(peer.initramfs)])

    def succeeded(boot: Boot) -> bool:      # poweroff: QEMU exits with 0 (without a status from the guest)
        return boot.returncode == 0 and LINE.decode() in boot.console

    # Its size is what is shipped (bzImage and initramfs), though the vmlinux inside the bzImage is what boots.
    initramfs_bytes = peer.initramfs.stat().st_size
    return Subject(name="linux", kind="peer", target=target, command=command, memory_kib=MEMORY_KIB, marker=LINE,
                   succeeded=succeeded, timeout=60.0,
                   size={"file": peer.bzimage_bytes + initramfs_bytes, **section_sizes(peer.vmlinux),
                         "bzimage": peer.bzimage_bytes, "initramfs": initramfs_bytes,
                         "vmlinux": peer.vmlinux.stat().st_size, "packages": peer.version})
