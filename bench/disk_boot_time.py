"""What booting from a disk costs: boot times of an app and of the floor (bench/null/null-x86_64.S) on one target,
booted directly (QEMU's -kernel, qboot), and from a raw disk through each firmware the target's [firmware] table
names (x86_64: SeaBIOS and OVMF with GRUB; ARMv7: U-Boot, and AAVMF with our EFI stub, for the app only: the ARM
floor is no zImage); and the sizes of the app's artifacts, with what the boot loader takes of them. Subjects
alternate, so a loaded machine slows them alike; times are medians (min-max) from spawning QEMU (plain, no QMP) to
its exit. Prints JSON.

    python bench/disk_boot_time.py [--app examples/hello] [--target qemu-x86_64-q35] [--runs 7] [--uefi-runs 3]
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolchain"))

import uniforge  # noqa: E402
from uniforge import packaging  # noqa: E402
from uniforge.building import targets  # noqa: E402
from uniforge.packaging import efistub, grub  # noqa: E402
from uniforge.packaging.loaders import loader_for  # noqa: E402
from uniforge.platforms import way_for  # noqa: E402
from uniforge.platforms.firmware import FirmwareBoot  # noqa: E402
from uniforge.platforms.run import STATUS_CHARDEV  # noqa: E402
from uniforge.platforms.way import BootRequest  # noqa: E402

TIMEOUT = 300
FORMATS = ("raw", "qcow2", "vmdk", "vhdx", "iso", "oci")      # those the target makes


def timed(command: list[str], success: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=TIMEOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != success:
        raise SystemExit(f"{' '.join(command)}: exit {proc.returncode}\n{proc.stderr.decode()}")
    return seconds


def summary(samples: list[float]) -> dict:
    ms = sorted(round(s * 1000, 1) for s in samples)
    return {"median_ms": round(statistics.median(ms), 1), "min_ms": ms[0], "max_ms": ms[-1], "runs": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", type=Path, default=ROOT / "examples/hello")
    parser.add_argument("--target", default="qemu-x86_64-q35")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--uefi-runs", type=int, default=3, help="UEFI boots take ~5-15 s each under TCG")
    options = parser.parse_args()
    target = targets.load(options.target)
    with tempfile.TemporaryDirectory(prefix="uniforge-disk-bench-") as tmp:
        work = Path(tmp)
        app_dir = work / options.app.name
        shutil.copytree(options.app, app_dir, ignore=shutil.ignore_patterns("build"))
        formats = [f for f in FORMATS if f != "iso" or loader_for(target).makes_iso]
        built = uniforge.build(app_dir, target.name, formats=formats)
        assert built.report is not None
        image, app_name = built.path, built.app
        artifacts = {a.format: a.size for a in built.report.packages}
        loader = loader_for(target)
        app_disk = image.with_name(image.name + ".raw")
        # The floor boots from a disk only where the boot loader takes the ELF (GRUB): the ARM floor is no zImage.
        floor = way_for(target).floor() if target.boot == "pvh" else None
        floor_disk = work / "floor.raw"
        if floor:
            floor_disk.write_bytes(loader.disk(floor, floor, seed=b"floor", epoch=packaging.DEFAULT_EPOCH,
                                               work=_folder(work / "floor-work")))
        ways = {"direct": (way_for(target), floor, image)}
        for firmware in target.firmware.firmwares():
            ways[f"disk, {firmware}"] = (FirmwareBoot(target, firmware=firmware), floor and floor_disk, app_disk)
        # A plain process: the guest's status channel goes nowhere (its exit code says status 0 alone).
        status_sink = ["-chardev", f"null,id={STATUS_CHARDEV}"] if target.qemu.status else []
        success = 1 if target.exit == "isa-debug-exit" else 0       # isa-debug-exit: status 0 -> 1
        times: dict[str, dict[str, list[float]]] = {}
        for name, (way, floor_file, app_file) in ways.items():
            runs = options.uefi_runs if "uefi" in name else options.runs
            for i in range(runs + 1):               # the first of each is a warm-up
                for subject, file in (("floor", floor_file), (app_name, app_file)):
                    if file is None:
                        continue
                    command = [*way.command(file, BootRequest(), _folder(work / f"run-{name.replace(', ', '-')}-{subject}-{i}")),
                               *status_sink]
                    seconds = timed(command, success)
                    if i:
                        times.setdefault(name, {}).setdefault(subject, []).append(seconds)
        loader_bytes = {"raw disk minus the image": artifacts["raw"] - image.stat().st_size}
        if loader.name == "grub":
            loader_bytes.update({"GRUB BIOS core (BIOS boot partition)": len(grub.bios_core(_folder(work / "g"))),
                                 "GRUB UEFI application (EFI/BOOT/BOOTX64.EFI)":
                                 len(grub.efi_application(_folder(work / "g")))})
        else:
            zimage = image.with_name(image.name + ".zImage").read_bytes()
            loader_bytes.update({"EFI stub (code)": len(efistub.stub(target)),
                                 "EFI/BOOT/BOOTARM.EFI (headers, stub, zImage)":
                                 len(efistub.application(target, zimage, image)),
                                 "zImage": len(zimage)})
        report = {
            "command": " ".join(["python", "bench/disk_boot_time.py", *sys.argv[1:]]),
            "target": target.name, "app": app_name, "image_bytes": image.stat().st_size,
            "artifact_bytes": artifacts,
            "boot_loader_bytes": loader_bytes,
            "boot": {way: {subject: summary(s) for subject, s in subjects.items()}
                     for way, subjects in times.items()},
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        print(json.dumps(report, indent=2))


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main()
