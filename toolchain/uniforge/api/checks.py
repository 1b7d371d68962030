"""The host checks of `uniforge doctor` and `uniforge.doctor()`: what this host offers Uniforge (QEMU, firmware, KVM,
compiler, musl source, and what each target's way to boot needs), each check with a hint that fixes it."""

from __future__ import annotations

import enum
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..building import targets

if TYPE_CHECKING:
    from ..platforms.way import Support

QBOOT = Path("/usr/share/qemu/qboot.rom")
MIN_QEMU = (9, 0)  # microvm with qboot and PVH as used by the targets
_QEMU_PACKAGES = "qemu-system-x86 qemu-system-arm qemu-utils"
_INSTALL_QEMU = f"Debian 12: apt-get install -t bookworm-backports {_QEMU_PACKAGES} (or run scripts/install-host-deps)"


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"  # works, with a limitation
    FAIL = "fail"  # something Uniforge needs is missing


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAIL

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


def check_host() -> list[Check]:
    return [
        _check_qemu("qemu-system-x86_64", required=True),
        _check_qemu("qemu-system-arm", required=False),
        _check_qboot(),
        _check_kvm_device(),
        *_check_ways(),
        _check_zig(),
        _check_musl_source(),
    ]


def _check_qemu(binary: str, required: bool) -> Check:
    missing = Status.FAIL if required else Status.WARN
    path = shutil.which(binary)
    if path is None:
        needed = "" if required else " (needed for ARM targets)"
        return Check(binary, missing, f"not found{needed}", _INSTALL_QEMU)
    try:
        banner = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return Check(binary, missing, f"{path} does not run: {e}", _INSTALL_QEMU)
    match = re.search(r"version (\d+)\.(\d+)", banner)
    if match is None:
        return Check(binary, missing, f"{path}: cannot read a version from {banner.strip()[:80]!r}", _INSTALL_QEMU)
    version = (int(match[1]), int(match[2]))
    if version < MIN_QEMU:
        return Check(binary, missing, f"{path} is version {match[1]}.{match[2]}, need >= {MIN_QEMU[0]}",
                     _INSTALL_QEMU)
    return Check(binary, Status.OK, f"{path}, version {match[1]}.{match[2]}")


def _check_qboot() -> Check:
    if QBOOT.is_file():
        return Check("qboot firmware", Status.OK, str(QBOOT))
    return Check("qboot firmware", Status.FAIL, f"{QBOOT} not found (x86_64 targets boot with it)", _INSTALL_QEMU)


def _check_kvm_device() -> Check:
    if not os.path.exists("/dev/kvm"):
        return Check("/dev/kvm", Status.WARN, "not present: only TCG (software emulation) is available",
                     "enable virtualization (VT-x/AMD-V, or nested virtualization in a VM) and load kvm")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Check("/dev/kvm", Status.WARN, "present but not accessible to this user",
                     "sudo usermod -aG kvm $USER, then log in again")
    return Check("/dev/kvm", Status.OK, "present and accessible")


def _check_zig() -> Check:
    try:
        done = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        done = subprocess.CompletedProcess([], 1, "", str(e))
    if done.returncode != 0:
        return Check("zig compiler", Status.FAIL, f"python -m ziglang failed: {done.stderr.strip()[:200]}",
                     f"{sys.executable} -m pip install ziglang (the version pinned in pyproject.toml)")
    return Check("zig compiler", Status.OK, f"ziglang {done.stdout.strip()}")


def _check_ways() -> list[Check]:
    """What the targets' ways need besides QEMU (a working KVM, the Xen hypervisors), each check over the targets
    whose way names it: ok when all of them can run here."""
    found: dict[str, tuple[str, list[Support]]] = {}
    from ..platforms import way_for
    for target in map(targets.load, targets.names()):
        way = way_for(target)
        if way.host_check is not None:
            name, fix = way.host_check
            found.setdefault(name, (fix, []))[1].append(way.host_support())
    checks = []
    for name, (fix, supports) in found.items():
        detail = "; ".join(dict.fromkeys(s.why for s in supports))
        ok = all(s.ok for s in supports)
        checks.append(Check(name, Status.OK if ok else Status.WARN, detail, "" if ok else fix))
    return checks


def _check_musl_source() -> Check:
    """A soft check: whether musl's sources can be had (the musl stage owns fetching and verifying them)."""
    from ..building.musl import cached_tarball
    if cached_tarball().is_file():
        return Check("musl source", Status.OK, f"fetched: {cached_tarball()}")
    local = os.environ.get("UNIFORGE_MUSL_SOURCE")
    if local:
        if Path(local).is_file():
            return Check("musl source", Status.OK, f"UNIFORGE_MUSL_SOURCE={local}")
        return Check("musl source", Status.FAIL, f"UNIFORGE_MUSL_SOURCE={local} is not a file",
                     "point UNIFORGE_MUSL_SOURCE at a musl 1.2.x source tarball")
    fix = "set UNIFORGE_MUSL_SOURCE to a musl 1.2.x tarball, or add a deb-src entry (scripts/install-host-deps)"
    if shutil.which("apt-get") is None:
        return Check("musl source", Status.WARN, "no apt-get to fetch the musl source package", fix)
    if not _has_deb_src():
        return Check("musl source", Status.WARN, "apt has no deb-src entry to fetch the musl source package", fix)
    return Check("musl source", Status.OK, "apt-get source musl (deb-src entry present)")


def _has_deb_src() -> bool:
    files = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    pattern = re.compile(r"^\s*(deb-src\s|Types:.*\bdeb-src\b)", re.MULTILINE)
    return any(f.is_file() and pattern.search(f.read_text(errors="replace")) for f in files)
