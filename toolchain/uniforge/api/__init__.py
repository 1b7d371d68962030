"""The Python API (docs/api.md), the layer the command line and the pytest plugin are made of: apps and builds
(app.py), images, guests and their results (image.py), targets, host checks and benchmarks (host.py), and the
versioned JSON documents they print (schema.py). Heavy parts (the build pipeline, QEMU control, DWARF) are
imported when first used, so `import uniforge` stays fast."""

from .app import App, build
from .checks import Check
from .crosstool import cross_toolchain
from .host import CAPABILITIES, TargetInfo, bench, doctor, targets
from .image import QMP, VM, Artifact, BuildReport, Crash, Image, Result
from .ports import PortInfo, build_port, check_port, ports

__all__ = ["App", "Artifact", "BuildReport", "build", "Check", "cross_toolchain", "CAPABILITIES", "TargetInfo", "bench", "doctor",
           "targets", "QMP", "VM", "Crash", "Image", "Result", "PortInfo", "build_port", "check_port", "ports"]
