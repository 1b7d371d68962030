"""Strict reading of uniforge's TOML files: every mistake is one line naming the file and the key."""
import difflib
import tomllib
from pathlib import Path
from typing import Any

from .errors import UniforgeError


def load(path: Path, error: type[UniforgeError]) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: not valid TOML: {e}") from None


def check_keys(data: dict, allowed: dict[str, type | tuple[type, ...]], where: str, error: type[UniforgeError],
               required: tuple[str, ...] = ()) -> None:
    """Reject unknown keys (with a suggestion), missing required keys and values of the wrong type."""
    for key, value in data.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(allowed))})"
            raise error(f"{where}: unknown key '{key}'{hint}")
        expected = allowed[key]
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in _as_tuple(expected)):
            raise error(f"{where}: key '{key}' must be {_describe(expected)}, not {_describe(type(value))}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise error(f"{where}: key '{key}' must be a list of strings")
    for key in required:
        if key not in data:
            raise error(f"{where}: missing required key '{key}'")


def _as_tuple(t) -> tuple:
    return t if isinstance(t, tuple) else (t,)


def _describe(t) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a table",
             float: "a number"}
    return " or ".join(names.get(x, x.__name__) for x in _as_tuple(t))
