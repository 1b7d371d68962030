"""The peer `uniforge bench --peer linux` measures against: a minimal Linux VM made from Debian packages of the
target's arch, booted with the same QEMU flags as the apps (qemu-x86_64, qemu-x86_64-q35, kvm-x86_64, qemu-armv7).

What differs per arch is data (ARCHES, one LinuxArch per Target.arch): the packages' Debian arch, the kernel's
metapackage, how its kernel file boots, the serial console, where its shared libraries live. The kernel is fetched
with `apt-get download PACKAGE:ARCH` into the uniforge cache (never installed into /boot). On x86_64 it is
`linux-image-amd64`, booted uncompressed: the vmlinux XZ-packed in the bzImage carries a PVH note, so QEMU loads it
as it loads a Uniforge image and skips the ~2.5 s decompression a bzImage costs under TCG. On ARMv7 it is armhf's
`linux-image-armmp` (-lpae's only gain, RAM above 4 GiB, is what virt,highmem=off leaves out), booted as its
zImage (the Image inside is no ELF, and must lie where the decompressor puts it), console ttyAMA0 (the PL011).
The initramfs (an uncompressed newc cpio, written here) holds `busybox-static` of the same arch and an /init that
prints one line and powers off; `poweroff -f` ends QEMU on microvm only with ACPI on, its default, and on virt
through PSCI.

As a program's host (bench/threads.py, `prepare(program=Program(...))`), its /init runs a static Linux executable
(one that `uniforge cc` links from the same sources and libc an image is built from) with arguments, then powers
off.

As a Xen domU (bench/xen_domu.py, under the xl rig's dom0) the same kernel boots with netfront
(`HttpServer(nic="xen")`) and its console on hvc0 (`xl_config`): on x86_64 the vmlinux as a PV domU, on ARMv7 the
armmp zImage as Xen's one ARM guest type (xl's "pvh"; Debian builds armmp with CONFIG_XEN, hvc_xen and xenbus in,
netfront as a module). The xl type per arch is data too (LinuxArch.xen_type).

bench/net_throughput.py's peer is the same kernel as a web server (`prepare(HttpServer(...))`): its initramfs also
holds the virtio-net modules from the same linux-image package (Debian builds virtio-net and both transports as
modules, on amd64 and armhf) and a page, and its /init loads the modules (in the order their own `depends=` gives:
each one's .modinfo, what depmod makes modules.dep from; the package has no modules.dep, depmod writes it when the
package is installed), gives the NIC a static address and runs the server: Debian's nginx-light (the `nginx` binary and the `libnginx-mod-http-echo` module it
installs, whose echo_request_body answers POST /echo as httpd does), with the shared libraries it needs (followed
through DT_NEEDED from Debian's library packages, of the same arch); or busybox httpd, the second row. Both serve
on ARMv7 as on x86_64 (nginx answers GET / and POST /echo there too).

bench/port_redis.py's peer is the same kernel running Debian's redis-server (`prepare(redis=RedisServer(...))`),
from its packages of the target's arch with the libraries it loads (found as nginx's are), with the NIC's modules
and a given configuration file; /init becomes redis-server, which logs on the console.
"""

from __future__ import annotations

import lzma
import re
import shlex
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from elftools.elf.elffile import ELFFile

from ..core import cache
from ..core.errors import BenchError
from ..platforms.qemu import build_qemu_command
from ..running.devices import NO_NETWORK, Network
from .hosttsc import host_tsc_hz

