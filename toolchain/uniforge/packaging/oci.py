"""OCI image layouts written by our own code from the OCI image specification 1.1 (image-layout.md, manifest.md,
config.md, layer.md): no container engine needed. The layout holds two images, both `linux` for the target's arch:

  TAG          a KubeVirt containerDisk: the qcow2 disk at /disk/NAME.qcow2, owned by UID/GID 107 (KubeVirt's qemu
               user) and readable only by it, as KubeVirt's documentation builds one
  TAG-kernel   a container for KubeVirt's kernelBoot: the image (the kernel) at /boot/NAME, with its default
               command line as the label org.uniforge.kernel.cmdline

Everything in it is deterministic: tar members sorted with fixed owners, modes and dates (the epoch), gzip without a
name or date, JSON with sorted keys, so two builds give the same digests. `push` copies both images to a registry
with skopeo (Debian's), which speaks the distribution API."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

from ..building.targets import Target
from ..core.errors import ImageError
from . import tools

QEMU_UID = 107                          # KubeVirt's qemu user, which must read a containerDisk's disk
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
PLATFORMS = {"x86_64": {"architecture": "amd64", "os": "linux"},
             "armv7": {"architecture": "arm", "variant": "v7", "os": "linux"}}


def kernel_tag(tag: str) -> str:
    return f"{tag}-kernel"


def write_layout(out: Path, *, tag: str, disk: Path, kernel: Path, cmdline: str, target: Target, app: str,
                 epoch: int) -> None:
    """The layout at `out` (a folder): the containerDisk as `tag`, the kernel-boot container as `tag`-kernel."""
    platform = PLATFORMS.get(target.arch)
    if platform is None:
        raise ImageError(f"no OCI platform for arch {target.arch}")
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    labels = {"org.opencontainers.image.title": app, "org.uniforge.target": target.name}
    disk_layer = _layer({"disk": None, f"disk/{disk.name}": disk}, owner=QEMU_UID, mode=0o440, epoch=epoch)
    kernel_layer = _layer({"boot": None, f"boot/{kernel.name}": kernel}, owner=0, mode=0o444, epoch=epoch)
    manifests = [
        _image(blobs, disk_layer, platform, labels, epoch, tag),
        _image(blobs, kernel_layer, platform, {**labels, "org.uniforge.kernel.cmdline": cmdline}, epoch,
               kernel_tag(tag)),
    ]
    (out / "oci-layout").write_bytes(_json({"imageLayoutVersion": "1.0.0"}))
    (out / "index.json").write_bytes(_json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}))


def push(layout: Path, reference: str, tag: str) -> None:
    """Copies the layout's two images to REGISTRY/REPO:TAG and REGISTRY/REPO:TAG-kernel (skopeo). A registry on
    this host (localhost, 127.0.0.1) may speak plain HTTP, as docker allows; any other must speak TLS."""
    skopeo = tools.tool("skopeo", "skopeo")
    registry, repository, pushed_tag = parse_reference(reference)
    local = registry.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    for source, dest in ((tag, pushed_tag), (kernel_tag(tag), kernel_tag(pushed_tag))):
        tools.run([skopeo, "copy", "--quiet", f"--dest-tls-verify={'false' if local else 'true'}",
                   f"oci:{layout}:{source}", f"docker://{registry}/{repository}:{dest}"],
                  f"pushing {registry}/{repository}:{dest} (skopeo)")


def parse_reference(reference: str) -> tuple[str, str, str]:
    """REGISTRY/REPO:TAG -> (registry, repository, tag); ImageError if it is not one."""
    registry, _, rest = reference.partition("/")
    repository, _, tag = rest.rpartition(":")
    if not registry or not repository or not tag or "/" in tag or not ("." in registry or ":" in registry
                                                                        or registry == "localhost"):
        raise ImageError(f"--push {reference}: expected REGISTRY/REPOSITORY:TAG, e.g. localhost:5000/hello:1")
    return registry, repository, tag


def _image(blobs: Path, layer: tuple[bytes, bytes], platform: dict, labels: dict, epoch: int, tag: str) -> dict:
    compressed, tar = layer
    config = {**platform, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
              "config": {"Labels": labels}, "rootfs": {"type": "layers", "diff_ids": [_digest(tar)]}}
    config_blob = _json(config)
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                "config": _descriptor(blobs, MEDIA_CONFIG, config_blob),
                "layers": [_descriptor(blobs, MEDIA_LAYER, compressed)], "annotations": labels}
    descriptor = _descriptor(blobs, MEDIA_MANIFEST, _json(manifest))
    return {**descriptor, "platform": platform, "annotations": {REF_NAME: tag}}


def _layer(entries: dict[str, Path | None], *, owner: int, mode: int, epoch: int) -> tuple[bytes, bytes]:
    """(gzip of the tar, the tar): folders (None) owned by root, files by `owner` with `mode`, all dated `epoch`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, path in sorted(entries.items()):
            info = tarfile.TarInfo(name)
            info.mtime = epoch
            info.uname = info.gname = ""
            if path is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                data = path.read_bytes()
                info.size, info.mode, info.uid, info.gid = len(data), mode, owner, owner
                tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, compresslevel=9, mtime=0) as gz:
        gz.write(tar_bytes)
    return packed.getvalue(), tar_bytes


def _descriptor(blobs: Path, media_type: str, data: bytes) -> dict:
    digest = _digest(data)
    (blobs / digest.split(":")[1]).write_bytes(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
