"""What `uniforge doctor` prints: one line per check of this host (api/checks.py), with its fix."""

from __future__ import annotations

import json

import click
from rich.console import Console

from ..api.checks import Check, check_host
from ..core.errors import ExitCode
from ..api.schema import versioned


def show_doctor(as_json: bool) -> int:
    checks: list[Check] = check_host()
    failed = not all(c.ok for c in checks)
    if as_json:
        click.echo(json.dumps(versioned({"ok": not failed, "checks": [c.as_dict() for c in checks]}), indent=2))
    else:
        marks = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
        console = Console(highlight=False)
        for c in checks:
            console.print(f"{marks[c.status]:>20}  {c.name}: {c.detail}")
            if c.status != "ok" and c.fix:
                console.print(f"{'':>8}fix: {c.fix}")
    return ExitCode.TOOL if failed else ExitCode.OK
