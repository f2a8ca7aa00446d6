"""`generate` and `export`: using a trained generator."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import (
    CountOpt,
    EnergyOpt,
    OutFileOpt,
    SeedOpt,
    ThreadsOpt,
    console,
    err_console,
    handle_errors,
    parse_energy_range,
    progress_bar,
)

__all__ = ["register"]


@handle_errors
def generate(
    out: OutFileOpt,
    count: CountOpt = 10000,
    energy: EnergyOpt = "100:500",
    seed: SeedOpt = 1,
    model: Annotated[Path | None, typer.Option(help="Weights file, model directory or user .onnx (default: shipped).")]
    = None,
    spec: Annotated[Path | None, typer.Option(help="Spec file (TOML/JSON) of a user ONNX --model.")] = None,
    batch_size: Annotated[int, typer.Option(help="Showers per inference batch.")] = 128,
    threads: ThreadsOpt = 2,
    streams: Annotated[int, typer.Option(help="Inference streams (OpenVINO models).")] = 1,
    strict: Annotated[bool, typer.Option(help="Refuse energies outside the trained range.")] = False,
) -> None:
    """Generate showers with the 3DGAN (the shipped default model unless --model is given)."""
    from caloquant.physics.plausibility import ImplausibleShowersWarning
    from caloquant.precision.identity import EnergyRangeWarning
    from caloquant.workflows.generation import generate_to_file

    lo, hi = parse_energy_range(energy)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, progress_bar() as bar:
        warnings.simplefilter("always", EnergyRangeWarning)
        warnings.simplefilter("always", ImplausibleShowersWarning)
        task = bar.add_task("generating", total=max(count, 0), rate="")

        def on_batch(n: int) -> None:
            done = bar.tasks[0].completed + n
            bar.update(task, advance=n, rate=f"{done / (time.perf_counter() - t0):.0f} showers/s")

        generate_to_file(model, out, count=count, energy=(lo, hi), seed=seed, batch_size=batch_size,
                         threads=threads, streams=streams, strict=strict, spec=spec, on_batch=on_batch)
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}")
    console.print(f"wrote {count} showers to {out} in {time.perf_counter() - t0:.1f} s")


@handle_errors
def export(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx or openvino.")] = "onnx",
    model: Annotated[Path | None, typer.Option(help="Weights file or directory (default: shipped).")] = None,
) -> None:
    """Export the generator (input z, dynamic batch) and check it against PyTorch."""
    from caloquant.workflows.export import export_generator

    r = export_generator(model, out, fmt=fmt)
    console.print(f"wrote {r['path']}; max |difference| from PyTorch = {r['max_abs_diff']:.3g} GeV "
                  f"({r['relative']:.2g} of max |output|, limit {r['tolerance']:g})")
    if not r["passed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.command("export")(export)
