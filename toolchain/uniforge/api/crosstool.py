"""The cross toolchain for software with its own build system (building/crosscc.py): `uniforge cc`, `c++`, `ar`,
`ranlib` and `uniforge env` are this object's methods."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..building.crosscc import CrossToolchain


def cross_toolchain(target: str | None = None) -> CrossToolchain:
    """The cross toolchain of `target` (default: $UNIFORGE_TARGET): `.cc(args)`, `.ar(args)`, `.env()`..."""
    from ..building.crosscc import CrossToolchain, load_target
    return CrossToolchain(load_target(target))
