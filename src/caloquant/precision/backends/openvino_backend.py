"""OpenVINO CPU: fp32, bf16 (inference precision hint), fp16 (compressed weights, f32 compute), int8 (NNCF)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from caloquant._logs import hide_tool_progress
from caloquant.engines.base import Engine
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_items, calibration_latents
from caloquant.precision.float_layers import onnx_patterns
from caloquant.precision.recipes import Int8StaticConfig, ToolDefaultsConfig, openvino_fallback
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY", "NNCF_CALIBRATION_METHODS"]

NNCF_CALIBRATION_METHODS = ("minmax", "percentile")


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    import openvino as ov

    from caloquant.engines.export import save_ir
    from caloquant.precision.layer_map import openvino_layer_precisions

    if isinstance(recipe, Int8StaticConfig) and recipe.calibration_method not in NNCF_CALIBRATION_METHODS:
        raise InputValueError(f"calibration_method {recipe.calibration_method!r}: OpenVINO (NNCF) calibrates with "
                              f"{' or '.join(NNCF_CALIBRATION_METHODS)}; entropy calibration is ONNX Runtime's")
    with tempfile.TemporaryDirectory() as tmp:
        model = ov.convert_model(str(src.write_onnx(Path(tmp) / "fp32.onnx")))
    info: dict[str, Any] = {}
    fallback = "fp32"
    if isinstance(recipe, Int8StaticConfig | ToolDefaultsConfig):
        with hide_tool_progress():
            model, info["calibration"] = _nncf_int8(model, src, recipe)
        if isinstance(recipe, Int8StaticConfig):  # NNCF's defaults: as the tool runs them, f32
            fallback = info["runtime_precision"] = openvino_fallback(recipe)
    save_ir(model, out, compress_to_fp16=recipe.precision == "fp16")
    info.update(files=["model.xml", "model.bin"], layer_precisions=openvino_layer_precisions(model, fallback))
    return info


def _nncf_int8(model: Any, src: Any, recipe: Int8StaticConfig | ToolDefaultsConfig) -> tuple[Any, dict[str, Any]]:
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent, src.energy_input)
    if isinstance(recipe, ToolDefaultsConfig):  # one latent per item, as NNCF's examples feed it
        return (nncf.quantize(model, nncf.Dataset(calibration_items(z, 1)), subset_size=len(z)),
                {"tool": f"nncf.quantize {nncf.__version__} (defaults)"})
    items = calibration_items(z, recipe.calibration_batch)
    options: dict[str, Any] = {"disable_bias_correction": recipe.bias_correction == "off"}
    if recipe.calibration_method == "percentile":
        from nncf.quantization.range_estimator import RangeEstimatorParametersSet

        options["activations_range_estimator_params"] = RangeEstimatorParametersSet.MEAN_QUANTILE
    advanced = AdvancedQuantizationParameters(**options)
    patterns = onnx_patterns(recipe.keep_output_float, recipe.float_tail)
    ignored = nncf.IgnoredScope(patterns=patterns, validate=False) if patterns else None
    quantized = nncf.quantize(
        model, nncf.Dataset(items), subset_size=len(items),
        preset=nncf.QuantizationPreset.PERFORMANCE if recipe.symmetric else nncf.QuantizationPreset.MIXED,
        ignored_scope=ignored, advanced_parameters=advanced, fast_bias_correction=recipe.bias_correction != "full")
    return quantized, {"tool": f"nncf.quantize {nncf.__version__}", "bias_correction": recipe.bias_correction,
                       "items": f"{len(items)} of {recipe.calibration_batch} latents",
                       "preset": "PERFORMANCE (symmetric)" if recipe.symmetric else "MIXED",
                       "ignored": patterns}


def _load(path: Path, meta: dict[str, Any], threads: int, streams: int) -> Engine:
    from caloquant.engines.openvino_engine import OpenVINOEngine

    runtime = meta.get("runtime_precision", meta["precision"])  # auto: the fallback layers' precision
    engine = OpenVINOEngine(path / "model.xml", runtime, threads=threads, streams=streams,
                            latent=int(meta["latent"]), energy_input=meta.get("energy_input", "latent"))
    engine.precision = meta["precision"]
    return engine


ENTRY = register_engine(EngineEntry("openvino", ("fp32", "bf16", "fp16", "int8"), _quantize, _load,
                                    "OpenVINO CPU (NNCF for int8)"))
