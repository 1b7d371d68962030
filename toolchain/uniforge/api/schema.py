"""The JSON every command prints for scripts (`--json`) and the Python API returns as dicts: each document carries
`"schema": VERSION`, and its JSON Schema ships beside this file (schemas/NAME.json; docs/json.md describes them).
A change that could break a reader (a key removed, renamed or retyped) raises VERSION; new keys do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VERSION = 1
# The documents, by the command that prints them.
DOCUMENTS = ("build", "package", "run", "inspect", "targets", "modules", "doctor", "disk-ls", "bench", "port-list")


def versioned(document: dict[str, Any]) -> dict[str, Any]:
    return {"schema": VERSION, **document}


def schema_file(name: str) -> Path:
    """The JSON Schema of a document named in DOCUMENTS."""
    if name not in DOCUMENTS:
        raise ValueError(f"no JSON document named {name!r}: known {', '.join(DOCUMENTS)}")
    return Path(__file__).parent / "schemas" / f"{name}.json"
