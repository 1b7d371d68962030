"""What `uniforge bench` writes: a table on the terminal, JSON and CSV for CI, a figure for papers."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..core.errors import BenchError


def _ms(summary: dict | None) -> str:
    if not summary:
        return "-"
    return f"{summary['median']:.1f} ({summary['min']:.1f}-{summary['max']:.1f})"


def _times(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def show_table(report: dict) -> None:
    table = Table(show_edge=False, title=f"uniforge bench: medians (min-max) of {report['runs']} runs; "
                                         "x = ratio to the floor (null kernel) on the same target")
    for column in ("subject", "target", "bytes", "x", "spawn→exit ms", "x", "spawn→main ms", "entry→main µs",
                   "min memory", "x", "build cold/warm s"):
        table.add_column(column, justify="left" if column in ("subject", "target") else "right")
    for r in report["results"]:
        vs = r["vs_floor"]
        build = r.get("build_s")
        table.add_row(
            f"{r['subject']} ({r['kind']})", r["target"], f"{r['size']['file']:,}", _times(vs["size"]),
            _ms(r["boot_ms"].get("exit")), _times(vs.get("boot_exit")), _ms(r["boot_ms"].get("main")),
            _ms(r.get("guest_entry_to_main_us")),
            f"{r['min_memory_kib']:,} KiB" if r["min_memory_kib"] else "-", _times(vs["min_memory"]),
            f"{build['cold']['median']:.1f} / {build['warm']['median']:.2f}" if build else "-")
    # Wide also in a CI log, where rich would assume 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 180)
    console.print(table)
    console.print(f"[dim]{report['timing']}; command: {report['command']}[/dim]")


def write_json(report: dict, path: Path) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def csv_rows(report: dict) -> list[dict]:
    """One row per subject and figure: its median, min, max and ratio to the floor."""
    rows = []
    for r in report["results"]:
        base = {"subject": r["subject"], "kind": r["kind"], "target": r["target"]}
        figures = {"size_bytes": (r["size"]["file"],) * 3 + (r["vs_floor"]["size"],),
                   "min_memory_kib": (r["min_memory_kib"],) * 3 + (r["vs_floor"]["min_memory"],)}
        for name, s in r["boot_ms"].items():
            figures[f"boot_{name}_ms"] = (s["median"], s["min"], s["max"], r["vs_floor"].get(f"boot_{name}"))
        if s := r.get("guest_entry_to_main_us"):
            figures["guest_entry_to_main_us"] = (s["median"], s["min"], s["max"], None)
        for kind, s in r.get("build_s", {}).items():
            figures[f"build_{kind}_s"] = (s["median"], s["min"], s["max"], None)
        for name, (median, low, high, vs) in figures.items():
            rows.append({**base, "figure": name, "median": median, "min": low, "max": high, "vs_floor": vs})
    return rows


def write_csv(report: dict, path: Path) -> None:
    rows = csv_rows(report)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_plot(report: dict, path: Path) -> None:
    """Box plots of spawn-to-exit times per target and subject; stacked bars of each app's bytes per module."""
    try:
        import matplotlib
    except ImportError:
        raise BenchError("--plot needs matplotlib", hint="pip install 'uniforge[bench]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["results"]
    apps = [r for r in results if r["size"].get("modules")]
    fig, (boots, sizes) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=[3, 2] if apps else [3, 1])
    boots.boxplot([r["boot_ms"]["exit"]["samples"] for r in results],
                  tick_labels=[f"{r['subject']}\n{r['target']}" for r in results])
    boots.set_ylabel("QEMU spawn to exit (ms)")
    boots.set_yscale("log")
    boots.set_title(f"Boot time, {report['runs']} runs each")
    boots.tick_params(axis="x", labelsize=6)
    modules = sorted({m for r in apps for m in r["size"]["modules"]})
    bottoms = [0] * len(apps)
    labels = [f"{r['subject']}\n{r['target']}" for r in apps]
    colours = matplotlib.colormaps["tab20"]
    for i, module in enumerate(modules):
        heights = [r["size"]["modules"].get(module, {}).get("file", 0) / 1024 for r in apps]
        sizes.bar(labels, heights, bottom=bottoms, label=module, color=colours(i % 20))
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    sizes.set_ylabel("file bytes (KiB)")
    sizes.set_title("Image size by module")
    sizes.tick_params(axis="x", labelsize=7)
    if modules:
        sizes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
