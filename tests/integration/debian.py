"""Debian source packages for the real-program tests, fetched by name at test time and kept in the uniforge cache.

The packages come through apt with a configuration of their own (a deb-src entry for Debian 12, its index and
download folders in a temporary folder), so the host's apt setup is neither needed nor changed. `dpkg-source -x`
unpacks them with Debian's patches applied, as Debian builds them. What a package's build generates on the build
machine before compiling (an amalgamated source, by its configure and make) is made by its own steps, out of its
tree (`host_build`). Each package is fetched, and each such build run, once per cache; the sources are never
committed. A host without apt-get or dpkg-source (or a step's tools), or without the network the first time, gets
the tests skipped, with the reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from uniforge.core import cache

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
_TIMEOUT = 600


class Unavailable(Exception):
    """The host cannot fetch the package (no tools, no keyring, no network): the reason, in one line."""


def source_tree(package: str) -> Path:
    """The unpacked source package `package` of Debian SUITE (its top folder, e.g. .../bzip2-1.0.8)."""
    missing = [tool for tool in ("apt-get", "dpkg-source") if shutil.which(tool) is None]
    if missing or not KEYRING.is_file():
        raise Unavailable(f"no {' or '.join(missing) or KEYRING} on this host to fetch Debian's {package} sources")
    folder, _ = cache.entry("debian-src", cache.digest(SUITE, package), lambda tmp: _fetch(package, tmp))
    trees = [p for p in folder.iterdir() if p.is_dir()]
    if len(trees) != 1:
        raise Unavailable(f"{folder}: expected one unpacked source tree, found {len(trees)}")
    return trees[0]


def host_build(package: str, steps: tuple[str, ...], tools: tuple[str, ...], *, variant: str = "",
               env: dict[str, str] | None = None, **fields: str) -> Path:
    """A folder in which the shell commands `steps` ran in order (formatted with {tree}, the package's source
    tree, and `fields`), with `env` added to the environment, for the files they generate; `tools` are the host
    commands they need; `variant` tells apart builds whose steps are the same (one per target arch)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise Unavailable(f"no {', '.join(missing)} on this host to run {package}'s build steps")
    tree = source_tree(package)

    def build(into: Path) -> None:
        for step in steps:
            command = step.format(tree=tree, **fields)
            proc = subprocess.run(command, shell=True, cwd=into, capture_output=True, text=True, timeout=_TIMEOUT,
                                  env={**os.environ, **(env or {})})
            if proc.returncode != 0:
                raise RuntimeError(f"{package}: `{command}` exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    folder, _ = cache.entry("debian-build", cache.digest(SUITE, package, variant, *steps), build)
    return folder


def _fetch(package: str, into: Path) -> None:
    work = into / ".apt"
    for sub in ("lists/partial", "cache/archives/partial", "parts"):
        (work / sub).mkdir(parents=True)
    (work / "sources.list").write_text(f"deb-src [signed-by={KEYRING}] {MIRROR} {SUITE} main\n")
    options = [f"-oDir::Etc::SourceList={work / 'sources.list'}", f"-oDir::Etc::SourceParts={work / 'parts'}",
               f"-oDir::State::Lists={work / 'lists'}", f"-oDir::Cache={work / 'cache'}",
               "-oAPT::Sandbox::User=root", "-oDebug::NoLocking=1", "-qq"]
    downloads = work / "downloads"
    downloads.mkdir()
    _run(["apt-get", *options, "update"], work, f"apt-get update for {SUITE}'s sources")
    _run(["apt-get", *options, "source", "--download-only", package], downloads, f"apt-get source {package}")
    dsc = sorted(downloads.glob("*.dsc"))
    if len(dsc) != 1:
        raise Unavailable(f"apt-get source {package} gave {len(dsc)} .dsc files")
    _run(["dpkg-source", "-x", str(dsc[0]), str(into / dsc[0].stem.split("_")[0])], downloads,
         f"dpkg-source -x {dsc[0].name}")
    shutil.rmtree(work)


def _run(command: list[str], cwd: Path, what: str) -> None:
    try:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{what}: no answer in {_TIMEOUT} s") from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise Unavailable(f"{what} failed: {said[-1] if said else f'exit {proc.returncode}'}")
