"""The Linux dom0 of the xl rig (xlrig.py), made from Debian packages only and cached: Debian's kernel, and an
initramfs holding the xl toolstack (xen-utils-4.17: xl, xenstored, xenconsoled, the hotplug scripts), iproute2,
busybox, the kernel modules the backends and the rig's devices need, and the rig's init (templates/xl-rig-init.sh.j2).

apt computes the package closure as for an empty system (its status file is an empty file) and downloads it;
`dpkg -x` unpacks each package but those a toolstack never runs (python, udev, dpkg...). No package script runs
and nothing is installed on the host. The initramfs is written by our own cpio (newc) writer.
"""

from __future__ import annotations

import io
import lzma
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from ..building.generate import render
from ..core import cache
from ..core.errors import ToolError

# What dom0 runs: the toolstack and its hotplug scripts (bash, util-linux's losetup, coreutils, grep, sed),
# iproute2 for the bridge, busybox for init and everything else.
PACKAGES = ("xen-utils-4.17", "xenstore-utils", "busybox-static", "iproute2", "bash", "mount", "util-linux",
            "coreutils", "grep", "sed", "findutils", "debianutils")
# Left out of the closure: nothing in the rig runs them (python is only for pygrub).
_SKIPPED = ("python", "libpython", "perl", "udev", "systemd", "libsystemd", "initramfs-tools", "dpkg", "debconf",
            "adduser", "passwd", "libpam", "klibc", "libklibc", "cpio", "tar_", "ucf", "linux-base", "libsqlite",
            "libssl", "libkrb", "libgssapi", "libk5crypto", "media-types", "readline-common", "sensible-utils")
_PRUNED = ("usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info", "usr/share/zoneinfo",
           "usr/share/i18n", "usr/share/lintian", "usr/share/bash-completion", "usr/lib/python3")
# Kernel modules the rig loads, in dependency order with what they need (missing ones are built in): the
# backends and the toolstack's devices, the bridge, loop devices for file disks, and the rig's virtio devices
# (the host share, the command port, the NIC).
MODULES = ("xen-privcmd", "xenfs", "xen-evtchn", "xen-gntdev", "xen-gntalloc", "xen-netback", "xen-blkback",
           "bridge", "loop", "virtio_pci", "virtio_mmio", "9p", "9pnet_virtio", "virtio_console", "virtio_net")
_INSTALL = "the rig is made from Debian packages: apt must reach a Debian 12 archive (scripts/install-host-deps)"


@dataclass(frozen=True)
class Dom0:
    kernel: Path    # Linux (bzImage on x86_64, zImage on ARM)
    initrd: Path    # uncompressed newc cpio
    version: str    # the kernel's release, e.g. 6.1.0-57-amd64


def dom0(apt_arch: str, kernel_package: str) -> Dom0:
    """The dom0 for Debian architecture `apt_arch` (amd64, armhf) with kernel metapackage `kernel_package`."""
    # The templates' text is part of the key.
    init = "".join(render(t, modules=[]) for t in ("xl-rig-init.sh.j2", "xl-rig.conf.j2", "xl-rig-vif.sh.j2",
                                                   "xl-rig-block.sh.j2"))
    key = cache.digest("xl-dom0", "2", apt_arch, kernel_package, *PACKAGES, *MODULES, init)

    def build(out: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="uniforge-dom0-") as work:
            _build(Path(work), out, apt_arch, kernel_package)

    folder, _ = cache.entry("xl-dom0", key, build)
    return Dom0(folder / "vmlinuz", folder / "initrd.cpio", (folder / "version").read_text().strip())


