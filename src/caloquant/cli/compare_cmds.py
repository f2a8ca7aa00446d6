"""`compare-sim` and `compare-gan`: acceptance tables against Geant4 by the CONVENTIONS rule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from caloquant.cli.common import console, handle_errors, require_positive

__all__ = ["register"]

ReferenceOpt = Annotated[
    list[Path] | None, typer.Option("--reference", "-r", help="Geant4 file(s); default: the shipped sample.")
]
KOpt = Annotated[float, typer.Option(help="Compatibility: |diff| <= max(tol, k sigma).")]
JsonOpt = Annotated[Path | None, typer.Option("-o", "--out", help="Write all comparisons as JSON.")]
MarkdownOpt = Annotated[Path | None, typer.Option(help="Write the summary tables as Markdown.")]
CheckOpt = Annotated[bool, typer.Option(help="Exit 1 if any quantity is incompatible.")]


def _references(reference: list[Path] | None) -> list[Path]:
    from caloquant.resources import geant4_check_sample

    return list(reference) if reference else [geant4_check_sample()]


def _emit(result: dict[str, Any], out: Path | None, markdown: Path | None, check: bool) -> None:
    from caloquant._atomic import write_json_atomic, write_text_atomic
    from caloquant.physics.stats import INSUFFICIENT, MIN_SHOWERS_PER_BIN
    from caloquant.workflows.acceptance import render_markdown, render_table

    for table in render_table(result):
        console.print(table)
    if out is not None:
        write_json_atomic(out, result)
    if markdown is not None:
        write_text_atomic(markdown, render_markdown(result))
    verdicts = {r["verdict"] for r in result["references"]}
    overall = "compatible" if verdicts == {"compatible"} else (INSUFFICIENT if INSUFFICIENT in verdicts
                                                                else "incompatible")
    console.print(f"overall: [bold]{overall if overall == 'compatible' else overall.upper()}[/]"
                  + (f" (fewer than {MIN_SHOWERS_PER_BIN} showers in every energy bin)" if overall == INSUFFICIENT
                     else ""))
    if check and overall != "compatible":
        raise typer.Exit(1)


@handle_errors
def compare_sim(
    reference: ReferenceOpt = None,
    oversample: Annotated[int, typer.Option(help="Simulated showers per reference shower.")] = 4,
    seed: Annotated[int, typer.Option()] = 1,
    k: KOpt = 4.0,
    out: JsonOpt = None,
    markdown: MarkdownOpt = None,
    check: CheckOpt = False,
    params_file: Annotated[Path | None, typer.Option("--params", help="Fitted parameter JSON.")] = None,
) -> None:
    """Simulator against Geant4, per 100 GeV bin (tolerances of the foundation issue)."""
    from caloquant.workflows.acceptance import check_simulator

    require_positive(oversample, "--oversample")
    result = check_simulator(_references(reference), oversample=oversample, seed=seed, k=k, params_file=params_file)
    _emit(result, out, markdown, check)


@handle_errors
def compare_gan(
    reference: ReferenceOpt = None,
    model: Annotated[Path | None, typer.Option(help="Weights file or directory (default: shipped).")] = None,
    oversample: Annotated[int, typer.Option(help="Generated showers per reference shower.")] = 2,
    seed: Annotated[int, typer.Option()] = 1,
    k: KOpt = 4.0,
    out: JsonOpt = None,
    markdown: MarkdownOpt = None,
    check: CheckOpt = False,
) -> None:
    """The generator (PyTorch fp32) against Geant4, per 100 GeV bin (the GAN issue's goals)."""
    from caloquant.workflows.acceptance import check_generator

    require_positive(oversample, "--oversample")
    result = check_generator(model, _references(reference), oversample=oversample, seed=seed, k=k)
    _emit(result, out, markdown, check)


def register(app: typer.Typer) -> None:
    app.command("compare-sim")(compare_sim)
    app.command("compare-gan")(compare_gan)
