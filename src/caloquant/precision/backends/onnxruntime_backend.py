"""ONNX Runtime CPU: fp32 (exact BatchNorm folds) and int8 (QDQ, `quantize_static`)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from caloquant.engines.base import Engine
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_latents
from caloquant.precision.float_layers import onnx_patterns
from caloquant.precision.recipes import Int8StaticConfig, ToolDefaultsConfig
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY"]


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    if isinstance(recipe, Int8StaticConfig) and recipe.bias_correction != "fast":
        raise InputValueError(f"bias_correction {recipe.bias_correction!r} is an NNCF option: use engine openvino")
    if isinstance(recipe, Int8StaticConfig) and recipe.fallback == "bf16":
        raise InputValueError("fallback 'bf16': ONNX Runtime runs the layers kept out of int8 in fp32 (no bf16 "
                              "kernels on CPU); use engine openvino or fallback fp32")
    if isinstance(recipe, Int8StaticConfig | ToolDefaultsConfig):
        return _int8(src, recipe, out)
    _, folds = src.write_folded_onnx(out / "model.onnx")
    return {"files": ["model.onnx"], "layer_precisions": {}, "batchnorm_folds": folds}


def _int8(src: Any, recipe: Int8StaticConfig | ToolDefaultsConfig, out: Path) -> dict[str, Any]:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from caloquant._atomic import atomic_path
    from caloquant.precision.layer_map import onnx_layer_precisions

    z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent, src.energy_input)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([z[s : s + 16] for s in range(0, len(z), 16)])

        def get_next(self) -> dict | None:
            batch = next(self.batches, None)
            return None if batch is None else {"z": batch}

    exclude: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, atomic_path(out / "model.onnx", suffix=".onnx") as target:
        if isinstance(recipe, ToolDefaultsConfig):  # the peer gets the plain export a user would make
            fp32, folds = src.write_onnx(Path(tmp) / "fp32.onnx"), None
            quantize_static(str(fp32), str(target), Reader())
            tool = "onnxruntime.quantization.quantize_static (defaults)"
        else:  # our recipe: the exact BatchNorm folds, QDQ, per-channel weights
            fp32, folds = src.write_folded_onnx(Path(tmp) / "fp32.onnx")
            names = [n.name for n in onnx.load(str(fp32)).graph.node]
            patterns = onnx_patterns(recipe.keep_output_float, recipe.float_tail)
            exclude = [n for n in names if any(re.fullmatch(p, n) for p in patterns)]
            method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                      "percentile": CalibrationMethod.Percentile}[recipe.calibration_method]
            quantize_static(str(fp32), str(target), Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=method, nodes_to_exclude=exclude,
                            extra_options={"ActivationSymmetric": recipe.symmetric})
            tool = "onnxruntime.quantization.quantize_static (QDQ, per-channel weights)"
    return {"files": ["model.onnx"], "layer_precisions": onnx_layer_precisions(out / "model.onnx"),
            "calibration": {"tool": tool, "excluded_nodes": exclude}, "batchnorm_folds": folds}


def _load(path: Path, meta: dict[str, Any], threads: int, streams: int) -> Engine:
    from caloquant.engines.onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine(path / "model.onnx", meta["precision"], threads=threads, latent=int(meta["latent"]),
                             energy_input=meta.get("energy_input", "latent"))


ENTRY = register_engine(EngineEntry("onnxruntime", ("fp32", "int8"), _quantize, _load, "ONNX Runtime CPU"))
