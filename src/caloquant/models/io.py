"""Save and load generator weights as safetensors with the architecture in the file's metadata.

Never unpickles: safetensors holds only tensors and a string-to-string metadata map, so a foreign or
corrupt file fails with a clear error and nothing is loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from caloquant.errors import CheckpointError
from caloquant.models.config import GANConfig
from caloquant.models.generator import Generator

__all__ = ["load_generator", "read_metadata", "save_generator"]

_FORMAT = "caloquant-generator-v1"


def save_generator(path: str | os.PathLike[str], generator: Generator, info: dict[str, Any] | None = None) -> None:
    """Write fp32 generator weights (BatchNorm statistics included) atomically."""
    from safetensors.torch import save_file

    from caloquant._atomic import atomic_path

    tensors = {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point() else v.detach().contiguous()
               for k, v in generator.state_dict().items()}
    meta = {"format": _FORMAT, "config": json.dumps(generator.cfg.to_json()), "info": json.dumps(info or {})}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Config and info stored with the weights, without loading the tensors."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise CheckpointError(f"{path}: not a safetensors file ({exc.__class__.__name__})") from None
    if meta.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a caloquant generator (format {meta.get('format')!r})")
    return {"config": json.loads(meta["config"]), "info": json.loads(meta.get("info", "{}"))}


def load_generator(path: str | os.PathLike[str]) -> Generator:
    """Build the generator the file describes and load its weights (eval mode)."""
    from safetensors.torch import load_file

    meta = read_metadata(path)
    gen = Generator(GANConfig.from_json(meta["config"]))
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path}: corrupt weights ({exc.__class__.__name__})") from None
    expected = gen.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{path}: weights do not match the architecture (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise CheckpointError(f"{path}: tensor {k} has shape {tuple(v.shape)}, expected "
                                  f"{tuple(expected[k].shape)}")
    gen.load_state_dict(state)
    return gen.eval()
