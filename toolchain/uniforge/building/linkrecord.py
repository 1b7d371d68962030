"""What `uniforge cc` linked an executable from, kept beside it in EXE.uniforge.json: the objects and archives in
the order the build gave them, and the compile ABI they were built for (pipeline.abi). The executable itself is
for the host (configure runs such programs); an image is linked later from the same inputs (`link_from`). Inputs
are kept relative to the executable's folder, so a build folder that moves whole (a port's, made aside and renamed
into the cache) keeps its record true."""
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ManifestError
from ..core.paths import cache_root

SUFFIX = ".uniforge.json"
OBJECT, ARCHIVE = "object", "archive"
# The cache entries of objects `uniforge cc` compiled from sources named on a link line (named by content).
COMPILED_KIND = "cc-objects"


def compiled_folder() -> Path:
    return cache_root() / COMPILED_KIND


@dataclass(frozen=True)
class LinkRecord:
    abi: str
    inputs: tuple[tuple[str, Path], ...]        # (OBJECT or ARCHIVE, absolute path), in link order

    @property
    def objects(self) -> list[Path]:
        return [path for kind, path in self.inputs if kind == OBJECT]

    @property
    def archives(self) -> list[Path]:
        return [path for kind, path in self.inputs if kind == ARCHIVE]


def path_of(executable: Path) -> Path:
    return executable.with_name(executable.name + SUFFIX)


def write(executable: Path, record: LinkRecord) -> None:
    document = {"abi": record.abi, "inputs": [{kind: _relative(path, executable.parent.resolve())}
                                              for kind, path in record.inputs]}
    tmp = path_of(executable).with_name(path_of(executable).name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(tmp, path_of(executable))


def read(executable: Path, abi: str, where: str) -> LinkRecord:
    """The record of `executable`, checked: it exists, it was made for `abi`, its inputs are still there."""
    path = path_of(executable)
    if not executable.is_file():
        raise ManifestError(f"{where}: '{executable}' does not exist (did the build commands link it?)")
    try:
        document = json.loads(path.read_text())
        record = LinkRecord(document["abi"], tuple((kind, Path(os.path.normpath(executable.parent.resolve() / value)))
                                                   for entry in document["inputs"]
                                                   for kind, value in entry.items()))
    except FileNotFoundError:
        raise ManifestError(f"{where}: '{executable.name}' was not linked by `uniforge cc` (no {path.name} beside "
                            "it)", hint='build it with the compiler `eval "$(uniforge env)"` sets (CC), or list '
                                        "'objects' and 'archives' instead") from None
    except (ValueError, KeyError, AttributeError, TypeError):
        raise ManifestError(f"{where}: {path} is damaged: delete it and the executable, and build again") from None
    if record.abi != abi:
        raise ManifestError(f"{where}: '{executable.name}' was built with other compile flags than this target's "
                            "(another target's, or another uniforge's)",
                            hint="clean the project's build (e.g. `make clean`) and build for this target")
    missing = [p for _, p in record.inputs if not p.is_file()]
    if missing:
        raise ManifestError(f"{where}: '{missing[0]}', which '{executable.name}' was linked from, is gone",
                            hint="build the project again")
    return record


def _relative(path: Path, folder: Path) -> str:
    """Relative to the executable's folder, but for objects in the cache (compiled from a link line's sources)."""
    return str(path) if path.is_relative_to(compiled_folder()) else os.path.relpath(path, folder)
