"""What `uniforge inspect`, `targets` and `modules` print: tables on a terminal, JSON with --json."""
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..api import TargetInfo
from ..api.schema import versioned
from ..building import link, modules, targets


def _console() -> Console:
    return Console(highlight=False)


def show(path: Path, info: dict[str, Any]) -> None:
    """The image's manifest (Image.inspect) and its layout, as tables."""
    import lief      # slow to import: only here, where the image's layout is described
    lief.logging.disable()
    elf = lief.ELF.parse(str(path))
    console = _console()
    config = info["config"]
    console.print(f"[bold]{path}[/bold]: {info['app']} for {info['target']} ({info['arch']}, {info['platform']}, "
                  f"boot {info['boot']}), {path.stat().st_size:,} bytes")
    console.print(f"built by uniforge {info['uniforge']} with {info['compiler']}, {info['libc']}; "
                  f"memory {config['memory']}, debug {str(config['debug']).lower()}"
                  + (f", cmdline {config['cmdline']!r}" if config["cmdline"] else ""))
    if elf is not None:
        segments = ", ".join(f"{_flags(s)} {s.virtual_size:,}" for s in elf.segments
                             if s.type == lief.ELF.Segment.TYPE.LOAD)
        console.print(f"entry {elf.entrypoint:#x}; loaded segments: {segments}")
    table = Table(title=None, show_edge=False)
    for column, justify in (("module", "left"), ("version", "left"), ("bytes", "right"), ("bss", "right"),
                            ("what it does", "left")):
        table.add_column(column, justify=justify)
    sizes = info.get("bytes", {})
    for name, mod in info["modules"].items():
        size = sizes.get(name, {})
        table.add_row(name, mod["version"], f"{size.get('file', 0):,}", f"{size.get('bss', 0):,}", mod["summary"])
    for name in link.NOT_MODULES:
        if name in sizes:
            table.add_row(f"({name})", "", f"{sizes[name]['file']:,}", f"{sizes[name]['bss']:,}", "")
    console.print(table)
    console.print("sources: " + ", ".join(f"{n} sha256:{h[:12]}" for n, h in info["sources"].items()))


def _flags(segment) -> str:
    f = int(segment.flags)
    return ("R" if f & 4 else "-") + ("W" if f & 2 else "-") + ("X" if f & 1 else "-")


def module_rows() -> list[dict]:
    """Every module with where it builds: the arches and platforms of the targets it has sources for."""
    found = modules.load_all()
    kinds = sorted({(t.arch, t.platform) for t in map(targets.load, targets.names())})
    rows = []
    for name, m in found.items():
        builds = [(arch, platform) for arch, platform in kinds if m.sources_for(arch, platform)]
        rows.append({"name": name, "version": m.version, "summary": m.summary,
                     "arches": sorted({arch for arch, _ in builds}), "platforms": sorted({p for _, p in builds}),
                     "depends": list(m.depends)})
    return rows


def show_modules(as_json: bool) -> None:
    rows = module_rows()
    if as_json:
        click.echo(json.dumps(versioned({"modules": rows}), indent=2))
        return
    _show(rows, {"module": "name", "version": "version", "arches": "arches", "platforms": "platforms",
                 "what it does": "summary"})


def show_targets(found: list[TargetInfo]) -> None:
    rows = [t.as_json() for t in found]
    console = _show(rows, {"target": "name", "arch": "arch", "accel": "accel", "runs here": "runs_here",
                           "summary": "summary"})
    for r in rows:
        if not r["runs_here"]:
            console.print(f"{r['name']} cannot run here: {r['why']}")


def _show(rows: list[dict], columns: dict[str, str]) -> Console:
    """The rows as a table (column title -> the rows' key) on the console it returns."""
    table = Table(show_edge=False)
    for title in columns:
        table.add_column(title)
    for r in rows:
        table.add_row(*(_cell(r[key]) for key in columns.values()))
    console = _console()
    console.print(table)
    return console


def _cell(value) -> str:
    if isinstance(value, bool):
        return "[green]yes[/green]" if value else "[red]no[/red] (below)"
    return " ".join(value) if isinstance(value, list) else value
