"""Sizes as uniforge.toml, target files and the command line write them: a whole number and K, M or G (binary units,
any case), e.g. 64M, 1G, 1536K. The one parser, so a size that one command accepts every other command accepts."""
import re

_SIZE = re.compile(r"^([1-9][0-9]*)([KMG])$", re.IGNORECASE)
_SHIFT = {"K": 10, "M": 20, "G": 30}


def parse(text: str) -> int | None:
    """The size in bytes, or None if `text` is not a size."""
    match = _SIZE.match(text.strip())
    return int(match[1]) << _SHIFT[match[2].upper()] if match else None


def check(text: str, what: str, error) -> int:
    """The size in bytes; `error` (a UniforgeError class, or ValueError) naming `what` if `text` is not one."""
    size = parse(text)
    if size is None:
        raise error(f"{what}: '{text}' is not a size like 64M or 1G")
    return size


def kib(text: str) -> int:
    """A size known to be valid, in KiB (what QEMU's -m takes at its finest, e.g. 1536K)."""
    return check(text, "size", ValueError) >> 10


def mib(text: str) -> int:
    """A size known to be valid, in MiB (rounded down)."""
    return check(text, "size", ValueError) >> 20
