"""The deployment files written beside an image: those the target's `deploy` key names, each rendered from
templates/<name>.j2 (on Xen: the `xl` domain config, and on ARM a dom0less device-tree fragment, with which
embedded Xen systems boot their domUs from the device tree, without a dom0 toolstack)."""
from pathlib import Path

from ..core import sizes
from ..core.errors import ImageError
from .generate import render
from .targets import Target


# The frontends that make a Xen domain want a device from its toolstack (the xl config's vif and disk).
NIC_MODULE = "xennet"
DISK_MODULE = "xenblk"


def write(target: Target, app: str, image: Path, kernel: Path, memory: str, modules: set[str]) -> list[Path]:
    """The files for `image` (`kernel` is the form a loader takes: the raw form if the boot protocol has one,
    else the ELF), whose `modules` say which devices it has drivers for. Their guest command line is empty: the
    app's own `cmdline` is in the image already."""
    values = dict(app=app, target=target.name, kernel=kernel.name, kernel_size=kernel.stat().st_size,
                  memory_mib=sizes.mib(memory), cmdline="", xen_bootargs="", xen=target.xen,
                  network=NIC_MODULE in modules, disk=DISK_MODULE in modules)
    written = []
    for name in target.deploy:
        path = image.with_name(f"{image.name}.{name}")
        try:
            path.write_text(render(f"{name}.j2", file_name=path.name, **values))
        except ValueError as e:
            raise ImageError(f"cannot write {path.name} beside {image.name}: {e}") from None
        written.append(path)
    return written


def dom0less_fragment(**values) -> str:
    """The /chosen nodes that make Xen boot a domU from a multiboot module (templates/dom0less.dtsi.j2)."""
    return render("dom0less.dtsi.j2", **values)