def _build(work: Path, out: Path, apt_arch: str, kernel_package: str) -> None:
    debs = _download(work, apt_arch, [*PACKAGES, kernel_package])
    root = work / "root"
    kernel_debs = [d for d in debs if d.name.startswith("linux-image-")]
    for deb in debs:
        if deb not in kernel_debs and not deb.name.startswith(_SKIPPED):
            _run(["dpkg", "-x", str(deb), str(root)], f"cannot unpack {deb.name}")
    for pruned in _PRUNED:
        shutil.rmtree(root / pruned, ignore_errors=True)
    kernel_root = work / "kernel"
    for deb in kernel_debs:
        _run(["dpkg", "-x", str(deb), str(kernel_root)], f"cannot unpack {deb.name}")
    vmlinuz = sorted((kernel_root / "boot").glob("vmlinuz-*"))
    if not vmlinuz:
        raise ToolError(f"{kernel_package} brought no kernel (no /boot/vmlinuz-*)", hint=_INSTALL)
    version = vmlinuz[0].name.removeprefix("vmlinuz-")
    modules = _modules(kernel_root / "lib/modules" / version, root / "lib/modules/uf")
    (root / "bin/sh").unlink(missing_ok=True)
    (root / "bin/sh").symlink_to("busybox")
    if not (root / "usr/bin/which").exists():
        (root / "usr/bin/which").symlink_to("which.debianutils")
    init = root / "init"
    init.write_text(render("xl-rig-init.sh.j2", modules=modules))
    init.chmod(0o755)
    (root / "etc/xen/xl.conf").write_text(render("xl-rig.conf.j2"))
    for script in ("vif", "block"):
        hotplug = root / f"etc/xen/scripts/uniforge-{script}"
        hotplug.write_text(render(f"xl-rig-{script}.sh.j2"))
        hotplug.chmod(0o755)
    shutil.copyfile(vmlinuz[0], out / "vmlinuz")
    write_cpio(root, out / "initrd.cpio")
    (out / "version").write_text(version + "\n")


def _download(work: Path, apt_arch: str, packages: list[str]) -> list[Path]:
    """The packages and everything they depend on (not recommends), as for a system with nothing installed."""
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise ToolError(f"making the Xen rig's dom0 needs {tool}, which this host lacks", hint=_INSTALL)
    status = work / "status"
    status.write_text("")
    archives = work / "debs"
    (archives / "partial").mkdir(parents=True)
    _run(["apt-get", "install", "--yes", "--download-only", "--no-install-recommends",
          "-o", f"APT::Architecture={apt_arch}", "-o", f"Dir::State::status={status}",
          "-o", f"Dir::Cache::archives={archives}", "-o", "Debug::NoLocking=1", *packages],
         f"apt cannot fetch the rig's packages for {apt_arch}")
    return sorted(archives.glob("*.deb"))


def _modules(tree: Path, dest: Path) -> list[str]:
    """Copies MODULES and what they depend on (modinfo `depends`) from the kernel's tree to dest; returns their
    names in load order. Modules not in the tree are built into the kernel."""
    files = {p.name.split(".ko")[0]: p for p in tree.rglob("*.ko*")}
    order: list[str] = []

    def visit(name: str) -> None:
        found = next((n for n in (name, name.replace("-", "_"), name.replace("_", "-")) if n in files), None)
        if found is None or found in order:
            return
        for dependency in _depends(files[found]):
            visit(dependency)
        order.append(found)

    for name in MODULES:
        visit(name)
    dest.mkdir(parents=True, exist_ok=True)
    for name in order:
        data = files[name].read_bytes()
        (dest / f"{name}.ko").write_bytes(lzma.decompress(data) if files[name].suffix == ".xz" else data)
    return order


def _depends(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.suffix == ".xz":
        data = lzma.decompress(data)
    section = ELFFile(io.BytesIO(data)).get_section_by_name(".modinfo")
    for field in section.data().split(b"\0") if section else []:
        if field.startswith(b"depends="):
            return [d for d in field[len(b"depends="):].decode().split(",") if d]
    return []


def write_cpio(root: Path, out: Path) -> None:
    """`root` as an initramfs: the newc cpio format (header fields in hex), what the kernel unpacks."""
    inode = 1
    with out.open("wb") as f:
        def entry(name: str, st: os.stat_result | None, data: bytes = b"", mode: int | None = None) -> None:
            nonlocal inode
            fields = [inode, mode if mode is not None else st.st_mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                      len(name) + 1, 0]
            header = b"070701" + b"".join(b"%08X" % v for v in fields)
            inode += 1
            f.write(header + name.encode() + b"\0")
            f.write(b"\0" * (-(110 + len(name) + 1) % 4))
            f.write(data)
            f.write(b"\0" * (-len(data) % 4))

        for path in sorted(root.rglob("*")):
            name = str(path.relative_to(root))
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                entry(name, st, os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                entry(name, st, path.read_bytes())
            elif stat.S_ISDIR(st.st_mode):
                entry(name, st)
        entry("TRAILER!!!", None, mode=0)


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolError(f"{what}: {e}", hint=_INSTALL) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolError(f"{what}: {last}", hint=_INSTALL)
