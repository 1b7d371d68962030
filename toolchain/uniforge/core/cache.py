"""Content-addressed build cache: an entry is a folder named by the hash of everything that produced it."""
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .paths import cache_root


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def hash_files(paths: Iterable[Path], root: Path) -> str:
    """Hash of file names (relative to root) and contents, independent of where root is."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def entry(kind: str, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
    """The cache folder for (kind, key), made by build(tmpdir) when missing. Returns (folder, was_cached).

    The folder appears atomically (rename), so an interrupted build never leaves a half-made entry.
    """
    final = cache_root() / kind / key[:32]
    if final.is_dir():
        return final, True
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        build(tmp)
        os.replace(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
        # Another process made the same entry meanwhile: theirs is as good as ours.
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, False
