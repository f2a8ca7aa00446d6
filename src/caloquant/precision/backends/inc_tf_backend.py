"""Intel Neural Compressor on TensorFlow (`neural-compressor-tf`, paper A's iLoT line): post-training int8
of the Keras port of the generator with INC's defaults on our calibration latents, run by TensorFlow, in
the peers' environment. Only the tool's defaults (`ToolDefaultsConfig`): its options are not ours.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.engines.base import Engine
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_latents
from caloquant.precision.recipes import ToolDefaultsConfig
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY"]


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    from caloquant.engines.peer_process import peers_python, run_peer_command
    from caloquant.models.io import save_generator

    if src.module is None:
        raise InputValueError("engine inc-tf quantizes the Keras port of a caloquant generator; a user ONNX model "
                              "runs on openvino or onnxruntime")
    if not isinstance(recipe, ToolDefaultsConfig):
        raise InputValueError(f"engine inc-tf: recipe {type(recipe).__name__} is not INC's; inc-tf runs INC's "
                              "post-training int8 with its defaults (ToolDefaultsConfig, `quantize --method "
                              "defaults`)")
    peers_python()
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "generator.safetensors"
        save_generator(weights, src.module)
        z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent, src.energy_input)
        np.save(Path(tmp) / "calibration.npy", z)
        info = run_peer_command("inc", str(weights), str(out), str(Path(tmp) / "calibration.npy"))
    files = sorted(str(p.relative_to(out)) for p in (out / "saved_model").rglob("*") if p.is_file())
    return {"files": files, "layer_precisions": {}, "calibration": info, "tf_ops": info.pop("ops", {})}


def _load(path: Path, meta: dict[str, Any], threads: int, streams: int) -> Engine:
    from caloquant.engines.peer_engine import PeerEngine

    return PeerEngine(path / "saved_model", "inc-tf", meta["precision"], threads=threads,
                      latent=int(meta["latent"]), energy_input=meta.get("energy_input", "latent"))


ENTRY = register_engine(EngineEntry("inc-tf", ("int8",), _quantize, _load,
                                    "Intel Neural Compressor int8 on TensorFlow (paper A's iLoT line; `make peers`)"))
