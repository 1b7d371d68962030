"""Deployment files written beside a Xen image: the `xl` domain config, and on ARM a dom0less device-tree
fragment (embedded Xen systems boot their domUs from the device tree, without a dom0 toolstack)."""
from pathlib import Path

from .errors import ImageError
from .generate import render
from .manifest import memory_mib
from .targets import Target

# Where the dom0less fragment says the zImage is loaded: a placeholder the integrator changes (the runner's rig
# uses the same address).
DOM0LESS_KERNEL_ADDR = 0x50000000


# The frontends that make the domain want a device from the toolstack.
NIC_MODULE = "xennet"
DISK_MODULE = "xenblk"


def write(target: Target, app: str, image: Path, kernel: Path, memory: str, modules: set[str]) -> list[Path]:
    """The files for `image` (`kernel` is the form Xen loads: the ELF on x86_64, the zImage on ARM), whose
    `modules` say which devices it has drivers for. Their guest command line is empty: the app's own `cmdline` is
    in the image already."""
    values = dict(app=app, target=target.name, kernel=kernel.name, memory_mib=memory_mib(memory), cmdline="")
    written = []
    try:
        config = image.with_name(image.name + ".xl.cfg")
        config.write_text(render("xl.cfg.j2", config_name=config.name, guest_type=target.xen["guest_type"],
                                 network=NIC_MODULE in modules, disk=DISK_MODULE in modules, **values))
        written.append(config)
        if target.arch == "armv7":
            fragment = image.with_name(image.name + ".dom0less.dtsi")
            fragment.write_text(dom0less_fragment(kernel_addr=DOM0LESS_KERNEL_ADDR,
                                                  kernel_size=kernel.stat().st_size, xen_bootargs="", **values))
            written.append(fragment)
    except ValueError as e:
        raise ImageError(f"cannot write the Xen deployment files for {image.name}: {e}") from None
    return written


def dom0less_fragment(**values) -> str:
    """The /chosen nodes that make Xen boot a domU from a multiboot module (templates/dom0less.dtsi.j2)."""
    return render("dom0less.dtsi.j2", **values)
