"""PyTorch eager: fp32, or bf16 autocast; the model directory holds the generator's safetensors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caloquant.engines.base import Engine
from caloquant.errors import InputValueError
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY"]


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    from caloquant.models.io import save_generator

    if src.module is None:
        raise InputValueError("engine torch runs caloquant PyTorch generators; a user ONNX model runs on "
                              "openvino or onnxruntime")
    save_generator(out / "generator.safetensors", src.module)
    return {"files": ["generator.safetensors"], "layer_precisions": {}}


def _load(path: Path, meta: dict[str, Any], threads: int, streams: int) -> Engine:
    from caloquant.engines.torch_engine import TorchEngine
    from caloquant.models.io import load_generator

    return TorchEngine(load_generator(path / "generator.safetensors"), meta["precision"], threads=threads)


ENTRY = register_engine(EngineEntry("torch", ("fp32", "bf16"), _quantize, _load, "PyTorch eager (CPU)"))
