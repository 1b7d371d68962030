"""The platforms layer: the ways to boot an image (way.py: the interface; qemu.py: plain QEMU; xen.py: Xen under
QEMU as dom0 or dom0less; xl.py: a domU under a Linux dom0 with xl, on the xl rig), the runner they share (run.py), and the null kernel each is measured against (floor.py).
A target file's `runner` key chooses its way; a new way is one class here and one target file."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from ..building.targets import Target
from ..core.errors import TargetError
from ..running.console import SymbolizeFn
from ..running.devices import NO_NETWORK, Disk, Network
from .qemu import PlainQemu
from .run import Input, RunResult, terminal_option
from .way import BootRequest, Way
from .xen import XenDom0, XenDom0less
from .xl import XenXl

WAYS: dict[str, type[Way]] = {way.runner: way for way in (PlainQemu, XenDom0, XenDom0less, XenXl)}


def way_for(target: Target) -> Way:
    """The way to boot the target's images that its `runner` key names."""
    way = WAYS.get(target.runner)
    if way is None:
        close = difflib.get_close_matches(target.runner, WAYS, n=1)
        raise TargetError(f"{target.path}: key 'runner': no way to boot named '{target.runner}'",
                          hint=f"did you mean '{close[0]}'?" if close else f"known: {', '.join(WAYS)}")
    return way(target)


def run_image(target: Target, image: Path, *, args: Sequence[str] = (), cmdline: str = "", memory: str | None = None,
              timeout: float | None = None, network: Network = NO_NETWORK, disks: Sequence[Disk] = (),
              extra_qemu_args: Sequence[str] = (), console: TextIO | BinaryIO = sys.stdout,
              symbolizer: SymbolizeFn | None = None, stdin: Input | None = None) -> RunResult:
    """Boots `image` the way its target says and waits for the guest to end (Way.run); the guest's isatty() says
    whether `stdin` and `console` are a terminal (uf.tty=)."""
    cmdline = f"{cmdline} {terminal_option(stdin, console)}".strip()
    request = BootRequest(tuple(args), cmdline, memory, network, tuple(disks), tuple(extra_qemu_args))
    return way_for(target).run(image, request, timeout=timeout, console=console, symbolizer=symbolizer, stdin=stdin)
