"""Strict reading of uniforge's TOML files into frozen dataclasses: the keys a file may have are the dataclass's
fields (never a list kept beside it), and every mistake is one line naming the file and the key."""
import dataclasses
import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from .errors import UniforgeError

# Field metadata: a field that is not a key of the file (e.g. where the file is), or the TOML types a key takes
# where they are not those of the field (a shorthand, a value resolved after reading).
NOT_A_KEY = {"key": False}


def toml_types(*kinds: type) -> dict:
    return {"toml": kinds}


def load(path: Path, error: type[UniforgeError]) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: not valid TOML: {e}") from None


def load_checked(path: Path, cls, error: type[UniforgeError]) -> dict[str, Any]:
    """The file's table, its keys checked against `cls`'s fields (the values are for the caller to resolve)."""
    data = load(path, error)
    check(data, cls, str(path), error)
    return data


def check(data: dict, cls, where: str, error: type[UniforgeError]) -> None:
    """`data`'s keys checked against `cls`'s fields: unknown, missing required, wrong TOML types."""
    check_keys(data, keys(cls), where, error, required(cls))


def keys(cls) -> dict[str, tuple[type, ...]]:
    """The keys of a file read as `cls`, each with the TOML types it takes, derived from the fields' types."""
    hints = typing.get_type_hints(cls)
    return {f.name: f.metadata.get("toml") or _toml_types(hints[f.name])
            for f in dataclasses.fields(cls) if f.metadata.get("key", True)}


def required(cls) -> tuple[str, ...]:
    """The keys without a default."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("key", True)
                 and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def read(cls, data: dict, where: str, error: type[UniforgeError], **values):
    """`data` checked against `cls` (keys, required keys, TOML types) and made into one; its tables into the
    dataclasses of their fields, lists into tuples. `values`: the fields that are not keys."""
    check(data, cls, where, error)
    hints = typing.get_type_hints(cls)
    for name, value in data.items():
        values[name] = _convert(hints[name], value, f"{where} [{name}]", error)
    return cls(**values)


def _convert(hint, value, where: str, error):
    inner = _dataclass_in(hint)
    if inner is not None and isinstance(value, dict):
        return read(inner, value, where, error)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    return value


def _dataclass_in(hint):
    """The dataclass a field holds (`Table` or `Table | None`), or None."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    return next((o for o in options if dataclasses.is_dataclass(o)), None)


def _is_union(hint) -> bool:
    return isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union


def _toml_types(hint) -> tuple[type, ...]:
    if _is_union(hint):
        return tuple(t for option in typing.get_args(hint) if option is not type(None) for t in _toml_types(option))
    origin = typing.get_origin(hint) or hint
    if dataclasses.is_dataclass(origin) or origin is dict:
        return (dict,)
    if origin in (tuple, list):
        return (list,)
    if origin is Path:
        return (str,)
    return (origin,)


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
