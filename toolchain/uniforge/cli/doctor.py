"""`uniforge doctor`: checks what this host offers Uniforge (QEMU, firmware, KVM, compiler, musl source), each
check with a hint that fixes it. `probe_kvm` also lets the tests skip KVM runs with the reason."""

from __future__ import annotations

import enum
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from ..building import targets
from ..building.musl import cached_tarball
from ..core.errors import ExitCode, RunError
from ..platforms import xenrig
from ..platforms.floor import Variant, build_floor
from ..platforms.run import Ending, run_image

QBOOT = Path("/usr/share/qemu/qboot.rom")
MIN_QEMU = (9, 0)  # microvm with qboot and PVH as used by the targets
_QEMU_PACKAGES = "qemu-system-x86 qemu-system-arm qemu-utils"
_INSTALL_QEMU = f"Debian 12: apt-get install -t bookworm-backports {_QEMU_PACKAGES} (or run scripts/install-host-deps)"
_PROBE_TIMEOUT = 10.0


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

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


def check_host() -> list[Check]:
    usable, reason = probe_kvm()
    return [
        _check_qemu("qemu-system-x86_64", required=True),
        _check_qemu("qemu-system-arm", required=False),
        _check_qboot(),
        _check_kvm_device(),
        Check("KVM guests", Status.OK if usable else Status.WARN, reason,
              "" if usable else "KVM targets cannot run here; TCG targets (qemu-*) still do"),
        _check_zig(),
        _check_musl_source(),
        _check_xen(),
    ]


def probe_kvm(target: targets.Target | None = None) -> tuple[bool, str]:
    """Whether `target` (default: kvm-x86_64) can run guests here, and why not. Boots the null kernel variant that
    touches memory with SSE and x87 instructions after a UART write: this host's nested KVM freezes such guests
    with "KVM internal error. Suberror: 1" though it boots trivial ones (ARCHITECTURE.md)."""
    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm does not exist: no KVM on this host (or the kvm module is not loaded)"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "no permission to use /dev/kvm"
    target = target or targets.load("kvm-x86_64")
    try:
        result = run_image(target, build_floor(target, Variant.FPU_PROBE), timeout=_PROBE_TIMEOUT, console=io.StringIO())
    except RunError as e:
        return False, f"QEMU cannot start a KVM guest: {_qemu_complaint(str(e))}"
    if result.ending is Ending.EXITED and result.exit_code == 0:
        return True, "KVM runs guests that use SSE and x87 after a VM exit"
    # The guest printed S before its SSE access and X before its x87 one.
    failed = "an x87" if "X" in result.console else "an SSE" if "S" in result.console else "the first"
    detail = _qemu_complaint(result.qemu_stderr) or result.message
    return False, f"KVM stops guests at {failed} memory access after a VM exit: {detail}"


def _qemu_complaint(text: str) -> str:
    """The line of QEMU's output (or of a RunError) that says what went wrong."""
    lines = [line.strip(" |") for line in text.splitlines() if line.strip(" |")]
    return next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")


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


def _check_xen() -> Check:
    """The Xen hypervisors the xen-* targets boot under QEMU: in the cache, or fetchable with apt (no download)."""
    xen = [t for t in map(targets.load, targets.names()) if t.platform == "xen"]
    packages = {t.xen["package"]: t for t in xen}
    results = {package: xen_available(t) for package, t in sorted(packages.items())}
    detail = "; ".join(why for _, why in results.values())
    if all(ok for ok, _ in results.values()):
        return Check("Xen hypervisors", Status.OK, detail)
    return Check("Xen hypervisors", Status.WARN, detail,
                 "scripts/install-host-deps (adds the armhf architecture for the ARM hypervisor); xen-* targets "
                 "cannot run until then")


def _check_musl_source() -> Check:
    """A soft check: whether musl's sources can be had (the musl stage owns fetching and verifying them)."""
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


def host_can_run(target: targets.Target) -> tuple[bool, str]:
    """Whether this host can boot the target's images, and why not."""
    binary = target.qemu["binary"]
    if not shutil.which(binary):
        return False, f"{binary} is not installed"
    if target.qemu.get("accel") == "kvm":
        return probe_kvm(target)
    if target.platform == "xen":
        return xen_available(target)
    return True, "software emulation (TCG)"


def xen_available(target: targets.Target) -> tuple[bool, str]:
    """Whether the target's Xen hypervisor is in the cache, or apt can fetch it."""
    if xenrig.cached(target):
        return True, f"Xen under QEMU (TCG): {target.xen['package']} fetched"
    ok, why = xenrig.fetchable(target)
    return ok, f"Xen under QEMU (TCG): {why}" if ok else why


def show_doctor(as_json: bool) -> int:
    checks = check_host()
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        marks = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
        console = Console(highlight=False)
        for c in checks:
            console.print(f"{marks[c.status]:>20}  {c.name}: {c.detail}")
            if c.status != "ok" and c.fix:
                console.print(f"{'':>8}fix: {c.fix}")
    return ExitCode.USER_ERROR if failed else ExitCode.OK
