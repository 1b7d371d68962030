"""Uniforge: links a C app with only the library-OS modules it needs into a bootable unikernel image.

The Python API (docs/api.md): build, boot and test images from Python. Importing it loads neither the command
line's libraries nor the build pipeline: each name is imported when first used (api/__init__.py).

    import uniforge
    image = uniforge.build(uniforge.App.load("examples/hello"), "qemu-x86_64")
    result = image.run(["a", "b"], timeout=30)
    with image.boot(publish=[80]) as vm:
        vm.expect(r"listening")
        host, port = vm.port(80)
"""
from typing import TYPE_CHECKING, Any

from . import api
from .core.errors import (BenchError, CompileError, DiskError, GuestTimeout, ImageError, LinkError, ManifestError,
                          ModuleError, ResolveError, RunError, TargetError, ToolError, UniforgeError)
from .core.version import __version__

if TYPE_CHECKING:
    from .api import (QMP, VM, App, Artifact, BuildReport, Check, Crash, Image, PortInfo, Result, TargetInfo, bench,
                      build, build_port, check_port, cross_toolchain, doctor, ports, targets)

__all__ = [
    "App", "Artifact", "BuildReport", "Check", "Crash", "Image", "QMP", "Result", "TargetInfo", "VM", "bench",
    "build", "cross_toolchain", "doctor", "targets", "PortInfo", "build_port", "check_port", "ports",
    "UniforgeError", "ManifestError", "TargetError", "ModuleError", "CompileError", "ResolveError", "LinkError",
    "ToolError", "ImageError", "RunError", "DiskError", "BenchError", "GuestTimeout", "__version__",
]


def __getattr__(name: str) -> Any:
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
