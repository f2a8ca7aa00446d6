"""`caloquant quantize`: a generator at reduced precision for one engine, as a model directory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def quantize_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output model directory.")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16 or int8.")] = "int8",
    engine: Annotated[str, typer.Option(help="openvino, onnxruntime or torch.")] = "openvino",
    model: Annotated[Path | None, typer.Option(help="Weights file or run directory (default: shipped).")] = None,
    calibration_size: Annotated[int, typer.Option(help="int8: calibration latent vectors.")] = 512,
    calibration_method: Annotated[str, typer.Option(help="int8: minmax, percentile or entropy.")] = "minmax",
    symmetric: Annotated[bool, typer.Option(help="int8: symmetric activations (OpenVINO deconv needs it).")] = True,
    keep_output_float: Annotated[bool, typer.Option(help="int8: keep the last convolution in float.")] = True,
) -> None:
    """Quantize or convert the generator; `caloquant generate --model DIR` runs the result."""
    from caloquant.engines.base import check_supported
    from caloquant.models.io import load_generator, read_metadata
    from caloquant.models.shipped import file_sha256, resolve_generator_path
    from caloquant.precision import quantize, recipe_for

    check_supported(engine, precision)
    options = {}
    if precision == "int8":
        options = {"calibration_size": calibration_size, "calibration_method": calibration_method,
                   "symmetric": symmetric, "keep_output_float": keep_output_float}
    recipe = recipe_for(precision, **options)
    if precision == "int8" and calibration_size < 100:
        console.print(f"[yellow]warning:[/] --calibration-size {calibration_size} is small; ranges may be poor")
    path = resolve_generator_path(model)
    gen = load_generator(path)
    info = read_metadata(path)["info"]
    source = {"path": str(path), "sha256": file_sha256(path), "energy_range_gev": info.get("energy_range_gev"),
              "step": info.get("step")}
    quiet = {name: logging.getLogger(name).level for name in ("", "nncf")}
    try:  # NNCF and ONNX Runtime log every node at INFO/WARNING on the root logger
        for name in quiet:
            logging.getLogger(name).setLevel(logging.ERROR)
        with console.status(f"{engine} {precision}"):
            quantize(gen, recipe, engine=engine, out=out, source=source)
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    console.print(f"wrote {out} ({engine} {precision}); run it with: caloquant generate --model {out}")


def register(app: typer.Typer) -> None:
    app.command("quantize")(quantize_cmd)
