"""TFLite (paper A's peer): the Keras port of the generator through the TFLite converter, run by LiteRT, in
the peers' environment. fp32; fp16 = float16 weights; int8 = the converter's full integer quantization
(its own ranges and scheme, as the paper used it) on our calibration latents, so the int8 recipe is the
tool's defaults (`ToolDefaultsConfig`); our own int8 options (symmetric, float output layer, bias
correction, calibration batches) are NNCF's and refused here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caloquant.errors import InputValueError
from caloquant.precision.backends.peer_inputs import peer_inputs, peer_loader
from caloquant.precision.recipes import FP16Config, FP32Config, ToolDefaultsConfig
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY"]


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    from caloquant.engines.peer_process import run_peer_command

    if not isinstance(recipe, FP32Config | FP16Config | ToolDefaultsConfig):
        raise InputValueError(f"engine tflite: recipe {type(recipe).__name__} is not TFLite's; int8 on tflite is "
                              "the converter's full integer quantization (ToolDefaultsConfig, `quantize --method "
                              "defaults`)")
    with peer_inputs(src, recipe, "tflite") as (weights, calibration):
        info = run_peer_command("convert", weights, recipe.precision, str(out), *([calibration] if calibration else []))
    return {"files": ["model.tflite"], "layer_precisions": {}, "tflite_ops": info.pop("ops", {}), "calibration": info}


ENTRY = register_engine(EngineEntry("tflite", ("fp32", "fp16", "int8"), _quantize,
                                    peer_loader("model.tflite", "tflite"),
                                    "TFLite on LiteRT (paper A's peer; `make peers`)"))
