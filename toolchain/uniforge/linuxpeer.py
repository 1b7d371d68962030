"""The peer `uniforge bench --peer linux` measures against: a minimal Linux microVM made from Debian packages, booted
with the same QEMU flags as the apps (x86_64 targets).

The kernel is Debian's `linux-image-amd64`, fetched with `apt-get download` into the uniforge cache (never installed
into /boot), booted uncompressed: the vmlinux XZ-packed in the bzImage carries a PVH note, so QEMU loads it as it
loads a Uniforge image and skips the ~2.5 s decompression a bzImage costs under TCG. The initramfs (an uncompressed
newc cpio, written here) holds `busybox-static` and an /init that prints one line and powers off; `poweroff -f` ends
QEMU on microvm only with ACPI on, its default.

bench/net_throughput.py's peer is the same kernel as a web server (`prepare(HttpServer(...))`): its initramfs also
holds the virtio-net modules from the same linux-image package (Debian builds virtio as modules) and a page, and its
/init loads the modules, gives the NIC a static address and runs the server: Debian's nginx-light (the `nginx`
binary and the `libnginx-mod-http-echo` module it installs, whose echo_request_body answers POST /echo as httpd
does), with the shared libraries it needs (followed through DT_NEEDED from Debian's library packages); or busybox
httpd, the second row.
"""

from __future__ import annotations

import lzma
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from . import cache
from .boottime import Boot
from .devices import NO_NETWORK, Network
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
# What virtio-net needs, in load order (each module's `depends=`), under the package's lib/modules/VERSION/kernel/.
# Both virtio transports, so that one initramfs serves microvm (virtio-mmio) and q35 (virtio-pci).
NET_MODULES = ("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_mmio.ko",
               "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
               "drivers/virtio/virtio_pci.ko", "net/core/failover.ko", "drivers/net/net_failover.ko",
               "drivers/net/virtio_net.ko")
HTTP_LINE = b"uniforge-peer: httpd listening"
# nginx-light's contents (Debian 12: the nginx binary and the echo module) and the packages of the libraries they
# load; which of those files go into the initramfs is decided by the binaries' DT_NEEDED entries.
NGINX_PACKAGES = ("nginx", "libnginx-mod-http-echo", "libc6", "libcrypt1", "libpcre2-8-0", "libssl3", "zlib1g")
NGINX_BINARY = "./usr/sbin/nginx"
ECHO_MODULE = "./usr/lib/nginx/modules/ngx_http_echo_module.so"
LIBRARY_DIRS = ("./lib/x86_64-linux-gnu/", "./usr/lib/x86_64-linux-gnu/", "./lib64/")
LOADER = "ld-linux-x86-64.so.2"
NGINX_CONF = """user root root;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
load_module /modules/ngx_http_echo_module.so;
events { worker_connections 4096; }
http {
    access_log off;
    default_type text/html;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_max_body_size 0;
    client_body_buffer_size 64m;
    client_body_temp_path /tmp/body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {
        listen 80 backlog=1024;
        root /www;
        location = /echo { echo_read_request_body; echo_request_body; }
    }
}
"""


@dataclass(frozen=True)
class HttpServer:
    """The peer as a web server on port 80: its NIC's static address (e.g. "10.0.0.2/24"), the page at /, and
    which server: "nginx" (Debian's nginx-light) or "busybox" (busybox httpd)."""
    address: str
    page: bytes
    server: str = "nginx"


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


