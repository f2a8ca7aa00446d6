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
    readme: Annotated[Path | None, typer.Option(help="Also rewrite the results block of this README.")] = None,
    peers: Annotated[bool, typer.Option(help="Paper A's TFLite fp16 and int8 beside ours where installed "
                                        "(`make peers`).")] = True,
) -> None:
    """The whole chain on the shipped defaults: simulator and 3DGAN against Geant4, the 3DGAN at fp16, bf16,
    int8 and the stored physics-tuned mix paired with fp32, a short benchmark, and the report."""
    from caloquant.workflows.demo import run_demo

    summary = run_demo(out, count=count, seed=seed, readme=readme, log=console.print, peers=peers)
    console.print(f"[bold green]demo finished[/]: results in {summary}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
