"""Every exit status uniforge chooses, in one table, and one error class per failure status: a user mistake or an
unmet host requirement is one clear message (and a hint), no traceback; only cli.main prints them and exits.

`uniforge run` exits with the guest's own status instead, or with one of RunStatus for the guest's other endings
(platforms/run.py decodes them); `uniforge run --help` is made from that table.
"""
import enum
import sys
from typing import TextIO


@enum.unique
class ExitCode(enum.IntEnum):
    OK = 0
    USER_ERROR = 1          # UniforgeError itself: a wrong value on the command line
    USAGE = 2               # click's own code for a command line it cannot parse
    INTERNAL = 3            # a bug in uniforge: traceback printed
    MANIFEST = 4            # ManifestError
    TARGET = 5              # TargetError
    MODULE = 6              # ModuleError
    COMPILE = 7             # CompileError
    RESOLVE = 8             # ResolveError
    LINK = 9                # LinkError
    TOOL = 10               # ToolError; also `uniforge doctor` when a check fails
    IMAGE = 11              # ImageError
    RUN = 12                # RunError
    DISK = 13               # DiskError
    BENCH = 14              # BenchError
    GUEST_TIMEOUT = 15      # GuestTimeout (the Python API: a wait for the guest ran out of time)
    INTERRUPTED = 130       # Ctrl-C (128 + SIGINT, as a shell reports it)


# What `uniforge run` exits with: the guest's status, or one of RunStatus.
GUEST_STATUSES = ("the guest's own exit status (0-255 arrive unchanged; where it shares a number with one below, "
                  "the line the runner prints on stderr says which it was)")


class RunStatus(enum.IntEnum):
    """The statuses the runner gives the guest's other endings, with what each means."""

    meaning: str

    def __new__(cls, value: int, meaning: str):
        status = int.__new__(cls, value)
        status._value_ = value
        status.meaning = meaning
        return status

    NO_STATUS = 1, "the guest reset or powered off without reporting a status"
    TIMED_OUT = 124, "--timeout expired (as timeout(1))"
    CRASHED = 127, "the guest crashed (a symbolized backtrace is printed) or the hypervisor stopped it"
    INTERRUPTED = ExitCode.INTERRUPTED.value, "interrupted (Ctrl-C: QEMU is ended first)"


def run_statuses() -> str:
    """The table as one sentence, for `uniforge run --help`."""
    reserved = "; ".join(f"{s.value} when {s.meaning}" for s in sorted(RunStatus))
    return f"Exit status: {GUEST_STATUSES}; {reserved}."


class UniforgeError(Exception):
    """A user mistake or an unmet host requirement: one clear message, an optional hint, no traceback. The Python
    API raises these too (uniforge.UniforgeError and its subclasses); the command line prints them (`show`)."""

    exit_code: int = ExitCode.USER_ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def show(self, file: TextIO | None = None) -> None:
        out = file or sys.stderr
        line = f"uniforge: error: {self.message}"
        print(f"\033[31m{line}\033[0m" if out.isatty() else line, file=out)
        if self.hint:
            print(f"  hint: {self.hint}", file=out)


class ManifestError(UniforgeError):
    """uniforge.toml is missing or wrong."""
    exit_code = ExitCode.MANIFEST


class TargetError(UniforgeError):
    """An unknown or malformed target definition."""
    exit_code = ExitCode.TARGET


class ModuleError(UniforgeError):
    """A malformed library-OS module (module.toml or its sources)."""
    exit_code = ExitCode.MODULE


class CompileError(UniforgeError):
    """The C compiler rejected a source file."""
    exit_code = ExitCode.COMPILE


class ResolveError(UniforgeError):
    """Symbols no module provides, or that two modules provide."""
    exit_code = ExitCode.RESOLVE


class LinkError(UniforgeError):
    """The linker failed."""
    exit_code = ExitCode.LINK


class ToolError(UniforgeError):
    """A host tool or download uniforge needs is missing."""
    exit_code = ExitCode.TOOL


class ImageError(UniforgeError):
    """A file that is not a uniforge image, or a damaged one."""
    exit_code = ExitCode.IMAGE


class RunError(UniforgeError):
    """QEMU could not be started or controlled, or `uniforge run` was asked for something it cannot do."""
    exit_code = ExitCode.RUN


class DiskError(UniforgeError):
    """A disk image that is missing, not FAT, damaged, or that a host tool could not read or write."""
    exit_code = ExitCode.DISK


class BenchError(UniforgeError):
    """A benchmark could not be measured: a subject failed to boot, or the peer could not be made."""
    exit_code = ExitCode.BENCH


class GuestTimeout(UniforgeError):
    """A wait for a booted guest (its console showing a pattern, or its end) ran out of time; the guest is left
    running. `stage` says how far its boot got, `console` what it had printed."""
    exit_code = ExitCode.GUEST_TIMEOUT

    def __init__(self, message: str, *, stage: str, console: str, hint: str | None = None):
        super().__init__(message, hint)
        self.stage = stage
        self.console = console