def prepare(http: HttpServer | None = None) -> Peer:
    """The peer's kernel and initramfs, made on first use and cached by the packages' versions; with `http`, the
    web server's initramfs instead of the one that powers off."""
    kernel_package = _fields(KERNEL_PACKAGE)["Depends"].split()[0]     # the metapackage names the real one
    versions = f"{kernel_package} {_fields(kernel_package)['Version']} {_fields(BUSYBOX_PACKAGE)['Version']}"

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _apt("apt-get", "download", kernel_package, BUSYBOX_PACKAGE, cwd=Path(tmp))
            debs = {p.name.split("_")[0]: p for p in Path(tmp).glob("*.deb")}
            kernel_files = _members(debs[kernel_package], lambda name: name.startswith("./boot/vmlinuz-") or any(
                name.endswith("/kernel/" + module) for module in NET_MODULES))
            busybox = _members(debs[BUSYBOX_PACKAGE], lambda name: name == "./bin/busybox")["./bin/busybox"]
        bzimage = next(data for name, data in kernel_files.items() if name.startswith("./boot/"))
        (out / "bzImage.size").write_text(str(len(bzimage)))
        (out / "vmlinux").write_bytes(vmlinux_from_bzimage(bzimage))
        (out / "initramfs.cpio").write_bytes(initramfs(busybox))
        # Kept for the web server's initramfs, so that it needs no second download.
        (out / "busybox").write_bytes(busybox)
        (out / "modules").mkdir()
        for module in NET_MODULES:
            found = [data for name, data in kernel_files.items() if name.endswith("/kernel/" + module)]
            if not found:
                raise BenchError(f"{kernel_package} has no {module}: the Linux peer cannot have a NIC")
            (out / "modules" / Path(module).name).write_bytes(found[0])

    folder, _ = cache.entry("linux-peer", cache.digest(versions, INIT, *NET_MODULES), make)
    peer = Peer(folder / "vmlinux", folder / "initramfs.cpio", int((folder / "bzImage.size").read_text()),
                versions)
    if http is None:
        return peer
    files = [(f"modules/{Path(m).name}", (folder / "modules" / Path(m).name).read_bytes()) for m in NET_MODULES]
    files.append(("www/index.html", http.page))
    if http.server == "nginx":
        nginx_folder, nginx_versions = _nginx_files()
        versions += " " + nginx_versions
        init = nginx_init(http.address)
        files += [(str(f.relative_to(nginx_folder)), f.read_bytes(), 0o100755)
                  for f in sorted(nginx_folder.rglob("*")) if f.is_file()]
        files += [("etc/nginx.conf", NGINX_CONF.encode()), ("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n"),
                  ("etc/group", b"root:x:0:\n"), ("tmp/.keep", b""), ("run/.keep", b""), ("proc/.keep", b""),
                  ("var/log/nginx/.keep", b"")]
    else:
        init = http_init(http.address)

    def make_http(out: Path) -> None:
        (out / "initramfs.cpio").write_bytes(initramfs((folder / "busybox").read_bytes(), init, files))

    http_folder, _ = cache.entry("linux-peer-http", cache.digest(versions, init, http.page, NGINX_CONF),
                                 make_http)
    return Peer(peer.vmlinux, http_folder / "initramfs.cpio", peer.bzimage_bytes, versions)


def _nginx_files() -> tuple[Path, str]:
    """nginx, its echo module and the shared libraries they need (with the dynamic loader), as the tree the
    initramfs holds (usr/sbin/nginx, modules/, lib64/, lib/x86_64-linux-gnu/); and the packages' versions."""
    versions = " ".join(f"{name} {_fields(name)['Version']}" for name in NGINX_PACKAGES)

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _apt("apt-get", "download", *NGINX_PACKAGES, cwd=Path(tmp))
            root = Path(tmp) / "root"           # unpacked (not installed): libraries are found by their sonames,
            for deb in Path(tmp).glob("*.deb"):     # which are often symbolic links
                _apt("dpkg-deb", "-x", str(deb), str(root))
            binary, module = (root / NGINX_BINARY).read_bytes(), (root / ECHO_MODULE).read_bytes()
            libraries = {f.name: f.read_bytes() for folder in LIBRARY_DIRS if (root / folder).is_dir()
                         for f in (root / folder).iterdir() if ".so" in f.name and f.resolve().is_file()}
        wanted, todo = {}, [binary, module]
        while todo:
            for needed in _needed(todo.pop()):
                if needed not in wanted:
                    if needed not in libraries:
                        raise BenchError(f"the nginx peer needs {needed}, which none of {NGINX_PACKAGES} has")
                    wanted[needed] = libraries[needed]
                    todo.append(libraries[needed])
        wanted.setdefault(LOADER, libraries[LOADER])
        (out / "usr/sbin").mkdir(parents=True)
        (out / "usr/sbin/nginx").write_bytes(binary)
        (out / "modules").mkdir()
        (out / "modules" / Path(ECHO_MODULE).name).write_bytes(module)
        (out / "lib/x86_64-linux-gnu").mkdir(parents=True)
        (out / "lib64").mkdir()
        for name, data in wanted.items():
            (out / ("lib64" if name == LOADER else "lib/x86_64-linux-gnu") / name).write_bytes(data)

    folder, _ = cache.entry("linux-peer-nginx", cache.digest(versions, *NGINX_PACKAGES), make)
    return folder, versions


