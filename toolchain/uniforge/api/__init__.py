"""The Python API (docs/api.md), the layer the command line and the pytest plugin are made of: apps and builds
(app.py), images, guests and their results (image.py), targets, host checks and benchmarks (host.py), and the
versioned JSON documents they print (schema.py). Each name is imported from its module when first used, and the
heavy parts (the build pipeline, QEMU control, DWARF) only by the functions that need them, so `import uniforge`
stays fast: a command that needs none of it (`uniforge cc`'s link, run by the CC of `uniforge env`) starts in a
few hundredths of a second."""
import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

# Each public name, by the module that defines it.
_MODULES = {
    "App": "app", "build": "app", "Check": "checks", "cross_toolchain": "crosstool", "CAPABILITIES": "host",
    "TargetInfo": "host", "bench": "host", "doctor": "host", "targets": "host", "QMP": "image", "VM": "image",
    "Artifact": "image", "BuildReport": "image", "Crash": "image", "Image": "image", "Result": "image",
    "PortInfo": "port", "build_port": "port", "check_port": "port", "ports": "port",
}
__all__ = ["App", "Artifact", "BuildReport", "build", "Check", "cross_toolchain", "CAPABILITIES", "TargetInfo", "bench",
           "doctor", "targets", "QMP", "VM", "Crash", "Image", "Result", "PortInfo", "build_port", "check_port", "ports"]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        # A module of the API by its name (api.host), as after the imports that once made every name eagerly.
        if name.isidentifier() and os.path.isfile(os.path.join(os.path.dirname(__file__), f"{name}.py")):
            return import_module(f".{name}", __name__)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # (A module named as one of these names would become that attribute when first imported: none is.)
    value = getattr(import_module(f".{_MODULES[name]}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .app import App, build
    from .checks import Check
    from .crosstool import cross_toolchain
    from .host import CAPABILITIES, TargetInfo, bench, doctor, targets
    from .image import QMP, VM, Artifact, BuildReport, Crash, Image, Result
    from .port import PortInfo, build_port, check_port, ports
