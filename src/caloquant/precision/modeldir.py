"""Self-describing model directories (`caloquant.json` + engine files) and loading any model as an Engine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from caloquant.engines.base import Engine
from caloquant.errors import CheckpointError
from caloquant.precision.recipes import Recipe

__all__ = ["MODEL_JSON", "load_engine", "read_model_dir", "verify_model_files", "write_model_dir"]

MODEL_JSON = "caloquant.json"


def write_model_dir(out: Path, *, engine: str, recipe: Recipe, latent: int, info: dict[str, Any],
                    source: dict[str, Any] | None, energy_input: str = "latent") -> None:
    from caloquant._atomic import write_json_atomic
    from caloquant.metadata import metadata
    from caloquant.models.shipped import file_sha256

    files = info.pop("files")
    payload = metadata(seed=getattr(recipe, "seed", None), extra={
        "kind": "quantized model", "engine": engine, "precision": recipe.precision, "recipe": recipe.to_json(),
        "latent": latent, "energy_input": energy_input,
        "input": "z = (Ep / 100 GeV) * n, float32 (batch, latent)" if energy_input == "latent"
        else "z = [n, Ep / 100 GeV], float32 (batch, latent + 1)",
        "output": "showers (batch, 25, 25, 25) GeV, axes x, y, layer", "files": files,
        "sha256": {f: file_sha256(out / f) for f in files},
        "source_model": source or {}, **info})
    write_json_atomic(out / MODEL_JSON, payload)


def read_model_dir(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    try:
        meta = json.loads((path / MODEL_JSON).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no {MODEL_JSON} (not a caloquant model directory)") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path / MODEL_JSON}: not valid JSON ({exc.msg})") from None
    for f in meta.get("files", []):
        if not (path / f).is_file():
            raise CheckpointError(f"{path}: {MODEL_JSON} lists {f}, which is missing")
    return meta


def verify_model_files(path: Path, meta: dict[str, Any]) -> None:
    """Each file against the SHA-256 caloquant.json recorded when it was written: a truncated or replaced
    model.bin is refused in one line instead of loading (or crashing) with other weights."""
    from caloquant.models.shipped import file_sha256

    for name, expected in (meta.get("sha256") or {}).items():
        if file_sha256(path / name) != expected:
            raise CheckpointError(f"{path / name}: SHA-256 differs from the one {MODEL_JSON} recorded (a truncated "
                                  "or replaced file); quantize the model again")


def load_engine(model: str | os.PathLike[str] | None, *, threads: int = 2, streams: int = 1,
                spec: str | os.PathLike[str] | None = None) -> Engine:
    """An Engine for: None (shipped default, torch fp32), a weights file (torch fp32), a model directory
    (its engine's loader in the registry), or a user ONNX generator with its spec (ONNX Runtime fp32)."""
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import resolve_generator_path

    if model is not None and Path(model).is_dir() and (Path(model) / MODEL_JSON).exists():
        from caloquant.errors import InputValueError
        from caloquant.precision.registry import engine_entry

        path = Path(model)
        meta = read_model_dir(path)
        verify_model_files(path, meta)
        try:
            entry = engine_entry(meta["engine"])
        except InputValueError:
            raise CheckpointError(f"{path / MODEL_JSON}: unknown engine {meta['engine']!r}") from None
        return entry.load(path, meta, threads, streams)
    if spec is not None or Path(str(model)).suffix.lower() == ".onnx":
        from caloquant.precision.source import open_float_model

        return open_float_model(model, spec)[0].reference_engine(threads)
    from caloquant.engines.torch_engine import TorchEngine

    return TorchEngine(load_generator(resolve_generator_path(model)), "fp32", threads=threads)
