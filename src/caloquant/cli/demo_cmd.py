"""`caloquant demo`: the whole chain on the shipped defaults (grows as later issues land)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def demo(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")] = Path("demo-out"),
    count: Annotated[int, typer.Option("-n", "--count", help="Simulated showers.")] = 2000,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Simulate reference showers, summarise them, and check the simulator against the shipped Geant4 sample."""
    from caloquant.demo import run_demo

    summary = run_demo(out, count=count, seed=seed, log=console.print)
    console.print(f"[bold green]demo finished[/]: results in {summary}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
