"""One base class for every user-facing error. Each subclass owns its exit code; only cli.main prints them."""
import enum

import click


class ExitCode(enum.IntEnum):
    OK = 0
    USER_ERROR = 1      # a mistake in the input: manifest, target, source, arguments
    USAGE = 2           # click's own code for a bad command line
    INTERNAL = 3        # a bug in uniforge: traceback printed
    # `uniforge run` otherwise exits with the guest's own status (see run.py for the codes it reserves).


class UniforgeError(click.ClickException):
    """A user mistake or an unmet host requirement: one clear message, an optional hint, no traceback."""

    exit_code = ExitCode.USER_ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def show(self, file=None) -> None:
        click.secho(f"uniforge: error: {self.message}", err=True, fg="red")
        if self.hint:
            click.echo(f"  hint: {self.hint}", err=True)


class ManifestError(UniforgeError):
    """uniforge.toml is missing or wrong."""


class TargetError(UniforgeError):
    """An unknown or malformed target definition."""


class ModuleError(UniforgeError):
    """A malformed library-OS module (module.toml or its sources)."""


class CompileError(UniforgeError):
    """The C compiler rejected a source file."""


class ResolveError(UniforgeError):
    """Symbols no module provides, or that two modules provide."""


class LinkError(UniforgeError):
    """The linker failed."""


class ToolError(UniforgeError):
    """A host tool or download uniforge needs is missing."""


class ImageError(UniforgeError):
    """A file that is not a uniforge image, or a damaged one."""


class RunError(UniforgeError):
    """QEMU could not be started or controlled."""


class DiskError(UniforgeError):
    """A disk image that is missing, not FAT, damaged, or that a host tool could not read or write."""


class BenchError(UniforgeError):
    """A benchmark could not be measured: a subject failed to boot, or the peer could not be made."""
