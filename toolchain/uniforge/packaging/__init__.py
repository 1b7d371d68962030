"""Artifacts that clouds and orchestrators consume, made on the host from a built image, reproducibly (the same
image gives the same bytes, wherever and whenever it is packaged; dates are SOURCE_DATE_EPOCH's, else 1980-01-01,
FAT's first day):

  raw, qcow2, vmdk, vhdx   a disk that boots through firmware: GRUB 2 on BIOS and UEFI (x86_64), U-Boot (ARMv7)
  iso                      a hybrid BIOS + UEFI ISO (GRUB)
  libvirt                  a domain XML that boots the image as its kernel, and one per disk format asked for
  oci                      an OCI image layout (a folder): a KubeVirt containerDisk and a kernel-boot container;
                           `push` copies them to a registry
  openstack                Glance image properties for each disk asked for (qcow2 if none: then made too)
  kubevirt                 a VirtualMachine that boots the containerDisk (oci: then made too)

One plain function, `package`, makes them beside the image (NAME.TARGET.FORMAT) and returns what it wrote; the
command line (`uniforge build -f`, `uniforge package`) and the Python API call it. Each artifact is made in a
folder of its own and moved into place only when all are made: a failure leaves nothing behind."""
from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..building import image as images
from ..building import targets
from ..building.targets import Target
from ..core.errors import ImageError, UniforgeError
from . import diskformats, documents, libvirt, oci
from .loaders import Loader, loader_for

DISKS = tuple(diskformats.QEMU_IMG_FORMATS)         # raw, qcow2, vmdk, vhdx
BOOTABLE = (*DISKS, "iso")                          # what the target's boot loader makes
FORMATS = (*BOOTABLE, "libvirt", "oci", "openstack", "kubevirt")
# What a format needs made too: a disk to describe or put in a container.
NEEDS = {"oci": ("qcow2",), "kubevirt": ("oci",)}
DEFAULT_EPOCH = 315532800                           # 1980-01-01T00:00:00Z: FAT cannot say earlier


@dataclass(frozen=True)
class Artifact:
    format: str
    path: Path
    bytes: int
    sha256: str

    def report(self) -> dict:
        return {"format": self.format, "path": str(self.path), "bytes": self.bytes, "sha256": self.sha256}


def suffix(fmt: str) -> str:
    return f".{fmt}"


def disk_format(path: Path) -> str | None:
    """The format of a disk artifact, from its name; None for anything else (an image, a document)."""
    return next((fmt for fmt in BOOTABLE if path.name.endswith(suffix(fmt))), None)