def _needed(elf: bytes) -> list[str]:
    """An ELF file's DT_NEEDED libraries."""
    import io
    dynamic = ELFFile(io.BytesIO(elf)).get_section_by_name(".dynamic")
    return [tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED"] if dynamic else []


def nginx_init(address: str) -> bytes:
    """As http_init, with nginx (its error log on the console)."""
    modules = " ".join(Path(m).stem for m in NET_MODULES)
    return (f"#!/bin/busybox sh\nset -e\nb=/bin/busybox\n"
            f"$b mount -t devtmpfs dev /dev\n$b mount -t proc proc /proc\n"
            f"for m in {modules}; do $b insmod /modules/$m.ko; done\n"
            f"$b ip link set lo up\n$b ip addr add {address} dev eth0\n$b ip link set eth0 up\n"
            f"/usr/sbin/nginx -e stderr -c /etc/nginx.conf &\n"
            f"until $b wget -q -O /dev/null http://127.0.0.1/; do $b kill -0 $!; $b usleep 10000; done\n"
            f"$b echo '{HTTP_LINE.decode()}'\nwait\n").encode()


def http_init(address: str) -> bytes:
    """An /init that loads the NIC's modules, sets its address, serves /www on port 80 and prints HTTP_LINE once
    the page can be fetched. If anything fails or httpd ends, init exits: the kernel panics and QEMU ends."""
    modules = " ".join(Path(m).stem for m in NET_MODULES)
    return (f"#!/bin/busybox sh\nset -e\nb=/bin/busybox\n"
            f"$b mount -t devtmpfs dev /dev\n"     # /dev/null, for the background job's stdin and wget
            f"for m in {modules}; do $b insmod /modules/$m.ko; done\n"
            f"$b ip link set lo up\n$b ip addr add {address} dev eth0\n$b ip link set eth0 up\n"
            f"$b httpd -f -h /www -p 80 &\n"
            f"until $b wget -q -O /dev/null http://127.0.0.1/; do $b kill -0 $!; $b usleep 10000; done\n"
            f"$b echo '{HTTP_LINE.decode()}'\nwait\n").encode()


def _members(deb: Path, wanted) -> dict[str, bytes]:
    """The files of a .deb's file system tree whose names `wanted` accepts, read without unpacking the rest."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            found = {member.name: tar.extractfile(member).read() for member in tar
                     if member.isfile() and wanted(member.name)}
    finally:
        proc.stdout.close()
        proc.wait()
    if not found:
        raise BenchError(f"{deb.name} does not contain the expected file")
    return found


def vmlinux_from_bzimage(bzimage: bytes) -> bytes:
    """The ELF kernel inside a bzImage compressed with XZ (Debian's), from the XZ stream's signature on."""
    at = bzimage.find(XZ_MAGIC)
    if at < 0:
        raise BenchError("the bzImage has no XZ stream: not an XZ-compressed kernel")
    vmlinux = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(bzimage[at:])
    if not vmlinux.startswith(b"\x7fELF"):
        raise BenchError("the bzImage's XZ stream is not an ELF kernel")
    return vmlinux


def initramfs(busybox: bytes, init: bytes = INIT, files: Sequence[tuple] = ()) -> bytes:
    """A newc cpio: /dev/console (the kernel opens it for init's stdio), /bin/busybox, /init and `files` (path,
    contents[, mode]: 0o100644 unless given), their folders made as needed."""
    entries = [("dev", 0o040755, b"", 0), ("dev/console", 0o020600, b"", (5, 1)), ("bin", 0o040755, b"", 0),
               ("bin/busybox", 0o100755, busybox, 0), ("init", 0o100755, init, 0)]
    for path, data, *mode in files:
        for folder in map(str, reversed(Path(path).parents[:-1])):
            if folder not in [name for name, *_ in entries]:
                entries.append((folder, 0o040755, b"", 0))
        entries.append((path, mode[0] if mode else 0o100644, data, 0))
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


def qemu_command(target, peer: Peer, *, memory_kib: int = MEMORY_KIB, network: Network = NO_NETWORK) -> list[str]:
    """The QEMU command that boots the peer on an x86_64 target, as the apps are booted (same flags and devices)."""
    # Under TCG on a loaded host, Linux's PIT calibration of the TSC fails, and microvm has no HPET or ACPI PM
    # timer to fall back on: the kernel then hangs before its first timer tick. TCG's TSC is the host's, so give
    # its rate.
    host_hz = host_tsc_hz() if target.qemu["accel"] == "tcg" else None
    cmdline = CMDLINE + (f" tsc_early_khz={host_hz // 1000}" if host_hz else "")
    return build_qemu_command(target, peer.vmlinux, cmdline=cmdline, memory=f"{memory_kib}K", network=network,
                              extra_qemu_args=["-initrd", str(peer.initramfs)])


def peer_subject(target):
    """The peer as a bench Subject on an x86_64 target."""
    from .bench import Subject, section_sizes
    peer = prepare()

    def command(kib: int) -> list[str]:
        return qemu_command(target, peer, memory_kib=kib)

    def succeeded(boot: Boot) -> bool:      # poweroff: QEMU exits with 0 (without a status from the guest)
        return boot.returncode == 0 and LINE.decode() in boot.console

    # Its size is what is shipped (bzImage and initramfs), though the vmlinux inside the bzImage is what boots.
    initramfs_bytes = peer.initramfs.stat().st_size
    return Subject(name="linux", kind="peer", target=target, command=command, memory_kib=MEMORY_KIB, marker=LINE,
                   succeeded=succeeded, timeout=60.0,
                   size={"file": peer.bzimage_bytes + initramfs_bytes, **section_sizes(peer.vmlinux),
                         "bzimage": peer.bzimage_bytes, "initramfs": initramfs_bytes,
                         "vmlinux": peer.vmlinux.stat().st_size, "packages": peer.version})
