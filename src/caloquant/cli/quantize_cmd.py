"""`caloquant quantize`: a generator at reduced precision for one engine, as a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant._logs import quiet_tool_logs
from caloquant.cli.common import console, handle_errors, progress_bar

__all__ = ["register"]


@handle_errors
def quantize_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output model directory.")],
    precision: Annotated[str, typer.Option(help="fp32, bf16, fp16, int8 or auto (physics-driven tuner).")] = "int8",
    engine: Annotated[str, typer.Option(help="openvino, onnxruntime, torch, or the peers (`make peers`): tflite, "
                                        "inc-tf.")] = "openvino",
    model: Annotated[Path | None, typer.Option(help="Weights file, run directory or user .onnx (default: shipped).")]
    = None,
    spec: Annotated[Path | None, typer.Option(help="Spec file (TOML/JSON) of a user ONNX --model.")] = None,
    calibration_size: Annotated[int, typer.Option(help="int8: calibration latent vectors.")] = 512,
    calibration_batch: Annotated[int, typer.Option(help="int8/auto, NNCF (OpenVINO, QAT): latents per calibration "
                                                   "item (each activation range: the mean of the items' min and "
                                                   "max).")] = 8,
    calibration_method: Annotated[str, typer.Option(help="int8: minmax, percentile or entropy.")] = "minmax",
    symmetric: Annotated[bool, typer.Option(help="int8: symmetric activations (OpenVINO deconv needs it).")] = True,
    keep_output_float: Annotated[bool, typer.Option(help="int8: keep the last convolution in float.")] = True,
    float_tail: Annotated[int, typer.Option(help="int8: the last N convolutions of each of the generator's three "
                                            "paths kept in float too (0-5).")] = 2,
    bias_correction: Annotated[str, typer.Option(help="int8 ptq, OpenVINO: NNCF's bias correction, fast (its "
                                                 "default), full or off.")] = "fast",
    method: Annotated[str, typer.Option(help="int8: ptq (post-training), qat (PTQ, then fine-tuned against "
                                        "float32 on fresh latents; PyTorch generators only) or defaults (the "
                                        "engine's own quantizer with its defaults; TFLite's full integer) or "
                                        "accuracy-control (the tool's accuracy-driven search with our physics as "
                                        "its metric: NNCF on openvino, INC autotune on inc-tf).")]
    = "ptq",
    steps: Annotated[int, typer.Option(help="qat: fine-tuning steps.")] = 300,
    lr: Annotated[float, typer.Option(help="qat: Adam learning rate.")] = 1e-6,
    qat_loss: Annotated[str, typer.Option(help="qat: physics (cells, layers, profiles, total in log space) or "
                                          "mse.")] = "physics",
    time_budget: Annotated[float, typer.Option(help="auto: seconds the search may take; qat: the fine-tuning.")]
    = 1800.0,
    validation_size: Annotated[int, typer.Option(help="auto, accuracy-control: paired showers per trial.")] = 2000,
    reference_size: Annotated[int, typer.Option(help="auto, accuracy-control: judge at the statistical resolution "
                                                "of N showers.")]
    = 10000,
    fallback: Annotated[str | None, typer.Option(help="auto, int8: precision of the layers kept out of int8 (bf16 or "
                                                "fp32; default: bf16 on OpenVINO, fp32 on ONNX Runtime).")]
    = None,
    tolerances: Annotated[str, typer.Option(help="auto, accuracy-control: validate (the paired physics check's "
                                            "tolerances) or zero "
                                            "(only what float32 itself cannot be told from).")] = "validate",
) -> None:
    """Quantize or convert the generator; `caloquant generate --model DIR` runs the result."""
    from caloquant.errors import InputValueError
    from caloquant.physics.tolerances import VALIDATE, ZERO
    from caloquant.precision import (
        AccuracyControlConfig,
        AutoConfig,
        Recipe,
        ToolDefaultsConfig,
        quantize,
        read_model_dir,
        recipe_for,
    )
    from caloquant.precision.recipes import Int8QATConfig

    recipe: Recipe
    if tolerances not in ("validate", "zero"):
        raise InputValueError(f"--tolerances {tolerances!r}: expected validate or zero")
    if precision == "auto":
        recipe = AutoConfig(time_budget_s=time_budget, validation_size=validation_size, reference_size=reference_size,
                            fallback=fallback or "bf16", calibration_size=calibration_size,  # type: ignore[arg-type]
                            calibration_batch=calibration_batch,
                            tolerances=dict(VALIDATE if tolerances == "validate" else ZERO))
    elif precision == "int8" and method == "qat":
        if calibration_method != "minmax":
            raise InputValueError(f"--calibration-method {calibration_method}: qat calibrates with minmax (its "
                                  "ranges are then trained)")
        recipe = Int8QATConfig(calibration_size=calibration_size, calibration_batch=calibration_batch,
                               symmetric=symmetric,
                               keep_output_float=keep_output_float, float_tail=float_tail, steps=steps, lr=lr,
                               loss=qat_loss,  # type: ignore[arg-type]
                               time_budget_s=time_budget, fallback=fallback)  # type: ignore[arg-type]
    elif precision == "int8" and method == "defaults":
        recipe = ToolDefaultsConfig(calibration_size=calibration_size)
    elif precision == "int8" and method == "accuracy-control":
        recipe = AccuracyControlConfig(validation_size=validation_size, reference_size=reference_size,
                                       calibration_size=calibration_size, calibration_batch=calibration_batch,
                                       tolerances=dict(VALIDATE if tolerances == "validate" else ZERO))
    elif precision == "int8":
        if method != "ptq":
            raise InputValueError(f"--method {method!r}: expected ptq, qat, defaults or accuracy-control")
        recipe = recipe_for(precision, calibration_size=calibration_size, calibration_batch=calibration_batch,
                            calibration_method=calibration_method,
                            symmetric=symmetric, keep_output_float=keep_output_float, float_tail=float_tail,
                            bias_correction=bias_correction, fallback=fallback)
        if calibration_size < 100:
            console.print(f"[yellow]warning:[/] --calibration-size {calibration_size} is small; ranges may be poor")
    else:
        recipe = recipe_for(precision)
    if method != "ptq" and precision != "int8":
        raise InputValueError(f"--method {method}: applies to --precision int8")
    with quiet_tool_logs():
        if precision == "auto" or isinstance(recipe, AccuracyControlConfig):
            quantize(model, recipe, engine=engine, out=out, spec=spec, log=console.print)
        elif isinstance(recipe, Int8QATConfig):
            with progress_bar(transient=True) as bar:
                task = bar.add_task("int8 QAT", total=steps, rate="")
                quantize(model, recipe, engine=engine, out=out, spec=spec,
                         progress=lambda done, total: bar.update(task, completed=done))
        else:
            with console.status(f"{engine} {precision}"):
                quantize(model, recipe, engine=engine, out=out, spec=spec)
    if isinstance(recipe, Int8QATConfig):
        qat = read_model_dir(out)["qat"]
        console.print(f"QAT: {qat['steps']} steps in {qat['seconds']:.0f} s, loss {qat['loss_first_steps']:.4g} -> "
                      f"{qat['loss_last_steps']:.4g}")
    if precision != "auto":
        console.print(f"wrote {out} ({engine} {precision}); run it with: caloquant generate --model {out}")
        return
    meta = read_model_dir(out)
    auto = meta["auto"]
    if auto["passed"]:
        console.print(f"wrote {out}: {len(auto['kept_out_of_int8'])} layers in {meta['runtime_precision']}, the "
                      f"rest int8; passes the physics check; {auto['showers_per_s']:.0f} showers/s "
                      f"({auto['trials']} trials)")
        return
    console.print(f"[bold red]no candidate passed[/] in {auto['trials']} trials"
                  f"{' (time budget reached)' if auto['stopped_by_time_budget'] else ''}; saved the closest to {out} "
                  f"(score {auto['score']:.2f}, worst: {auto['worst_quantity']})")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("quantize")(quantize_cmd)
