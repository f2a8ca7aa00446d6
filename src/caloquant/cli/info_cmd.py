"""`caloquant info FILE`: what a shower file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def info(
    path: Annotated[Path, typer.Argument(help="A 3DGAN or CaloChallenge HDF5 file.")],
    binning: Annotated[Path | None, typer.Option(help="CaloChallenge binning XML (for foreign layouts).")] = None,
    particle: Annotated[str | None, typer.Option(help="Particle block of the binning XML.")] = None,
) -> None:
    """Print count, energy range, total-energy summary and layout of a shower file."""
    from caloquant.physics.file_summary import summarize_file

    with console.status(f"reading {path}"):
        summary = summarize_file(path, binning=binning, particle=particle)
    for warning in summary.warnings:
        console.print(f"[yellow]{warning.replace('the binning XML', '--binning')}[/]")
    t = Table(title=str(path), show_header=False)
    t.add_column(style="bold")
    t.add_column()
    for key, value in summary.rows:
        t.add_row(key, value)
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
