"""uniforge.toml: what the app is and how to build it. Validated up front; a mistake is one line naming file and key.
Its keys are the fields of Manifest (and of EmbeddedTree for `files`)."""
import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core import sizes, tomlfile
from ..core.errors import ManifestError
from . import targets

FILENAME = "uniforge.toml"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# C, C++ (an image with C++ objects links the C++ runtime, building/cxx.py), assembly with and without the
# preprocessor.
CXX_SUFFIXES = (".cc", ".cpp", ".cxx", ".C")
SOURCE_SUFFIXES = (".c", *CXX_SUFFIXES, ".S", ".s")


@dataclass(frozen=True)
class EmbeddedTree:
    dir: Path                       # absolute
    mount: str = "/"                # absolute guest path


@dataclass(frozen=True)
class Manifest:
    path: Path = field(metadata=tomlfile.NOT_A_KEY)
    name: str
    sources: tuple[Path, ...] = ()  # absolute
    include_dirs: tuple[Path, ...] = ()     # absolute
    cflags: tuple[str, ...] = ()
    cxxflags: tuple[str, ...] = ()  # after cflags, for C++ sources only (-std=c++20)
    target: str = "qemu-x86_64"
    memory: str | None = None       # None: the target's default
    cmdline: str = ""               # built into the image, before what `uniforge run` passes
    debug: bool = False
    # A host folder packed into the image (module embedfs): files = "DIR" or files = { dir = "DIR", mount = "/PATH" }.
    files: EmbeddedTree | None = field(default=None, metadata=tomlfile.toml_types(str, dict))
    disks: bool = True              # FAT and the block driver when the app uses files (default: unless `files`)
    # A host folder whose files are added to the image's /etc (module etcfs), absolute.
    etc: Path | None = field(default=None, metadata=tomlfile.toml_types(str))
    # Software with its own build system: commands run in the app's folder with `uniforge env`'s environment
    # before the image is linked, and what they made: the executable whose objects and archives `uniforge cc`
    # recorded (link_from), or objects and archives named one by one. Paths absolute.
    build: tuple[str, ...] = ()
    link_from: Path | None = field(default=None, metadata=tomlfile.toml_types(str))
    objects: tuple[Path, ...] = ()
    archives: tuple[Path, ...] = ()

    @property
    def root(self) -> Path:
        return self.path.parent

    def source_name(self, source: Path) -> str:
        """A source as the app names it (in reports, the image's manifest and DWARF): relative to the app's
        folder, also when it lies outside it (../lib/x.c)."""
        return os.path.relpath(source, self.root)


def find(start: Path) -> Path:
    """uniforge.toml in start or the nearest parent folder."""
    for folder in [start, *start.parents]:
        if (folder / FILENAME).is_file():
            return folder / FILENAME
    raise ManifestError(f"no {FILENAME} in {start} or any parent folder",
                        hint="run this in an app folder, or make one with `uniforge new NAME`")


def load(path: Path) -> Manifest:
    return read(tomlfile.load(path, ManifestError), path)


def read(data: dict, path: Path, where: str | None = None) -> Manifest:
    """A manifest from its table (uniforge.toml's, or the same keys as Python data), as if it were the file
    `path` (sources and folders are relative to its folder); mistakes name `where` (default: the file)."""
    where = where or str(path)
    tomlfile.check(data, Manifest, where, ManifestError)
    root = path.parent.resolve()
    if not NAME.match(data["name"]):
        raise ManifestError(f"{where}: key 'name': '{data['name']}' must be lower-case letters, digits, - and _")
    if not any(data.get(key) for key in ("sources", "link_from", "objects", "archives")):
        raise ManifestError(f"{where}: no 'sources': list the app's source files (or, for software with its own "
                            "build system, name what it builds: 'link_from', 'objects' or 'archives')")
    sources = []
    for entry in data.get("sources", []):
        pattern = os.path.normpath(root / entry)    # an absolute entry stays itself; ../ leaves the folder
        matched = [Path(p) for p in (sorted(glob.glob(pattern, recursive=True)) if any(c in entry for c in "*?[")
                                     else [pattern])]
        if not matched or not all(p.is_file() for p in matched):
            raise ManifestError(f"{where}: key 'sources': '{entry}' matches no file")
        bad = [p for p in matched if p.suffix not in SOURCE_SUFFIXES]
        if bad:
            raise ManifestError(f"{where}: key 'sources': '{bad[0].name}' is not a C, C++ or assembly source "
                                f"({', '.join(SOURCE_SUFFIXES)}; headers come from 'include_dirs')")
        sources += matched
    include_dirs = []
    for entry in data.get("include_dirs", []):
        if not (root / entry).is_dir():
            raise ManifestError(f"{where}: key 'include_dirs': '{entry}' is not a folder")
        include_dirs.append(root / entry)
    target = data.get("target", Manifest.target)
    if target not in targets.names():
        raise ManifestError(f"{where}: key 'target': unknown target '{target}' "
                            f"(known: {', '.join(targets.names())})")
    memory = data.get("memory")
    if memory is not None:
        sizes.check(memory, f"{where}: key 'memory'", ManifestError)
    files = _embedded_tree(data.get("files"), root, where)
    etc = data.get("etc")
    if etc is not None and not (root / etc).is_dir():
        raise ManifestError(f"{where}: key 'etc': '{etc}' is not a folder")
    for key in ("build", "objects", "archives"):
        if not all(isinstance(entry, str) and entry for entry in data.get(key, [])):
            raise ManifestError(f"{where}: key '{key}': every entry must be a non-empty string")
    link_from = data.get("link_from")
    return Manifest(path=path, name=data["name"], sources=tuple(sources), include_dirs=tuple(include_dirs),
                    cflags=tuple(data.get("cflags", [])), cxxflags=tuple(data.get("cxxflags", [])), target=target,
                    memory=memory,
                    cmdline=data.get("cmdline", ""), debug=data.get("debug", False), files=files,
                    disks=data.get("disks", files is None), etc=root / etc if etc is not None else None,
                    build=tuple(data.get("build", [])),
                    link_from=Path(os.path.normpath(root / link_from)) if link_from is not None else None,
                    objects=tuple(Path(os.path.normpath(root / p)) for p in data.get("objects", [])),
                    archives=tuple(Path(os.path.normpath(root / p)) for p in data.get("archives", [])))


def _embedded_tree(value, root: Path, where: str) -> EmbeddedTree | None:
    """files = "DIR" or files = { dir = "DIR", mount = "/PATH" } (mount defaults to /)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"dir": value}
    tomlfile.check(value, EmbeddedTree, f"{where}: key 'files'", ManifestError)
    folder = root / value["dir"]
    if not folder.is_dir():
        raise ManifestError(f"{where}: key 'files': '{value['dir']}' is not a folder")
    mount = value.get("mount", EmbeddedTree.mount)
    if not mount.startswith("/") or len(mount) > 63 or any(part in (".", "..") for part in mount.split("/")):
        raise ManifestError(f"{where}: key 'files': mount '{mount}' must be an absolute guest path like /www "
                            "(at most 63 bytes, no . or ..)")
    return EmbeddedTree(dir=folder, mount=mount)

