"""`caloquant quantize`: a generator at reduced precision for one engine, as a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant._logs import quiet_tool_logs
from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def quantize_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output model directory.")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16, int8 or auto (physics-driven tuner).")] = "int8",
    engine: Annotated[str, typer.Option(help="openvino, onnxruntime or torch.")] = "openvino",
    model: Annotated[Path | None, typer.Option(help="Weights file, run directory or user .onnx (default: shipped).")]
    = None,
    spec: Annotated[Path | None, typer.Option(help="Spec file (TOML/JSON) of a user ONNX --model.")] = None,
    calibration_size: Annotated[int, typer.Option(help="int8: calibration latent vectors.")] = 512,
    calibration_method: Annotated[str, typer.Option(help="int8: minmax, percentile or entropy.")] = "minmax",
    symmetric: Annotated[bool, typer.Option(help="int8: symmetric activations (OpenVINO deconv needs it).")] = True,
    keep_output_float: Annotated[bool, typer.Option(help="int8: keep the last convolution in float.")] = True,
    time_budget: Annotated[float, typer.Option(help="auto: seconds the search may take.")] = 1800.0,
    validation_size: Annotated[int, typer.Option(help="auto: paired showers per trial.")] = 2000,
    reference_size: Annotated[int, typer.Option(help="auto: judge at the statistical resolution of N showers.")]
    = 10000,
    fallback: Annotated[str, typer.Option(help="auto: precision of layers kept out of int8 (bf16 or fp32).")]
    = "bf16",
) -> None:
    """Quantize or convert the generator; `caloquant generate --model DIR` runs the result."""
    from caloquant.engines.base import check_supported
    from caloquant.precision import quantize, recipe_for
    from caloquant.precision.source import open_float_model

    if precision == "auto":
        _auto(out, engine, model, spec, calibration_size, time_budget, validation_size, reference_size, fallback)
        return
    check_supported(engine, precision)
    options = {}
    if precision == "int8":
        options = {"calibration_size": calibration_size, "calibration_method": calibration_method,
                   "symmetric": symmetric, "keep_output_float": keep_output_float}
    recipe = recipe_for(precision, **options)
    if precision == "int8" and calibration_size < 100:
        console.print(f"[yellow]warning:[/] --calibration-size {calibration_size} is small; ranges may be poor")
    with quiet_tool_logs():
        src, source = open_float_model(model, spec)
        with console.status(f"{engine} {precision}"):
            quantize(src, recipe, engine=engine, out=out, source=source)
    console.print(f"wrote {out} ({engine} {precision}); run it with: caloquant generate --model {out}")


def _auto(out: Path, engine: str, model: Path | None, spec: Path | None, calibration_size: int,
          time_budget: float, validation_size: int, reference_size: int, fallback: str) -> None:
    from caloquant.errors import InputValueError
    from caloquant.precision.source import open_float_model
    from caloquant.precision.tuner import AutoConfig, tune_to_dir

    if engine != "openvino":
        raise InputValueError(f"--precision auto runs on openvino (int8 with bf16/fp32 fallback), not {engine}")
    cfg = AutoConfig(time_budget_s=time_budget, validation_size=validation_size, reference_size=reference_size,
                     fallback=fallback, calibration_size=calibration_size)
    with quiet_tool_logs():
        src, source = open_float_model(model, spec)
        result = tune_to_dir(src, cfg, out, source=source, log=console.print)
    c = result.chosen
    if result.passed:
        console.print(f"wrote {out}: {len(c.kept)} layers in {fallback}, the rest int8; passes the physics check; "
                      f"{c.showers_per_s:.0f} showers/s ({len(result.trials)} trials)")
        return
    console.print(f"[bold red]no candidate passed[/] in {len(result.trials)} trials"
                  f"{' (time budget reached)' if result.stopped_by_budget else ''}; saved the closest to {out} "
                  f"(score {c.score:.2f}, worst: {c.worst})")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("quantize")(quantize_cmd)
