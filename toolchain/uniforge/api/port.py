"""Ports (building/ports.py): real programs from Debian's sources, built by their own build systems and kept as data
in ports/NAME/. `ports()` lists them, `build_port(name, target)` returns the Image (the project's build cached per
target), `check_port` boots it and checks what its [port] table's check expects."""
from __future__ import annotations

import http.client
import re
import socket
import time
from dataclasses import dataclass

from ..core import progress
from ..core.errors import RunError
from .app import App, build
from .image import Image


@dataclass(frozen=True)
class PortInfo:
    name: str
    package: str
    version: str
    summary: str


def ports() -> list[PortInfo]:
    from ..building import ports as known
    found = [known.load(name) for name in known.names()]
    return [PortInfo(p.name, p.table.package, p.table.version, p.table.summary) for p in found]


def build_port(name: str, target: str | None = None, *, progress_on_stderr: bool = False) -> Image:
    """The port's image for `target` (default qemu-x86_64): fetched, built by its own build system (once per
    target, in the cache), linked."""
    from ..building import ports as known, targets
    port = known.load(name)
    chosen = targets.load(target or "qemu-x86_64")
    was_quiet, progress.quiet = progress.quiet, not progress_on_stderr
    try:
        app = App.of(known.built(port, chosen))
    finally:
        progress.quiet = was_quiet
    return build(app, chosen.name, out_dir=known.image_dir(port, chosen), progress_on_stderr=progress_on_stderr)


def check_port(image: Image, name: str, timeout: float = 300) -> str:
    """Boots the port's image as its check says and returns what it showed (the console, or the page it
    served); RunError, naming what was expected, if that does not match."""
    from ..building import ports as known
    check = known.load(name).table.check
    if check.http_port:
        with image.boot(list(check.args), publish=[check.http_port], timeout=timeout) as vm:
            shown = _get(*vm.port(check.http_port), check.path, timeout)
    elif check.tcp_port:
        with image.boot(list(check.args), publish=[check.tcp_port], timeout=timeout) as vm:
            shown = _ask(*vm.port(check.tcp_port), check.send, timeout)
    else:
        result = image.run(list(check.args), stdin=check.stdin.encode(), timeout=timeout)
        shown = result.console
        if not result.ok:
            raise RunError(f"port {name}: {result.message}", hint=shown[-500:])
    if not re.search(check.expect, shown):
        raise RunError(f"port {name}: its check expected /{check.expect}/", hint=f"it showed: {shown[-500:]!r}")
    return shown


def _ask(host: str, port: int, send: str, timeout: float) -> str:
    """`send`'s answer, once the guest answers: the port forward accepts before the guest listens, then closes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=30) as connection:
                connection.sendall(send.encode())
                answer = connection.recv(1 << 16)
                if answer:
                    return answer.decode(errors="replace")
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RunError(f"nothing answered on {host}:{port} in {timeout:g} s")
        time.sleep(1)


def _get(host: str, port: int, path: str, timeout: float) -> str:
    """GET path, once the guest answers (its address comes first, its listen() a little later)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection(host, port, timeout=30)
            connection.request("GET", path)
            return connection.getresponse().read().decode(errors="replace")
        except (OSError, http.client.HTTPException, socket.timeout):
            if time.monotonic() > deadline:
                raise RunError(f"nothing answered HTTP on {host}:{port} in {timeout:g} s") from None
            time.sleep(1)
