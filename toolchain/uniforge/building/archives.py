"""Static archives (ar format) read in Python: the index of an app's archive that the resolver walks, member by
member, as it walks the libc's."""
import io
from pathlib import Path

from ..core.errors import LinkError
from .elfsyms import object_symbols

MAGIC = b"!<arch>\n"


def members(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of each member, GNU (`//` long names) and BSD (`#1/N`) forms; the symbol tables left out."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise LinkError(f"{path} is not an archive (ar)")
    found, long_names, at = [], b"", len(MAGIC)
    while at + 60 <= len(data):
        header = data[at:at + 60]
        name, size = header[:16].decode(errors="replace").rstrip(), int(header[48:58].decode().strip() or 0)
        body = data[at + 60:at + 60 + size]
        at += 60 + size + (size & 1)
        if name == "//":
            long_names = body
        elif name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED"):
            continue
        elif name.startswith("#1/"):
            length = int(name[3:])
            found.append((body[:length].rstrip(b"\0").decode(errors="replace"), body[length:]))
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            found.append((long_names[start:long_names.index(b"/\n", start)].decode(errors="replace"), body))
        else:
            found.append((name.removesuffix("/"), body))
    return found


def index(path: Path) -> dict[str, dict[str, list[str]]]:
    """member -> its symbols (elfsyms.object_symbols) for each ELF member; a name used twice gets #2, #3..."""
    result: dict[str, dict[str, list[str]]] = {}
    for name, body in members(path):
        if not body.startswith(b"\x7fELF"):
            continue
        key, n = name, 1
        while key in result:
            n += 1
            key = f"{name}#{n}"
        result[key] = object_symbols(io.BytesIO(body))
    return result
