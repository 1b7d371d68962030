"""Targets are data: targets/<name>.toml says arch, platform, boot protocol, compiler flags and how QEMU runs it."""
import difflib
from dataclasses import dataclass
from pathlib import Path

from . import tomlfile
from .errors import TargetError
from .paths import targets_dir

KEYS = {"inherits": str, "summary": str, "arch": str, "platform": str, "boot": str, "linker_script": str,
        "modules": list, "picks": list, "exit": str, "compiler": dict, "libc": dict, "qemu": dict, "xen": dict}
REQUIRED = ("summary", "arch", "platform", "boot", "linker_script", "modules", "exit", "compiler", "libc", "qemu")
COMPILER_KEYS = {"target": str, "cpu": str, "cflags": list, "libos_cflags": list, "ldflags": list}
LIBC_KEYS = {"arch": str}
QEMU_KEYS = {"binary": str, "accel": str, "machine": str, "cpu": str, "memory": str, "args": list,
             "nic_device": str, "disk_device": str}
XEN_KEYS = {"package": str, "file": str, "domain": str, "guest_type": str,
            # the xl rig (xlrig.py): dom0's Debian architecture and kernel, QEMU's machine and bus, Xen's options
            "apt_arch": str, "dom0_kernel": str, "rig_machine": str, "rig_bus": str, "rig_xen_args": str}
XL_RIG_KEYS = ("apt_arch", "dom0_kernel", "rig_machine", "rig_bus", "rig_xen_args")
# How the runner boots the image on Xen: a domU under a Linux dom0 and xl, Xen's dom0, or a dom0less domU.
XEN_DOMAINS = ("xl", "dom0", "domu")


@dataclass(frozen=True)
class Target:
    name: str
    summary: str
    arch: str
    platform: str
    boot: str
    linker_script: str
    modules: tuple[str, ...]        # linked into every image of this target
    exit: str                       # how the guest's status reaches the runner
    compiler: dict
    libc: dict
    qemu: dict
    path: Path
    xen: dict | None = None         # Xen targets: where the hypervisor comes from, how the runner boots the image
    # Where several modules define what an image needs (virtio-mmio and virtio-pci both define the virtio
    # transport), the one this target takes; linked only when needed, unlike `modules`.
    picks: tuple[str, ...] = ()


def names() -> list[str]:
    return sorted(p.stem for p in targets_dir().glob("*.toml"))


def load(name: str) -> Target:
    data = _merged(name, [])
    where = str(targets_dir() / f"{name}.toml")
    data.pop("inherits", None)
    tomlfile.check_keys(data, KEYS, where, TargetError, REQUIRED)
    for table, keys in (("compiler", COMPILER_KEYS), ("libc", LIBC_KEYS), ("qemu", QEMU_KEYS), ("xen", XEN_KEYS)):
        if table in data:
            tomlfile.check_keys(data[table], keys, f"{where} [{table}]", TargetError,
                                required=("package", "file", "domain", "guest_type") if table == "xen" else ())
    if (data["platform"] == "xen") != ("xen" in data):
        raise TargetError(f"{where}: a [xen] table goes with platform = \"xen\", and only with it")
    if "xen" in data and data["xen"]["domain"] not in XEN_DOMAINS:
        raise TargetError(f"{where} [xen]: key 'domain' must be one of {', '.join(XEN_DOMAINS)}")
    if "xen" in data and data["xen"]["domain"] == "xl":
        missing = [key for key in XL_RIG_KEYS if key not in data["xen"]]
        if missing:
            raise TargetError(f"{where} [xen]: a domU under xl needs the rig's {', '.join(missing)}")
        if data["xen"]["rig_bus"] not in ("pci", "mmio"):
            raise TargetError(f"{where} [xen]: key 'rig_bus' must be pci or mmio")
    data["modules"] = tuple(data["modules"])
    data["picks"] = tuple(data.get("picks", ()))
    return Target(name=name, path=Path(where), **data)


def _merged(name: str, seen: list[str]) -> dict:
    """The target's table with its `inherits` chain applied: tables merge key by key, other values replace."""
    path = targets_dir() / f"{name}.toml"
    if not path.exists():
        close = difflib.get_close_matches(name, names(), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "`uniforge targets` lists them"
        raise TargetError(f"unknown target '{name}'" + (f" (inherited by '{seen[-1]}')" if seen else ""), hint=hint)
    if name in seen:
        raise TargetError(f"{path}: 'inherits' makes a cycle: {' -> '.join(seen + [name])}")
    own = tomlfile.load(path, TargetError)
    parent = own.get("inherits")
    if parent is None:
        return own
    if not isinstance(parent, str):
        raise TargetError(f"{path}: key 'inherits' must be a string")
    merged = _merged(parent, seen + [name])
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
