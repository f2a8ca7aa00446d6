"""What the peers' worker needs from us, for every peer engine (tflite, inc-tf): the float generator as a
weights file and, for int8, our calibration latents, in a temporary folder; and the loader of the model it
writes."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.engines.base import Engine
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_latents
from caloquant.precision.recipes import AccuracyControlConfig, ToolDefaultsConfig

__all__ = ["peer_inputs", "peer_loader"]


@contextlib.contextmanager
def peer_inputs(src: Any, recipe: Any, engine: str) -> Iterator[tuple[str, str | None]]:
    """(weights file, calibration .npy or None when the recipe calibrates nothing), removed afterwards; a
    user ONNX model or a missing peers' environment is refused before anything is written."""
    from caloquant.engines.peer_process import peers_python
    from caloquant.models.io import save_generator

    if src.module is None:
        raise InputValueError(f"engine {engine} runs the Keras port of a caloquant generator; a user ONNX model "
                              "runs on openvino or onnxruntime")
    peers_python()
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "generator.safetensors"
        save_generator(weights, src.module)
        calibration = None
        if isinstance(recipe, ToolDefaultsConfig | AccuracyControlConfig):
            calibration = Path(tmp) / "calibration.npy"
            # accuracy control: the latents NNCF's accuracy control calibrates on
            energy, seed = ((recipe.energy, recipe.seed) if isinstance(recipe, ToolDefaultsConfig)
                            else ((100.0, 500.0), recipe.seed + 1))
            np.save(calibration, calibration_latents(recipe.calibration_size, energy, seed, src.latent,
                                                     src.energy_input))
        yield str(weights), None if calibration is None else str(calibration)


def peer_loader(model: str, engine: str) -> Callable[[Path, dict[str, Any], int, int], Engine]:
    """The registry's loader for a peer's model directory: ``model`` inside it, run by the peers' worker."""

    def load(path: Path, meta: dict[str, Any], threads: int, streams: int) -> Engine:
        from caloquant.engines.peer_engine import PeerEngine

        return PeerEngine(path / model, engine, meta["precision"], threads=threads, latent=int(meta["latent"]),
                          energy_input=meta.get("energy_input", "latent"))

    return load
