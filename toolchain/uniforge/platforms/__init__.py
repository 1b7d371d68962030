"""The platforms layer: the ways to boot an image (way.py: the interface; qemu.py: plain QEMU; xen.py: Xen under
QEMU as dom0 or dom0less; xl.py: a domU under a Linux dom0 with xl, on the xl rig; firmware.py: a disk image
through firmware; libvirt.py: through libvirtd), the runner they share (run.py), and the null kernel each is
measured against (floor.py). A target file's `runner` key chooses how its images boot; its disk images boot
through firmware whatever the runner. A new way is one class here and one target file."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from .. import packaging
from ..building.targets import Target
from ..core.errors import RunError, TargetError
from ..running.console import SymbolizeFn
from ..running.devices import NO_NETWORK, Disk, Network
from .firmware import FirmwareBoot
from .libvirt import LibvirtBoot
from .qemu import PlainQemu
from .run import Input, RunResult, terminal_option
from .way import BootRequest, Way
from .xen import XenDom0, XenDom0less
from .xl import XenXl

# The ways a target's `runner` names, and the others, chosen by what is booted (a disk) or how (`--via libvirt`).
RUNNERS: dict[str, type[Way]] = {way.runner: way for way in (PlainQemu, XenDom0, XenDom0less, XenXl)}
WAYS: dict[str, type[Way]] = {**RUNNERS, FirmwareBoot.runner: FirmwareBoot, LibvirtBoot.runner: LibvirtBoot}
VIA = ("qemu", LibvirtBoot.runner)          # `uniforge run --via`: QEMU itself, or libvirt


def way_for(target: Target) -> Way:
    """The way to boot the target's images that its `runner` key names."""
    way = RUNNERS.get(target.runner)
    if way is None:
        close = difflib.get_close_matches(target.runner, RUNNERS, n=1)
        raise TargetError(f"{target.path}: key 'runner': no way to boot named '{target.runner}'",
                          hint=f"did you mean '{close[0]}'?" if close else f"known: {', '.join(RUNNERS)}")
    return way(target)


def way_to_boot(target: Target, path: Path, *, firmware: str | None = None, machine: str | None = None,
                via: str = "qemu") -> Way:
    """The way to boot `path`: through libvirt if `via` says so, else through firmware if it is a disk image, else
    the target's runner."""
    if via not in VIA:
        raise RunError(f"--via {via}: expected one of {', '.join(VIA)}")
    if via == LibvirtBoot.runner:
        return LibvirtBoot(target, firmware=firmware, machine=machine)
    if packaging.disk_format(path) is not None:
        if target.firmware is None:
            raise RunError(f"{path.name} is a disk image: {target.name}'s images do not boot from disks",
                           hint="boot it on the target it was made for (without -t)")
        return FirmwareBoot(target, firmware=firmware, machine=machine)
    if firmware or machine:
        raise RunError(f"--firmware and --machine choose how a disk image boots; {path.name} is not one "
                       f"(.{', .'.join(packaging.BOOTABLE)})")
    return way_for(target)


def run_image(target: Target, image: Path, *, args: Sequence[str] = (), cmdline: str = "", memory: str | None = None,
              timeout: float | None = None, network: Network = NO_NETWORK, disks: Sequence[Disk] = (),
              extra_qemu_args: Sequence[str] = (), console: TextIO | BinaryIO = sys.stdout,
              symbolizer: SymbolizeFn | None = None, stdin: Input | None = None, firmware: str | None = None,
              machine: str | None = None, via: str = "qemu") -> RunResult:
    """Boots `image` the way its target says, or a disk image through firmware (`firmware` and `machine`: the
    target's [firmware] default if None), or through libvirt (`via`), and waits for the guest to end (Way.run);
    the guest's isatty() says whether `stdin` and `console` are a terminal (uf.tty=)."""
    cmdline = f"{cmdline} {terminal_option(stdin, console)}".strip()
    request = BootRequest(tuple(args), cmdline, memory, network, tuple(disks), tuple(extra_qemu_args))
    way = way_to_boot(target, image, firmware=firmware, machine=machine, via=via)
    return way.run(image, request, timeout=timeout, console=console, symbolizer=symbolizer, stdin=stdin)
