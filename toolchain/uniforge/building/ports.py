"""Ports: real programs built from Debian's source packages by their own build systems, kept as data in ports/NAME/.

A port is a folder: `uniforge.toml` is an app's manifest (`build` commands, `link_from`, `files`, `cmdline`...)
read as if it lay at the top of the program's unpacked source tree, with the port folder's other files (a
configuration to embed) laid over that tree, plus a [port] table: the Debian source package, its exact version and
the SHA-256 of its .dsc, and a check that a built image works. The sources are never copied into the repository:
they are fetched by name (debsrc.py) and built in a copy in the cache, by the manifest's `build` commands with the
cross toolchain's environment (crosscc.py); that built tree is a cache entry keyed by the port's files, the
sources, the target's compile ABI and the libc the configure checks ran against, so a port's project build runs
once per target. The image is linked from it as from any app with `link_from`."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..core import cache
from ..core.errors import CompileError, ManifestError
from ..core.paths import data_root
from ..core.progress import step
from . import debsrc, manifest as manifests
from .crosscc import CrossToolchain, run_build
from .pipeline import APP_CFLAGS, abi
from .targets import Target


@dataclass(frozen=True)
class Check:
    """How a built image shows it works: booted with `args` (and `stdin`) until it exits, or a server booted with
    `args` and asked on `http_port` (GET `path`) or on `tcp_port` (`send` written, the first answer read); the
    console (or the answer) must match `expect`."""
    expect: str
    args: tuple[str, ...] = ()
    stdin: str = ""
    http_port: int = 0
    path: str = "/"
    tcp_port: int = 0
    send: str = ""


@dataclass(frozen=True)
class PortTable:
    package: str                    # Debian's source package
    version: str                    # its exact version in Debian 12 (bookworm)
    dsc_sha256: str                 # of its .dsc, which pins its tarballs' checksums
    summary: str
    check: Check = field(metadata={"toml": (dict,)})


@dataclass(frozen=True)
class Port:
    name: str
    folder: Path
    table: PortTable
    app: dict                       # the manifest's keys, without [port]

    def source_tree(self) -> Path:
        """Debian's unpacked sources, as fetched (no build has run in them)."""
        return debsrc.source_tree(self.table.package, self.table.version, self.table.dsc_sha256)


def ports_dir() -> Path:
    return data_root() / "ports"


def names() -> list[str]:
    return sorted(p.name for p in ports_dir().iterdir() if (p / manifests.FILENAME).is_file())


def load(name: str) -> Port:
    folder = ports_dir() / name
    path = folder / manifests.FILENAME
    if not path.is_file():
        raise ManifestError(f"no port '{name}' (ports: {', '.join(names())})", hint="`uniforge port list` lists them")
    from ..core import tomlfile
    data = tomlfile.load(path, ManifestError)
    if "port" not in data:
        raise ManifestError(f"{path}: no [port] table (package, version, dsc_sha256, summary, check)")
    port = dict(data.pop("port"))
    tomlfile.check(port, PortTable, f"{path}: [port]", ManifestError)
    tomlfile.check(port["check"], Check, f"{path}: [port.check]", ManifestError)
    check = Check(**{key: tuple(value) if isinstance(value, list) else value for key, value in port["check"].items()})
    # Its keys are checked before any fetch; its paths, which name the built tree's files, once that is made.
    tomlfile.check(data, manifests.Manifest, str(path), ManifestError)
    return Port(name, folder, PortTable(**{**port, "check": check}), data)


def built(port: Port, target: Target) -> manifests.Manifest:
    """The port's manifest for linking its image: its build commands ran (once per target, cached) in a copy of
    the sources with the port's files over them; the manifest reads the result and runs no command."""
    tree = port.source_tree()
    cross = CrossToolchain(target)
    kit = cross.host_kit()
    own = [p for p in sorted(port.folder.rglob("*")) if p.is_file()]
    # APP_CFLAGS: what `uniforge cc` adds to every source, so a port is built again when those change.
    key = cache.digest(cache.hash_files(own, port.folder), str(tree), abi(cross.hosted), *APP_CFLAGS,
                       str(kit.answers.parent), str(cross.tools()))
    log = cache.cache_root() / "port-logs" / f"{port.name}.{target.name}.log"

    def make(into: Path) -> None:
        with step(f"copying {port.table.package} {port.table.version}'s sources"):
            shutil.copytree(tree, into, symlinks=True, dirs_exist_ok=True)
        for path in own:
            if path.name == manifests.FILENAME and path.parent == port.folder:
                continue
            at = into / path.relative_to(port.folder)
            if at.exists():
                raise ManifestError(f"port {port.name}: {path.relative_to(port.folder)} would replace the source "
                                    "package's file of that name: a port adds files, it never changes the sources")
            at.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, at)
        try:
            run_build(manifests.read(port.app, into / manifests.FILENAME), target, log)
        except CompileError as e:
            raise CompileError(f"port {port.name} for {target.name}: {e.message.split(': ', 2)[-1]}",
                               hint=f"its build's output is in {log}") from None

    folder, _ = cache.entry("port-build", key, make)
    return manifests.read({**port.app, "build": []}, folder / manifests.FILENAME)


def image_dir(port: Port, target: Target) -> Path:
    """Where the port's image is linked (the image is relinked at each build; its project build is cached)."""
    return cache.cache_root() / "port-images" / port.name / target.name
