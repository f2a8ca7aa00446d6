"""`caloquant validate`: the physics report of a sample against a reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors, progress_bar

__all__ = ["register"]


@handle_errors
def validate_cmd(
    samples: Annotated[Path, typer.Option(help="Showers to judge (HDF5).")],
    reference: Annotated[Path, typer.Option(help="Reference showers, e.g. Geant4 or the float32 model.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
    paired: Annotated[bool, typer.Option(help="Events match by index (same latents): pixel-wise differences.")] = False,
    check: Annotated[bool, typer.Option(help="Exit 1 if incompatible.")] = False,
    k: Annotated[float, typer.Option(help="Compatibility: |diff| <= max(tol, k sigma).")] = 4.0,
    tolerance: Annotated[list[str] | None, typer.Option(help="NAME=VALUE, e.g. sf_mean=0.03 (repeatable).")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 200,
    voxel_classifier: Annotated[bool, typer.Option(help="Also train the voxel-level classifier.")] = True,
    plots: Annotated[bool, typer.Option(help="Write PNG and PDF figures.")] = True,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Shapes, moments, response, features, FPD/KPD, classifier test; metrics.json, plots, summary.txt."""
    from caloquant.workflows.validation import run_validation

    with progress_bar(transient=True) as bar:
        task = bar.add_task("validate", total=None, rate="")

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

        metrics, text = run_validation(samples, reference, out, paired=paired, k=k, tolerances=tolerance or [],
                                       n_boot=n_boot, voxel_classifier=voxel_classifier, plots=plots, seed=seed,
                                       progress=progress)
    console.print(text, highlight=False)
    console.print(f"results in {out}")
    if check and not metrics["compatible"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)
