"""`quantize`: a trained generator -> a model directory for one engine at one precision.

The directory holds the engine's files taking z and ``caloquant.json`` (recipe, per-layer precision map,
calibration details, weight hashes, versions). Handlers are registered per (engine, precision); the
mechanics come from the engines' own tools (OpenVINO conversion, NNCF, ONNX Runtime quantize_static).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant._atomic import ensure_dir
from caloquant.engines.base import check_supported
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_latents
from caloquant.precision.modeldir import write_model_dir
from caloquant.precision.recipes import Int8StaticConfig, Recipe
from caloquant.precision.source import FloatModel, as_float_model

__all__ = ["quantize"]

Handler = Callable[[FloatModel, Recipe, Path], dict[str, Any]]
_HANDLERS: dict[tuple[str, str], Handler] = {}


def _register(engine: str, *precisions: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for p in precisions:
            _HANDLERS[(engine, p)] = fn
        return fn

    return deco


@_register("torch", "fp32", "bf16")
def _torch(src: FloatModel, recipe: Recipe, out: Path) -> dict[str, Any]:
    from caloquant.models.io import save_generator

    if src.module is None:
        raise InputValueError("--engine torch runs caloquant PyTorch generators; a user ONNX model runs on "
                              "openvino or onnxruntime")
    save_generator(out / "generator.safetensors", src.module)
    return {"files": ["generator.safetensors"], "layer_precisions": {}}


@_register("onnxruntime", "fp32")
def _ort_fp32(src: FloatModel, recipe: Recipe, out: Path) -> dict[str, Any]:
    _, folds = src.write_folded_onnx(out / "model.onnx")
    return {"files": ["model.onnx"], "layer_precisions": {}, "batchnorm_folds": folds}


@_register("onnxruntime", "int8")
def _ort_int8(src: FloatModel, recipe: Recipe, out: Path) -> dict[str, Any]:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from caloquant.precision.layer_map import onnx_layer_precisions

    assert isinstance(recipe, Int8StaticConfig)
    z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent, src.energy_input)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([z[s : s + 16] for s in range(0, len(z), 16)])

        def get_next(self) -> dict | None:
            batch = next(self.batches, None)
            return None if batch is None else {"z": batch}

    with tempfile.TemporaryDirectory() as tmp:
        # the peer ("defaults") gets the plain export a user would make; our recipe the exact BN folds
        if recipe.tool_defaults:
            fp32, folds = src.write_onnx(Path(tmp) / "fp32.onnx"), None
        else:
            fp32, folds = src.write_folded_onnx(Path(tmp) / "fp32.onnx")
        names = [n.name for n in onnx.load(str(fp32)).graph.node]
        exclude = [n for n in names if n.startswith("/final/")] if recipe.keep_output_float else []
        method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                  "percentile": CalibrationMethod.Percentile}[recipe.calibration_method]
        from caloquant._atomic import atomic_path

        with atomic_path(out / "model.onnx", suffix=".onnx") as target:
            if recipe.tool_defaults:
                exclude = []
                quantize_static(str(fp32), str(target), Reader())
            else:
                quantize_static(str(fp32), str(target), Reader(), quant_format=QuantFormat.QDQ,
                                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True,
                                calibrate_method=method, nodes_to_exclude=exclude,
                                extra_options={"ActivationSymmetric": recipe.symmetric})
    tool = "onnxruntime.quantization.quantize_static " + ("(defaults)" if recipe.tool_defaults
                                                         else "(QDQ, per-channel weights)")
    return {"files": ["model.onnx"], "layer_precisions": onnx_layer_precisions(out / "model.onnx"),
            "calibration": {"tool": tool, "excluded_nodes": exclude},
            "batchnorm_folds": folds}


@_register("openvino", "fp32", "bf16", "fp16", "int8")
def _openvino(src: FloatModel, recipe: Recipe, out: Path) -> dict[str, Any]:
    import openvino as ov

    from caloquant.engines.export import save_ir
    from caloquant.precision.layer_map import openvino_layer_precisions

    with tempfile.TemporaryDirectory() as tmp:
        model = ov.convert_model(str(src.write_onnx(Path(tmp) / "fp32.onnx")))
    info: dict[str, Any] = {}
    if isinstance(recipe, Int8StaticConfig):
        import nncf

        z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent, src.energy_input)
        ignored = nncf.IgnoredScope(patterns=[r"/final/.*"], validate=False) if recipe.keep_output_float else None
        from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

        advanced = AdvancedQuantizationParameters()
        if recipe.calibration_method == "percentile":
            from nncf.quantization.range_estimator import RangeEstimatorParametersSet

            advanced = AdvancedQuantizationParameters(
                activations_range_estimator_params=RangeEstimatorParametersSet.MEAN_QUANTILE)
        dataset = nncf.Dataset([z[i : i + 1] for i in range(len(z))])
        if recipe.tool_defaults:
            model = nncf.quantize(model, dataset, subset_size=len(z))
            info["calibration"] = {"tool": f"nncf.quantize {nncf.__version__} (defaults)"}
        else:
            model = nncf.quantize(
                model, dataset, subset_size=len(z),
                preset=nncf.QuantizationPreset.PERFORMANCE if recipe.symmetric else nncf.QuantizationPreset.MIXED,
                ignored_scope=ignored, advanced_parameters=advanced)
            info["calibration"] = {"tool": f"nncf.quantize {nncf.__version__}",
                                   "preset": "PERFORMANCE (symmetric)" if recipe.symmetric else "MIXED",
                                   "ignored": [r"/final/.*"] if recipe.keep_output_float else []}
    save_ir(model, out, compress_to_fp16=recipe.precision == "fp16")
    info.update(files=["model.xml", "model.bin"], layer_precisions=openvino_layer_precisions(model))
    return info


def quantize(generator: Any, recipe: Recipe, *, engine: str, out: str | os.PathLike[str],
             source: dict[str, Any] | None = None) -> Path:
    """Write ``out`` for ``engine`` at ``recipe.precision``; returns the directory. ``generator``: a torch
    generator, a wrapped user ONNX model or a FloatModel."""
    check_supported(engine, recipe.precision)
    src = as_float_model(generator)
    out = Path(out)
    ensure_dir(out)
    info = _HANDLERS[(engine, recipe.precision)](src, recipe, out)
    write_model_dir(out, engine=engine, recipe=recipe, latent=src.latent, info=info, source=source,
                    energy_input=src.energy_input)
    return out
