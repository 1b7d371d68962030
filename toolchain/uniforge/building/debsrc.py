"""Debian source packages, fetched by name and exact version and kept in the uniforge cache (as musl's sources are).

apt runs with a configuration of its own (a deb-src entry for Debian 12, its index and downloads in a temporary
folder), so the host's apt setup is neither needed nor changed. The package's .dsc is checked against the SHA-256
a port pins (the .dsc lists the checksums of its tarballs, which `dpkg-source -x` checks in turn), and unpacked with
Debian's patches applied, as Debian builds it. Nothing fetched is ever committed."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from ..core import cache
from ..core.errors import ToolError
from ..core.progress import step

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
_TIMEOUT = 600


def source_tree(package: str, version: str, sha256: str) -> Path:
    """The unpacked source package `package` at `version` (its top folder), whose .dsc has `sha256`."""
    missing = [tool for tool in ("apt-get", "dpkg-source") if shutil.which(tool) is None]
    if missing or not KEYRING.is_file():
        raise ToolError(f"cannot fetch Debian's {package} sources: no {' or '.join(missing) or KEYRING} here",
                        hint="install apt, dpkg-dev and debian-archive-keyring (scripts/install-host-deps)")
    folder, _ = cache.entry("debian-source", cache.digest(package, version, sha256),
                            lambda tmp: _fetch(package, version, sha256, tmp))
    return folder / package


def _fetch(package: str, version: str, sha256: str, into: Path) -> None:
    work = into / ".apt"
    for sub in ("lists/partial", "cache/archives/partial", "parts"):
        (work / sub).mkdir(parents=True)
    (work / "sources.list").write_text(f"deb-src [signed-by={KEYRING}] {MIRROR} {SUITE} main\n"
                                       f"deb-src [signed-by={KEYRING}] {MIRROR}-security {SUITE}-security main\n")
    options = [f"-oDir::Etc::SourceList={work / 'sources.list'}", f"-oDir::Etc::SourceParts={work / 'parts'}",
               f"-oDir::State::Lists={work / 'lists'}", f"-oDir::Cache={work / 'cache'}",
               "-oAPT::Sandbox::User=root", "-oDebug::NoLocking=1", "-qq"]
    downloads = work / "downloads"
    downloads.mkdir()
    with step(f"fetching Debian's {package} {version} sources"):
        _run(["apt-get", *options, "update"], work, f"apt-get update for {SUITE}'s sources")
        _run(["apt-get", *options, "source", "--download-only", f"{package}={version}"], downloads,
             f"apt-get source {package}={version}")
    dsc = downloads / f"{package}_{version.split(':')[-1]}.dsc"
    found = hashlib.sha256(dsc.read_bytes()).hexdigest()
    if found != sha256:
        raise ToolError(f"Debian's {dsc.name} has SHA-256 {found}, not the {sha256} pinned")
    _run(["dpkg-source", "-x", str(dsc), str(into / package)], downloads, f"dpkg-source -x {dsc.name}")
    shutil.rmtree(work)


def _run(command: list[str], cwd: Path, what: str) -> None:
    try:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what}: no answer in {_TIMEOUT} s") from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise ToolError(f"{what} failed: {said[-1] if said else f'exit {proc.returncode}'}",
                        hint="the version may have left the mirror: the port's [port] table pins it")
