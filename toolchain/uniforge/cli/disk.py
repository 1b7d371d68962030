"""Disk images for `uniforge run --disk`: FAT file systems made and read on the host with Debian's dosfstools
(mkfs.fat, the reference formatter, whose fsck.fat the tests also use) and mtools (reads and writes FAT images as
plain files: no mount, no root). Both are the tools a Linux user already knows; scripts/install-host-deps installs
them. The guest reads FAT16 and FAT32, so images are made as one of those, never FAT12."""
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..core.errors import DiskError, ToolError

MIN_BYTES = 9 << 20                 # below this FAT16 has too few clusters (it would have to be FAT12)
FAT32_FROM = 64 << 20               # FAT16 under this size (smaller overhead), FAT32 from it on
SBIN = ("/usr/sbin", "/sbin")


def _tool(name: str, package: str) -> str:
    found = shutil.which(name) or next((f"{d}/{name}" for d in SBIN if Path(f"{d}/{name}").exists()), None)
    if not found:
        raise ToolError(f"'{name}' is not installed", hint=f"install Debian's {package} (scripts/install-host-deps "
                                                           "does it): apt-get install dosfstools mtools")
    return found


def _run(args: list[str], image: Path, what: str) -> str:
    """Runs a dosfstools/mtools command; its complaint becomes one line naming the image."""
    # MTOOLS_SKIP_CHECK: images made by other tools may have a geometry mtools calls "unusual"; the guest doesn't care.
    # LC_ALL: mtools converts long names to the locale's character set; UTF-8, as the guest writes them.
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", LC_ALL="C.UTF-8")
    proc = subprocess.run(args, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())
        raise DiskError(f"{image}: {what} failed: {detail or f'exit status {proc.returncode}'}")
    return proc.stdout


def _check_image(image: Path) -> None:
    if not image.is_file():
        raise DiskError(f"{image}: no such disk image")
    with open(image, "rb") as f:
        boot = f.read(512)
    if len(boot) < 512 or boot[510:512] != b"\x55\xaa" or boot[0] not in (0xEB, 0xE9):
        raise DiskError(f"{image}: not a FAT file system (no boot sector)",
                        hint="make one with `uniforge disk create IMAGE --size 64M`")
    sector = int.from_bytes(boot[11:13], "little")
    sectors = int.from_bytes(boot[19:21], "little") or int.from_bytes(boot[32:36], "little")
    if sector * sectors > image.stat().st_size:
        raise DiskError(f"{image}: truncated or damaged: its file system is {sector * sectors} bytes, the image "
                        f"{image.stat().st_size}")


def _guest_path(path: str) -> str:
    return "::" + ("/" + path.strip("/") if path.strip("/") else "/")


def create(out: Path, size: int, source: Path | None = None, fat: int | None = None) -> int:
    """A raw image of size bytes with a FAT file system (FAT16 under 64 MiB, else FAT32), holding a copy of source's
    contents if given. Returns the FAT width used."""
    if size < MIN_BYTES:
        raise DiskError(f"{out}: {size >> 20} MiB is too small: the guest reads FAT16/FAT32, which need at least 9M")
    if source is not None and not source.is_dir():
        raise DiskError(f"--from {source}: not a folder")
    if out.exists():
        raise DiskError(f"{out} already exists: nothing was written", hint="remove it first")
    if source is not None:
        _check_names(source)
    fat = fat or (32 if size >= FAT32_FROM else 16)
    mkfs = _tool("mkfs.fat", "dosfstools")
    if source is not None:
        _tool("mcopy", "mtools")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        f.truncate(size)
    try:
        _run([mkfs, "-F", str(fat), "-n", "UNIFORGE", str(out)], out, "mkfs.fat")
        if source is not None:
            entries = sorted(source.iterdir())
            if entries:
                _run([_tool("mcopy", "mtools"), "-i", str(out), "-s", "-p", "-m", "-Q",
                      *map(str, entries), "::/"], out, f"copying {source} in")
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return fat


def _check_names(source: Path) -> None:
    """FAT names are case-insensitive: two names that differ only in case cannot both go in (mcopy would ask)."""
    for folder in [source, *(p for p in source.rglob("*") if p.is_dir())]:
        seen: dict[str, str] = {}
        for entry in sorted(folder.iterdir()):
            other = seen.setdefault(entry.name.casefold(), entry.name)
            if other != entry.name:
                raise DiskError(f"--from {source}: '{folder / other}' and '{entry.name}' differ only in case, "
                                "which FAT cannot hold")


def ls(image: Path, path: str = "/") -> str:
    _check_image(image)
    return _run([_tool("mdir", "mtools"), "-i", str(image), _guest_path(path)], image, f"listing {path}")


# An entry of mdir's listing: the 8.3 name, the size or <DIR>, the date and time, and the long name if it has one.
_ENTRY = re.compile(r"^(?P<base>.{8}) (?P<ext>.{3}) +(?P<size><DIR>|\d+) +(?P<date>\d{4}-\d\d-\d\d) +"
                    r"(?P<time>\d{1,2}:\d\d)(?:  (?P<long>.+))?$")


def entries(image: Path, path: str = "/") -> list[dict]:
    """The folder's entries as `uniforge disk ls --json` gives them: name, dir, bytes (None for a folder),
    modified (YYYY-MM-DDTHH:MM, the volume's local time)."""
    found = []
    for line in ls(image, path).splitlines():
        m = _ENTRY.match(line.rstrip())
        if not m or m["base"].strip() in (".", ".."):
            continue
        ext = m["ext"].strip()
        name = m["long"] or m["base"].strip() + (f".{ext}" if ext else "")
        hour, minute = m["time"].split(":")
        found.append({"name": name, "dir": m["size"] == "<DIR>",
                      "bytes": None if m["size"] == "<DIR>" else int(m["size"]),
                      "modified": f"{m['date']}T{int(hour):02d}:{minute}"})
    return found


def get(image: Path, path: str, dest: Path) -> Path:
    """Copies a file (or a folder, recursively) out of the image to dest (a folder: into it)."""
    _check_image(image)
    if dest.is_dir():
        dest = dest / Path(path.rstrip("/")).name
    _run([_tool("mcopy", "mtools"), "-i", str(image), "-s", "-p", "-m", "-n", _guest_path(path), str(dest)], image,
         f"copying {path} out")
    return dest
