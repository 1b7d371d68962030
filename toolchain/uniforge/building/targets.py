"""Targets are data: targets/<name>.toml says everything about a platform: arch, boot protocol, compiler flags, how
`uniforge run` boots the image and with which QEMU, the files deployed beside it, its benchmark floor and peer. The
file's keys are the fields of the dataclasses below; `inherits` reuses another file, table by table (`TABLE = false`
drops an inherited table)."""
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from ..core import sizes, tomlfile
from ..core.errors import TargetError
from ..core.paths import targets_dir


@dataclass(frozen=True)
class Compiler:
    # The library OS is compiled freestanding for `target`; apps and the libc as for Linux with musl (`app_target`),
    # whose syscall ABI the library OS implements: they see what a Linux/musl program sees.
    target: str                                 # zig's target triple for the library OS
    app_target: str                             # the Linux/musl triple for the app and the libc
    cpu: str | None = None
    cflags: tuple[str, ...] = ()                # every object of the image: app, libc, library OS
    libos_cflags: tuple[str, ...] = ()          # the library OS's objects only
    app_cflags: tuple[str, ...] = ()            # the app's, the libc's and the C++ runtime's objects only
    ldflags: tuple[str, ...] = ()
    # Built -fPIC/-fPIE and linked -pie: the image applies its own relocations wherever it is loaded.
    position_independent: bool = False


@dataclass(frozen=True)
class Libc:
    arch: str                                   # musl's name for the arch


@dataclass(frozen=True)
class Qemu:
    """The QEMU that boots the image, or the hypervisor with the image on it."""
    binary: str
    accel: str                                  # tcg or kvm
    machine: str
    cpu: str
    memory: str                                 # the guest's RAM unless the app or `uniforge run --mem` says
    args: tuple[str, ...] = ()
    nic_device: str = ""                        # device models for `uniforge run --net/-p` and `--disk`
    disk_device: str = ""
    # The guest's status channel, where it says what its exit device cannot carry (libos/exit/include/uf/exit.h):
    # options that write to the QEMU chardev the runner gives (platforms/run.py STATUS_CHARDEV).
    status: tuple[str, ...] = ()


@dataclass(frozen=True)
class Xen:
    """The Xen hypervisor the runner boots under QEMU (runners xen-dom0, xen-dom0less, xen-xl), and the image's
    place on it."""
    package: str                                # Debian package the runner fetches the hypervisor from (cached)
    file: str                                   # the hypervisor in it
    guest_type: str                             # xl's `type`
    args: str                                   # Xen's own command line on the rig
    reserved_mib: int                           # board RAM beside the guest's: Xen's own and its heap
    min_board_mib: int = 0                      # at least this much board RAM
    load_address: int | None = None             # where the kernel is put in RAM (rig, dom0less fragment)
    dom0_loader: str = ""                       # how QEMU hands dom0's kernel to Xen: multiboot or guest-loader


@dataclass(frozen=True)
class Firmware:
    """How the target's images boot from a disk (`uniforge build -f raw|qcow2|vmdk|vhdx|iso`): the boot loader put
    on the disk, and the machines and firmware that boot it (`uniforge run DISK`, the libvirt domain, the cloud
    documents). The boot disk's device model is one the image has no driver for, so the app's disks stay its own."""
    loader: str                                 # grub (x86_64: BIOS and UEFI) or u-boot (ARMv7: U-Boot and UEFI)
    machines: tuple[str, ...]                   # QEMU machines that boot the disks (`uniforge run --machine`)
    boot_device: str                            # QEMU device model of the boot disk
    cdrom_device: str = ""                      # and of an ISO ("": the loader makes none)
    args: tuple[str, ...] = ()                  # QEMU options, instead of [qemu] args (which name qboot)
    bios: str = ""                              # a BIOS (SeaBIOS): -bios
    uefi: str = ""                              # UEFI code (OVMF), read-only flash
    uefi_vars: str = ""                         # UEFI variables: a copy of this in the second flash, per boot
    uboot: str = ""                             # U-Boot: -bios
    uefi_min_mib: int = 0                       # RAM the UEFI firmware needs at least: a guest gets this much
    default: str = ""                           # `uniforge run --firmware`'s default (else the first it takes)

    def firmwares(self) -> tuple[str, ...]:
        """The firmware names `uniforge run --firmware` takes, the default first: those the table gives a file."""
        names = tuple(name for name in ("bios", "uefi", "uboot") if getattr(self, name))
        return tuple(sorted(names, key=lambda name: name != self.default))


@dataclass(frozen=True)
class Xl:
    """The xl rig's dom0 (runner xen-xl: platforms/xl.py), made from Debian packages."""
    apt_arch: str                               # Debian's name for the arch: amd64, armhf
    dom0_kernel: str                            # the kernel's metapackage, e.g. linux-image-amd64
    bus: str                                    # where QEMU puts the rig's devices: pci or mmio
    # xl settings the rig adds to every domain it creates: where the rig's machine differs from a real host's
    domain_settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bench:
    floor: str                                  # bench/null/<floor>.S: the null kernel this target is measured against
    peer: str = ""                              # the `uniforge bench --peer` that runs on it (linux), if any
    host_tsc: bool = False                      # the guest's TSC is the host's (TCG on an x86_64 host)


@dataclass(frozen=True)
class Guest:
    """What the guest finds on this platform beyond what its modules give it."""
    wall_clock: bool = True                     # a wall clock (else it starts in 1970)
    # RAM in one piece up to this size (MiB); above it the platform splits it (0: whatever the memory size).
    contiguous_mib: int = 0


@dataclass(frozen=True)
class Target:
    name: str = field(metadata=tomlfile.NOT_A_KEY)
    path: Path = field(metadata=tomlfile.NOT_A_KEY)
    summary: str
    arch: str
    platform: str                               # chooses module sources (libos/*/module.toml) with the arch
    boot: str                                   # the boot protocol the image carries: pvh, zimage
    linker_script: str
    modules: tuple[str, ...]                    # linked into every image of this target
    exit: str                                   # how the guest's status reaches the runner
    runner: str                                 # how `uniforge run` boots it: qemu, xen-dom0, xen-dom0less, xen-xl
    compiler: Compiler
    libc: Libc
    qemu: Qemu
    bench: Bench
    # Where several modules define what an image needs (virtio-mmio and virtio-pci both define the virtio
    # transport), the one this target takes; linked only when needed, unlike `modules`.
    picks: tuple[str, ...] = ()
    deploy: tuple[str, ...] = ()                # files written beside the image, from templates/<name>.j2
    xen: Xen | None = None
    firmware: Firmware | None = None            # its images also boot from disks, through firmware
    xl: Xl | None = None
    guest: Guest = Guest()


def names() -> list[str]:
    return sorted(p.stem for p in targets_dir().glob("*.toml"))


def load(name: str) -> Target:
    data = _merged(name, [])
    path = targets_dir() / f"{name}.toml"
    data.pop("inherits", None)
    target = tomlfile.read(Target, data, str(path), TargetError, name=name, path=path)
    sizes.check(target.qemu.memory, f"{path} [qemu]: key 'memory'", TargetError)
    return target


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
        elif value is False and isinstance(merged.get(key), dict):
            del merged[key]
        else:
            merged[key] = value
    return merged