BUSYBOX_PACKAGE = "busybox-static"
LINE = b"uniforge-peer: init reached"
CMDLINE = "quiet panic=-1"      # panic: reboot at once, which -no-reboot turns into QEMU's exit; the console per arch
MEMORY_KIB = 512 * 1024
XZ_MAGIC = b"\xfd7zXZ\x00"
INIT = b"#!/bin/busybox sh\n/bin/busybox echo '" + LINE + b"'\n/bin/busybox poweroff -f\n"
# The NIC's driver and both virtio transports, so that one initramfs serves microvm (virtio-mmio) and q35
# (virtio-pci); what they depend on comes with them.
NET_DRIVERS = ("virtio_net", "virtio_mmio", "virtio_pci")
# As a Xen domU (bench/xen_domu.py), its NIC is netfront; the console (hvc_xen) and xenbus are built in.
XEN_NET_DRIVERS = ("xen_netfront",)
XEN_CMDLINE = "console=hvc0 quiet panic=-1"
_DEPENDS = re.compile(rb"(?:^|\0)depends=([^\0]*)\0")
HTTP_LINE = b"uniforge-peer: httpd listening"
# A driver may find its device after insmod returns (netfront connects to netback through xenbus).
WAIT_FOR_NIC = "until $b ip link show eth0 >/dev/null 2>&1; do $b usleep 10000; done\n"
# nginx-light's contents (Debian 12: the nginx binary and the echo module) and the packages of the libraries they
# load; which of those files go into the initramfs is decided by the binaries' DT_NEEDED entries.
NGINX_PACKAGES = ("nginx", "libnginx-mod-http-echo", "libc6", "libcrypt1", "libpcre2-8-0", "libssl3", "zlib1g")
NGINX_BINARY = "./usr/sbin/nginx"
ECHO_MODULE = "./usr/lib/nginx/modules/ngx_http_echo_module.so"
# redis-server's binary (Debian 12: redis-server's /usr/bin/redis-server is a link to redis-tools' redis-check-rdb;
# the program picks its role from argv[0]'s name) and the packages of the libraries it loads.
REDIS_PACKAGES = ("redis-tools", "libc6", "libgcc-s1", "libstdc++6", "libatomic1", "libjemalloc2", "liblzf1", "libssl3",
                  "libsystemd0", "libcap2", "libgcrypt20", "libgpg-error0", "liblz4-1", "liblzma5", "libzstd1")
REDIS_BINARY = "./usr/bin/redis-check-rdb"
REDIS_READY = "Ready to accept connections"     # what redis-server logs once it listens
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
    """The peer as a web server on port 80: its NIC's static address (e.g. "10.0.0.2/24"), the page at /, which
    server: "nginx" (Debian's nginx-light) or "busybox" (busybox httpd), and its NIC: "virtio" (a QEMU microVM) or
    "xen" (netfront, as a Xen domU)."""
    address: str
    page: bytes
    server: str = "nginx"
    nic: str = "virtio"


@dataclass(frozen=True)
class RedisServer:
    """The peer as Debian's redis-server: its NIC's static address, its configuration file's text (at
    /etc/redis.conf) and the arguments after that file's name (options, e.g. ("--maxclients", "992")). It logs on
    the console; REDIS_READY says it listens."""
    address: str
    conf: bytes
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Program:
    """The peer running one static executable (its bytes) with arguments, its output on the console, then the
    LINE and a power-off."""
    executable: bytes
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinuxArch:
    """What the peer takes from Debian for one architecture (ARCHES has one per target arch)."""
    apt_arch: str                   # Debian's name for it: amd64, armhf
    kernel_package: str             # the kernel's metapackage
    kernel_file: str                # what the package's /boot/vmlinuz-* is: bzImage, zImage
    # That file -> what QEMU boots (None: the file itself).
    unpack: Callable[[bytes], bytes] | None
    console: str                    # the serial console's device, on the target's machine
    multiarch: str                  # Debian's folder of its shared libraries: x86_64-linux-gnu
    loader: str                     # the dynamic loader, where its executables' PT_INTERP says
    # xl's `type` for the kernel as a Xen domU: "pv" on x86_64 (as PVH it stops before its first console byte
    # under the rig: bench/README.md), "pvh" on ARM (xl's name for the one kind of ARM guest).
    xen_type: str

    def package(self, name: str) -> str:
        return f"{name}:{self.apt_arch}"


@dataclass(frozen=True)
class Peer:
    kernel: Path                    # what QEMU boots: the vmlinux (x86_64) or the package's zImage (ARM)
    initramfs: Path
    kernel_file_bytes: int          # the package's kernel file (bzImage, zImage): what ships
    version: str
    arch: LinuxArch
    net_modules: tuple[str, ...] = ()       # the NIC's kernel modules in load order (in the cache folder's modules/)
    xen_net_modules: tuple[str, ...] = ()   # the same for netfront


