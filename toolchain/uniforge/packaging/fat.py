"""Small FAT file systems holding a few files (an EFI system partition, a U-Boot boot partition), made with
Debian's dosfstools and mtools as `uniforge disk` makes data disks, but reproducibly: a volume ID from a seed,
mkfs.fat's --invariant, and every timestamp SOURCE_DATE_EPOCH (mtools reads it)."""
import hashlib
import tempfile
from pathlib import Path

from . import tools

CLUSTER = 2048
SLACK = 64 << 10                        # boot sector, two FATs, root directory, and room to spare


def image(files: dict[str, bytes], *, label: str, seed: bytes, epoch: int) -> bytes:
    """A FAT image with `files` (path inside -> contents; folders made as needed), sized to hold them."""
    mkfs, mcopy, mmd = (tools.tool(name, package) for name, package in
                        (("mkfs.fat", "dosfstools"), ("mcopy", "mtools"), ("mmd", "mtools")))
    # Every folder a file is in, parents first.
    folders = sorted({str(parent) for name in files for parent in Path(name).parents} - {"."},
                     key=lambda folder: (folder.count("/"), folder))
    size = SLACK + CLUSTER * (len(folders) + sum(-(-len(data) // CLUSTER) for data in files.values()))
    size = -(-size // (64 << 10)) * (64 << 10)
    volume_id = hashlib.sha256(seed).hexdigest()[:8]
    env = {"SOURCE_DATE_EPOCH": str(epoch), "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    with tempfile.TemporaryDirectory(prefix="uniforge-fat-") as work:
        fs = Path(work) / "fat.img"
        with open(fs, "wb") as f:
            f.truncate(size)
        tools.run([mkfs, "--invariant", "-i", volume_id, "-n", label, "-s", str(CLUSTER // 512), str(fs)],
                  "making a FAT file system (mkfs.fat)", env=env)
        for folder in folders:
            tools.run([mmd, "-i", str(fs), f"::/{folder}"], f"making {folder} in a FAT image (mmd)", env=env)
        for name, data in sorted(files.items()):
            source = Path(work) / "file"
            source.write_bytes(data)
            tools.run([mcopy, "-i", str(fs), "-Q", str(source), f"::/{name}"],
                      f"copying {name} into a FAT image (mcopy)", env=env)
        return fs.read_bytes()