def epoch() -> int:
    """The time every date in an artifact says: SOURCE_DATE_EPOCH, else DEFAULT_EPOCH."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not value:
        return DEFAULT_EPOCH
    if not value.isdigit():
        raise UniforgeError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds")
    return max(int(value), DEFAULT_EPOCH)


def check_formats(target: Target, formats: Sequence[str], push: str | None = None) -> list[str]:
    """The formats asked for and those they need, checked (known, and makeable for this target) before anything is
    written; each once, in the order given."""
    chosen = []
    wanted = list(formats)
    if "openstack" in wanted and not set(wanted) & set(BOOTABLE):
        wanted.append("qcow2")
    for fmt in wanted:
        wanted += [need for need in NEEDS.get(fmt, ()) if need not in wanted]
    if push is not None:
        if "oci" not in wanted:
            raise ImageError("--push copies the OCI images to a registry: ask for them with -f oci")
        oci.parse_reference(push)
    for fmt in wanted:
        if fmt not in FORMATS:
            close = difflib.get_close_matches(fmt, FORMATS, n=1)
            raise ImageError(f"unknown artifact format '{fmt}'",
                             hint=f"did you mean '{close[0]}'?" if close else f"known: {', '.join(FORMATS)}")
        if fmt in (*BOOTABLE, "oci", "openstack", "kubevirt"):
            loader = loader_for(target)
            if fmt == "iso" and not loader.makes_iso:
                raise ImageError(f"{target.name} makes no ISO: its boot loader ({loader.name}) boots disks only",
                                 hint=f"make a disk instead: {', '.join(DISKS)}")
        if fmt == "libvirt":
            libvirt.check(target)
        if fmt in ("openstack", "kubevirt"):
            documents.check(target, fmt)
        if fmt not in chosen:
            chosen.append(fmt)
    return chosen


def package(image: Path, formats: Sequence[str], *, target: Target | None = None,
            push: str | None = None) -> list[Artifact]:
    """Makes the artifacts `formats` of the built `image` (and those they need) beside it and returns them, in the
    order asked; `push` (REGISTRY/REPO:TAG) copies the OCI images to a registry before anything is moved in place."""
    manifest = images.read(image)
    target = target or targets.load(manifest["target"])
    chosen = check_formats(target, formats, push)
    if not chosen:
        return []
    loader = loader_for(target) if set(chosen) & set(BOOTABLE) else None
    kernel = _boot_kernel(image, target)
    memory = manifest["config"]["memory"]
    when = epoch()
    seed = hashlib.sha256(kernel.read_bytes()).digest()
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{image.name}.", dir=image.parent))
    except OSError as e:
        raise ImageError(f"cannot write beside {image}: {e.strerror}") from None
    try:
        made = _make(loader, target, image, kernel, chosen, staging, seed=seed, epoch=when, memory=memory,
                     app=manifest["app"], cmdline=manifest["config"]["cmdline"], push=push)
        artifacts = []
        for fmt, path in made:
            final = image.with_name(path.name)
            if final.is_dir():
                shutil.rmtree(final)
            os.replace(path, final)
            artifacts.append(_describe(fmt, final))
        return artifacts
    except OSError as e:
        raise ImageError(f"cannot write the artifacts of {image}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make(loader: Loader | None, target: Target, image: Path, kernel: Path, chosen: list[str], staging: Path, *,
          seed: bytes, epoch: int, memory: str, app: str, cmdline: str, push: str | None) -> list[tuple[str, Path]]:
    work = staging / ".work"
    work.mkdir()
    made = []
    disks = [fmt for fmt in chosen if fmt in DISKS]
    if disks:
        raw = work / "disk.raw"
        raw.write_bytes(loader.disk(kernel, image, seed=seed, epoch=epoch, work=work))
        for fmt in disks:
            out = staging / (image.name + suffix(fmt))
            diskformats.convert(raw, fmt, out)
            made.append((fmt, out))
    if "iso" in chosen:
        out = staging / (image.name + suffix("iso"))
        iso_work = work / "iso-work"
        iso_work.mkdir()
        loader.iso(kernel, out, seed=seed, epoch=epoch, work=iso_work)
        made.append(("iso", out))
    if "libvirt" in chosen:
        for fmt in [None, *(f for f in chosen if f in BOOTABLE)]:
            booted = image.name + (suffix(fmt) if fmt else "")
            out = staging / f"{booted}.libvirt.xml"
            out.write_text(libvirt.domain(target, booted, memory=memory, disk_format=fmt))
            made.append(("libvirt", out))
    if "openstack" in chosen:
        for fmt in (f for f in chosen if f in BOOTABLE):
            booted = image.name + suffix(fmt)
            out = staging / f"{booted}.openstack.json"
            disk_bytes = (staging / booted).stat().st_size
            out.write_text(documents.openstack(target, booted, fmt, memory=memory, disk_bytes=disk_bytes))
            made.append(("openstack", out))
    if "oci" in chosen:
        out = staging / (image.name + suffix("oci"))
        oci.write_layout(out, tag=target.name, disk=staging / (image.name + suffix("qcow2")), kernel=kernel,
                         cmdline=cmdline, target=target, app=app, epoch=epoch)
        if push:
            oci.push(out, push, target.name)
        made.append(("oci", out))
    if "kubevirt" in chosen:
        out = staging / f"{image.name}.kubevirt.yaml"
        reference = push or f"localhost/{app}:{target.name}"
        out.write_text(documents.kubevirt(target, app, reference, memory=memory))
        made.append(("kubevirt", out))
    return sorted(made, key=lambda item: chosen.index(item[0]))


def _boot_kernel(image: Path, target: Target) -> Path:
    """The form of the image a boot loader starts: the raw one where the boot protocol has one (ARM's zImage)."""
    raw_suffix = images.RAW_FORMS.get(target.boot)
    if raw_suffix is None:
        return image
    raw = image.with_name(image.name + raw_suffix)
    if not raw.is_file():
        raise ImageError(f"{raw} is missing: rebuild {image.name} (uniforge build writes it beside the image)")
    return raw


def _describe(fmt: str, path: Path) -> Artifact:
    """Its size and SHA-256; for a folder (an OCI layout), the bytes of all its files and the SHA-256 of its
    index.json, which names everything else in it by digest."""
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        return Artifact(fmt, path, size, hashlib.sha256((path / "index.json").read_bytes()).hexdigest())
    data = path.read_bytes()
    return Artifact(fmt, path, len(data), hashlib.sha256(data).hexdigest())