def _apt(*args: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BenchError(f"the Linux peer needs {args[0]} (a Debian or Ubuntu host)") from None
    if done.returncode:
        raise BenchError(f"{' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}",
                         hint="`apt-get update` may be needed")
    return done.stdout


def arch_of(target) -> LinuxArch:
    """The peer's architecture data for a target (by its arch)."""
    if target.arch not in ARCHES:
        raise BenchError(f"the Linux peer has no kernel for {target.name}'s arch ({target.arch})")
    return ARCHES[target.arch]


def _fields(package: str) -> dict[str, str]:
    """The candidate version's control fields, from apt's cache (no download)."""
    fields = {}
    for line in _apt("apt-cache", "show", "--no-all-versions", package).splitlines():
        if ":" in line and not line.startswith(" "):
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def prepare(arch: LinuxArch, http: HttpServer | None = None, program: Program | None = None,
            redis: RedisServer | None = None) -> Peer:
    """The peer's kernel and initramfs for `arch` (arch_of(target)), made on first use and cached by the packages'
    versions; with `http`, the web server's initramfs instead of the one that powers off; with `program`, one that
    runs it first; with `redis`, one that runs redis-server."""
    # The metapackage names the real one.
    kernel_package = _fields(arch.package(arch.kernel_package))["Depends"].split()[0]
    versions = (f"{arch.apt_arch}: {kernel_package} {_fields(arch.package(kernel_package))['Version']} "
                f"{_fields(arch.package(BUSYBOX_PACKAGE))['Version']}")

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _apt("apt-get", "download", arch.package(kernel_package), arch.package(BUSYBOX_PACKAGE), cwd=Path(tmp))
            debs = {p.name.split("_")[0]: p for p in Path(tmp).glob("*.deb")}
            kernel_deb = debs[kernel_package]
            modules = kernel_modules(kernel_deb)
            depends = {name: depends for name, (_, depends) in modules.items()}
            order = load_order(depends, NET_DRIVERS)
            xen_order = load_order(depends, XEN_NET_DRIVERS)
            wanted = {modules[name][0]: name for name in order + xen_order}
            kernel_files = _members(kernel_deb, lambda name: name.startswith("./boot/vmlinuz-") or name in wanted)
            busybox = _members(debs[BUSYBOX_PACKAGE], lambda name: name == "./bin/busybox")["./bin/busybox"]
        packed = next(data for name, data in kernel_files.items() if name.startswith("./boot/"))
        (out / "kernel-file.size").write_text(str(len(packed)))
        (out / "kernel").write_bytes(arch.unpack(packed) if arch.unpack else packed)
        (out / "initramfs.cpio").write_bytes(initramfs(busybox))
        # Kept for the web server's initramfs, so that it needs no second download.
        (out / "busybox").write_bytes(busybox)
        (out / "modules").mkdir()
        for member, name in wanted.items():
            (out / "modules" / f"{name}.ko").write_bytes(kernel_files[member])
        (out / "modules.order").write_text("".join(f"{name}\n" for name in order))
        (out / "xen-modules.order").write_text("".join(f"{name}\n" for name in xen_order))

    folder, _ = cache.entry("linux-peer", cache.digest(versions, INIT, *NET_DRIVERS, *XEN_NET_DRIVERS), make)
    peer = Peer(folder / "kernel", folder / "initramfs.cpio", int((folder / "kernel-file.size").read_text()),
                versions, arch, tuple((folder / "modules.order").read_text().split()),
                tuple((folder / "xen-modules.order").read_text().split()))
    if program is not None:
        return _with_program(peer, folder / "busybox", program)
    if redis is not None:
        return _with_redis(peer, folder, redis)
    if http is None:
        return peer
    net_modules = peer.xen_net_modules if http.nic == "xen" else peer.net_modules
    files = [(f"modules/{name}.ko", (folder / "modules" / f"{name}.ko").read_bytes()) for name in net_modules]
    files.append(("www/index.html", http.page))
    if http.server == "nginx":
        nginx_folder, nginx_versions = _nginx_files(arch)
        versions += " " + nginx_versions
        init = nginx_init(http.address, net_modules)
        files += [(str(f.relative_to(nginx_folder)), f.read_bytes(), 0o100755)
                  for f in sorted(nginx_folder.rglob("*")) if f.is_file()]
        files += [("etc/nginx.conf", NGINX_CONF.encode()), ("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n"),
                  ("etc/group", b"root:x:0:\n"), ("tmp/.keep", b""), ("run/.keep", b""), ("proc/.keep", b""),
                  ("var/log/nginx/.keep", b"")]
    else:
        init = http_init(http.address, net_modules)

    def make_http(out: Path) -> None:
        (out / "initramfs.cpio").write_bytes(initramfs((folder / "busybox").read_bytes(), init, files))

    http_folder, _ = cache.entry("linux-peer-http", cache.digest(versions, init, http.page, NGINX_CONF),
                                 make_http)
    return replace(peer, initramfs=http_folder / "initramfs.cpio", version=versions)


def _with_program(peer: Peer, busybox: Path, program: Program) -> Peer:
    init = b"#!/bin/busybox sh\n/program " + shlex.join(program.args).encode() + b"\n" + INIT.split(b"\n", 1)[1]

    def make(out: Path) -> None:
        files = [("program", program.executable, 0o100755)]
        (out / "initramfs.cpio").write_bytes(initramfs(busybox.read_bytes(), init, files))

    folder, _ = cache.entry("linux-peer-program", cache.digest(peer.version, init, program.executable), make)
    return replace(peer, initramfs=folder / "initramfs.cpio")


def _with_redis(peer: Peer, folder: Path, redis: RedisServer) -> Peer:
    redis_folder, redis_versions = _dynamic_programs(arch=peer.arch, name="redis", packages=REDIS_PACKAGES,
                                                     binaries={REDIS_BINARY: "usr/bin/redis-server"})
    files = [(f"modules/{name}.ko", (folder / "modules" / f"{name}.ko").read_bytes()) for name in peer.net_modules]
    files += [(str(f.relative_to(redis_folder)), f.read_bytes(), 0o100755)
              for f in sorted(redis_folder.rglob("*")) if f.is_file()]
    files += [("etc/redis.conf", redis.conf), ("tmp/.keep", b""), ("proc/.keep", b""), ("sys/.keep", b"")]
    init = redis_init(redis.address, peer.net_modules, redis.args)
    versions = f"{peer.version} {redis_versions}"

    def make(out: Path) -> None:
        (out / "initramfs.cpio").write_bytes(initramfs((folder / "busybox").read_bytes(), init, files))

    redis_initramfs, _ = cache.entry("linux-peer-redis-initramfs", cache.digest(versions, init, redis.conf), make)
    return replace(peer, initramfs=redis_initramfs / "initramfs.cpio", version=versions)


def _nginx_files(arch: LinuxArch) -> tuple[Path, str]:
    """nginx and its echo module (usr/sbin/nginx, modules/) with what they load; and the packages' versions."""
    return _dynamic_programs(arch=arch, name="nginx", packages=NGINX_PACKAGES,
                             binaries={NGINX_BINARY: "usr/sbin/nginx",
                                       ECHO_MODULE: f"modules/{Path(ECHO_MODULE).name}"})


def _dynamic_programs(*, arch: LinuxArch, name: str, packages: Sequence[str],
                      binaries: dict[str, str]) -> tuple[Path, str]:
    """Dynamically linked files from Debian `packages` of `arch` (binaries: a member -> where it goes in the tree)
    and the shared libraries they need (followed through DT_NEEDED, from the same packages) with the dynamic loader,
    as the tree the initramfs holds (those paths, lib/<multiarch>/, the loader's folder); and the packages'
    versions."""
    versions = " ".join(f"{package} {_fields(arch.package(package))['Version']}" for package in packages)
    library_dirs = (f"./lib/{arch.multiarch}/", f"./usr/lib/{arch.multiarch}/", f"./{Path(arch.loader).parent}/")
    loader = Path(arch.loader).name

    def make(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _apt("apt-get", "download", *map(arch.package, packages), cwd=Path(tmp))
            root = Path(tmp) / "root"           # unpacked (not installed): libraries are found by their sonames,
            for deb in Path(tmp).glob("*.deb"):     # which are often symbolic links
                _apt("dpkg-deb", "-x", str(deb), str(root))
            programs = {member: (root / member).read_bytes() for member in binaries}
            libraries = {f.name: f.read_bytes() for folder in library_dirs if (root / folder).is_dir()
                         for f in (root / folder).iterdir() if ".so" in f.name and f.resolve().is_file()}
        wanted, todo = {}, list(programs.values())
        while todo:
            for needed in _needed(todo.pop()):
                if needed not in wanted:
                    if needed not in libraries:
                        raise BenchError(f"the {name} peer needs {needed}, which none of {tuple(packages)} has")
                    wanted[needed] = libraries[needed]
                    todo.append(libraries[needed])
        wanted.setdefault(loader, libraries[loader])
        for member, path in binaries.items():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_bytes(programs[member])
        for folder in (f"lib/{arch.multiarch}", str(Path(arch.loader).parent)):
            (out / folder).mkdir(parents=True, exist_ok=True)
        for soname, data in wanted.items():
            (out / (arch.loader if soname == loader else f"lib/{arch.multiarch}/{soname}")).write_bytes(data)

    layout = (f"{member} -> {path}" for member, path in binaries.items())
    folder, _ = cache.entry(f"linux-peer-{name}", cache.digest(arch.apt_arch, versions, *packages, *layout), make)
    return folder, versions


def _needed(elf: bytes) -> list[str]:
    """An ELF file's DT_NEEDED libraries."""
    import io
    dynamic = ELFFile(io.BytesIO(elf)).get_section_by_name(".dynamic")
    return [tag.needed for tag in dynamic.iter_tags() if tag.entry.d_tag == "DT_NEEDED"] if dynamic else []


def nginx_init(address: str, modules: Sequence[str]) -> bytes:
    """As http_init, with nginx (its error log on the console)."""
    return (f"#!/bin/busybox sh\nset -e\nb=/bin/busybox\n"
            f"$b mount -t devtmpfs dev /dev\n$b mount -t proc proc /proc\n"
            f"for m in {' '.join(modules)}; do $b insmod /modules/$m.ko; done\n{WAIT_FOR_NIC}"
            f"$b ip link set lo up\n$b ip addr add {address} dev eth0\n$b ip link set eth0 up\n"
            f"/usr/sbin/nginx -e stderr -c /etc/nginx.conf &\n"
            f"until $b wget -q -O /dev/null http://127.0.0.1/; do $b kill -0 $!; $b usleep 10000; done\n"
            f"$b echo '{HTTP_LINE.decode()}'\nwait\n").encode()


def redis_init(address: str, modules: Sequence[str], args: Sequence[str]) -> bytes:
    """An /init that loads the NIC's `modules`, sets its address and becomes redis-server with /etc/redis.conf and
    `args` (its log on the console). If anything fails or redis-server ends, init exits and QEMU ends."""
    return (f"#!/bin/busybox sh\nset -e\nb=/bin/busybox\n"
            f"$b mount -t devtmpfs dev /dev\n$b mount -t proc proc /proc\n$b mount -t sysfs sys /sys\n"
            f"for m in {' '.join(modules)}; do $b insmod /modules/$m.ko; done\n{WAIT_FOR_NIC}"
            f"$b ip link set lo up\n$b ip addr add {address} dev eth0\n$b ip link set eth0 up\n"
            f"exec /usr/bin/redis-server /etc/redis.conf {shlex.join(args)}\n").encode()


def http_init(address: str, modules: Sequence[str]) -> bytes:
    """An /init that loads the NIC's `modules` (in that order), sets its address, serves /www on port 80 and
    prints HTTP_LINE once the page can be fetched. If anything fails or httpd ends, init exits: the kernel panics
    and QEMU ends."""
    return (f"#!/bin/busybox sh\nset -e\nb=/bin/busybox\n"
            f"$b mount -t devtmpfs dev /dev\n"     # /dev/null, for the background job's stdin and wget
            f"for m in {' '.join(modules)}; do $b insmod /modules/$m.ko; done\n{WAIT_FOR_NIC}"
            f"$b ip link set lo up\n$b ip addr add {address} dev eth0\n$b ip link set eth0 up\n"
            f"$b httpd -f -h /www -p 80 &\n"
            f"until $b wget -q -O /dev/null http://127.0.0.1/; do $b kill -0 $!; $b usleep 10000; done\n"
            f"$b echo '{HTTP_LINE.decode()}'\nwait\n").encode()


def kernel_modules(deb: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every kernel module in a linux-image package: its name -> (its member in the package, the modules its
    .modinfo says it depends on). One pass over the package, keeping nothing but those."""
    found = {}
    with _package_tree(deb) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".ko") and "/kernel/" in member.name:
                match = _DEPENDS.search(tar.extractfile(member).read())
                depends = match[1].decode().split(",") if match and match[1] else []
                found[Path(member.name).stem.replace("-", "_")] = (member.name, tuple(depends))
    return found


def load_order(depends: dict[str, Sequence[str]], roots: Sequence[str]) -> list[str]:
    """`roots` and everything they depend on, each after what it depends on (the order insmod needs)."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in path:
            raise BenchError(f"kernel modules depend on each other in a cycle: {' -> '.join(path + (name,))}")
        if name not in depends:
            raise BenchError(f"the kernel package has no module {name} (needed by {path[-1] if path else 'the peer'})")
        for dep in depends[name]:
            visit(dep, path + (name,))
        order.append(name)

    for root in roots:
        visit(root, ())
    return order


def _members(deb: Path, wanted) -> dict[str, bytes]:
    """The files of a .deb's file system tree whose names `wanted` accepts, read without unpacking the rest."""
    with _package_tree(deb) as tar:
        found = {member.name: tar.extractfile(member).read() for member in tar
                 if member.isfile() and wanted(member.name)}
    if not found:
        raise BenchError(f"{deb.name} does not contain the expected file")
    return found


@contextmanager
def _package_tree(deb: Path):
    """A .deb's file system tree as a tar stream (read in order, once)."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            yield tar
    finally:
        proc.stdout.close()
        proc.wait()


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
    """The QEMU command that boots the peer on a target of its arch, as the apps are booted (same flags and
    devices), as a plain process: the target's status channel goes nowhere (the peer writes none)."""
    # Under TCG on a loaded host, Linux's PIT calibration of the TSC fails, and microvm has no HPET or ACPI PM
    # timer to fall back on: the kernel then hangs before its first timer tick. TCG's TSC is the host's, so give
    # its rate.
    host_hz = host_tsc_hz() if target.bench.host_tsc else None
    cmdline = f"console={peer.arch.console} {CMDLINE}" + (f" tsc_early_khz={host_hz // 1000}" if host_hz else "")
    return build_qemu_command(target, peer.kernel, cmdline=cmdline, memory=f"{memory_kib}K", network=network,
                              extra_qemu_args=["-initrd", str(peer.initramfs)], status_chardev="null")


def xl_config(peer: Peer, name: str, memory_mib: int = 256) -> str:
    """An xl config that boots the peer as a domU of its arch's xl type (the kernel and initramfs beside it, as
    `xl create` runs in their folder). A panic or reboot ends the domain (xl would restart it)."""
    return (f'name = "{name}"\ntype = "{peer.arch.xen_type}"\n'
            f'kernel = "{peer.kernel.name}"\nramdisk = "{peer.initramfs.name}"\n'
            f'cmdline = "{XEN_CMDLINE}"\nmemory = {memory_mib}\nvcpus = 1\n'
            'on_poweroff = "destroy"\non_reboot = "destroy"\non_crash = "destroy"\nvif = []\ndisk = []\n')


# One per target arch (Target.arch); why these packages and these boots: the module's docstring.
ARCHES = {
    "x86_64": LinuxArch("amd64", "linux-image-amd64", "bzImage", vmlinux_from_bzimage, "ttyS0", "x86_64-linux-gnu",
                        "lib64/ld-linux-x86-64.so.2", "pv"),
    "armv7": LinuxArch("armhf", "linux-image-armmp", "zImage", None, "ttyAMA0", "arm-linux-gnueabihf",
                       "lib/ld-linux-armhf.so.3", "pvh"),
}
