"""TFLite (paper A's peer): the Keras port of the generator through the TFLite converter, run by LiteRT, in
the peers' environment. fp32; fp16 = float16 weights; int8 = the converter's full integer quantization
(its own ranges and scheme, as the paper used it) on our calibration latents, so the int8 recipe is the
tool's defaults (`ToolDefaultsConfig`); our own int8 options (symmetric, float output layer, bias
correction, calibration batches) are NNCF's and refused here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.engines.base import Engine
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_latents
from caloquant.precision.recipes import FP16Config, FP32Config, ToolDefaultsConfig
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY"]


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    from caloquant.engines.peer_process import peers_python, run_peer_command
    from caloquant.models.io import save_generator

    if src.module is None:
        raise InputValueError("engine tflite runs the Keras port of a caloquant generator; a user ONNX model runs "
                              "on openvino or onnxruntime")
    if not isinstance(recipe, FP32Config | FP16Config | ToolDefaultsConfig):
        raise InputValueError(f"engine tflite: recipe {type(recipe).__name__} is not TFLite's; int8 on tflite is "
                              "the converter's full integer quantization (ToolDefaultsConfig, `quantize --method "
                              "defaults`)")
    peers_python()  # refuse before any work when the peers are not installed
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "generator.safetensors"
        save_generator(weights, src.module)
        args = [str(weights), recipe.precision, str(out)]
        if isinstance(recipe, ToolDefaultsConfig):
            z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent,
                                    src.energy_input)
            np.save(Path(tmp) / "calibration.npy", z)
            args.append(str(Path(tmp) / "calibration.npy"))
        info = run_peer_command("convert", *args)
    ops = info.pop("ops", {})
    return {"files": ["model.tflite"], "layer_precisions": {}, "calibration": info, "tflite_ops": ops}


def _load(path: Path, meta: dict[str, Any], threads: int, streams: int) -> Engine:
    from caloquant.engines.peer_engine import PeerEngine

    return PeerEngine(path / "model.tflite", "tflite", meta["precision"], threads=threads,
                      latent=int(meta["latent"]), energy_input=meta.get("energy_input", "latent"))


ENTRY = register_engine(EngineEntry("tflite", ("fp32", "fp16", "int8"), _quantize, _load,
                                    "TFLite on LiteRT (paper A's peer; `make peers`)"))
