"""The embedded read-only tree (manifest key `files`): a host folder packed into one blob that module embedfs mounts.
The format is described in libos/embedfs/include/uf/embedfs.h. Reproducible: entries sorted, no timestamps, no
owners, so the same folder gives the same bytes."""
import struct
from pathlib import Path

from ..core.errors import ManifestError

MAGIC = b"UFTREE01"
FILE, DIR = 1, 2
_HEADER = struct.Struct("<8sII")
_ENTRY = struct.Struct("<IHHII")
LIMIT = 1 << 31                 # offsets are 32-bit


def sort_key(path: str) -> bytes:
    """Bytes with '/' below every other byte: a folder's contents follow it (the guest's binary search uses this)."""
    return path.encode().replace(b"/", b"\0")


def collect(root: Path) -> list[tuple[str, Path]]:
    """(relative path, host path) of every folder and regular file under root, in tree order."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
            raise ManifestError(f"key 'files': {path} is a symbolic link out of {root}")
        if not (path.is_dir() or path.is_file()):
            raise ManifestError(f"key 'files': {path} is not a regular file or folder")
        if len(rel.encode()) > 240:
            raise ManifestError(f"key 'files': path '{rel}' is longer than 240 bytes")
        found.append((rel, path))
    return sorted(found, key=lambda item: sort_key(item[0]))


def pack(root: Path) -> bytes:
    items = collect(root)
    table_end = _HEADER.size + _ENTRY.size * len(items)
    strings = bytearray()
    data = bytearray()
    layout = []
    for rel, path in items:
        name = rel.encode()
        path_off = table_end + len(strings)
        strings += name
        if path.is_dir():
            layout.append((path_off, len(name), DIR, 0, 0))
            continue
        layout.append((path_off, len(name), FILE, len(data), path.stat().st_size))
        data += path.read_bytes()
        data += bytes(-len(data) % 8)
    data_start = table_end + len(strings) + (-(table_end + len(strings)) % 8)
    if data_start + len(data) >= LIMIT:
        raise ManifestError(f"key 'files': {root} holds more than {LIMIT >> 20} MiB")
    out = bytearray(_HEADER.pack(MAGIC, len(items), 0))
    for path_off, path_len, kind, data_off, size in layout:
        out += _ENTRY.pack(path_off, path_len, kind, data_start + data_off if kind == FILE else 0, size)
    out += strings
    out += bytes(data_start - len(out))
    out += data
    return bytes(out)
