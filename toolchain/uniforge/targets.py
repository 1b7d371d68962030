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
COMPILER_KEYS = {"target": str, "app_target": str, "cpu": str, "cflags": list, "libos_cflags": list, "ldflags": list}
LIBC_KEYS = {"arch": str}
QEMU_KEYS = {"binary": str, "accel": str, "machine": str, "cpu": str, "memory": str, "args": list, "status": list,
             "nic_device": str, "disk_device": str}
XEN_KEYS = {"package": str, "file": str, "domain": str, "guest_type": str}
REQUIRED_IN = {"compiler": ("target", "app_target"), "xen": ("package", "file", "domain", "guest_type")}
XEN_DOMAINS = ("dom0", "domu")  # how the runner boots the image on Xen: as dom0, or as a dom0less domU


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
                                required=REQUIRED_IN.get(table, ()))
    if (data["platform"] == "xen") != ("xen" in data):
        raise TargetError(f"{where}: a [xen] table goes with platform = \"xen\", and only with it")
    if "xen" in data and data["xen"]["domain"] not in XEN_DOMAINS:
        raise TargetError(f"{where} [xen]: key 'domain' must be one of {', '.join(XEN_DOMAINS)}")
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
