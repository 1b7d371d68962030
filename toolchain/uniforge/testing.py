"""Driving uniforge's command line as its users do, for the test suite and the benchmark scripts (one copy of each
helper): the command line in a child process, an image's modules as `uniforge inspect` reports them, and the QEMU
processes a runner started. The targets a test runs on, building and booting are the pytest plugin's
(pytest_plugin.py) and the API's (uniforge.targets: capabilities read from the targets' data)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .core.paths import uniforge_command, uniforge_environment
from .running.devices import free_port  # noqa: F401 - the bench scripts' and tests' free port


def uniforge(*args: str, cwd: Path | str | None = None, timeout: float = 600, check: bool = False,
             env: dict[str, str] | None = None, input: str | bytes | None = None,
             text: bool = True) -> subprocess.CompletedProcess:
    """The real command line, in a child process, as a user runs it, with `input` as its stdin (else none: `uniforge
    run` passes its stdin to the guest); `text=False`: input and output as bytes, else text with U+FFFD for what is
    not UTF-8 (the guest's console is 8-bit clean); `check`: fail with everything it said."""
    proc = subprocess.run(uniforge_command(*args), cwd=cwd, env=env or uniforge_environment(), capture_output=True,
                          text=text, errors="replace" if text else None, timeout=timeout, input=input,
                          stdin=subprocess.DEVNULL if input is None else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"uniforge {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def image_modules(image_path: Path | str, cwd: Path | str | None = None) -> set[str]:
    """The library-OS modules linked into an image, as `uniforge inspect --json` reports them."""
    return set(json.loads(uniforge("inspect", "--json", str(image_path), cwd=cwd, check=True).stdout)["modules"])


def qemu_processes(*, parent: int | None = None, naming: Path | str | None = None) -> list[int]:
    """The QEMU processes running now: children of `parent` (a runner: QEMU runs in a session of its own), and
    those whose command line names `naming` (an image)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue            # it exited meanwhile, or is not ours to read
        comm, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if not comm.startswith("qemu-system"):
            continue
        if parent is not None and int(fields[1]) != parent:
            continue
        if naming is not None and str(naming).encode() not in cmdline:
            continue
        found.append(int(entry.name))
    return found
