"""Where models come from: the shipped default generator, a weights file, or a run/model directory."""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

from caloquant.errors import CheckpointError

__all__ = ["DEFAULT_AUTO_DIR", "DEFAULT_WEIGHTS", "default_generator_path", "file_sha256",
           "resolve_generator_path", "shipped_auto_model"]

DEFAULT_WEIGHTS = "generator_3dgan_paper.safetensors"
DEFAULT_AUTO_DIR = "generator_3dgan_paper_auto"  # `quantize --precision auto` result for the shipped weights
_DIR_CANDIDATES = ("generator.safetensors", "best_generator.safetensors", "last_generator.safetensors")


def default_generator_path() -> Path:
    path = Path(str(resources.files("caloquant.resources").joinpath(DEFAULT_WEIGHTS)))
    if not path.is_file():
        raise CheckpointError(f"the shipped generator {DEFAULT_WEIGHTS} is missing from this installation")
    return path


def shipped_auto_model() -> Path | None:
    """The stored physics-tuned (auto) OpenVINO model of the shipped generator, or None when it is absent or
    was tuned for other weights (then rerun `caloquant quantize --precision auto`)."""
    import json

    path = Path(str(resources.files("caloquant.resources").joinpath(DEFAULT_AUTO_DIR)))
    try:
        meta = json.loads((path / "caloquant.json").read_text())
        weights = default_generator_path()
    except (OSError, json.JSONDecodeError, CheckpointError):
        return None
    return path if meta.get("source_model", {}).get("sha256") == file_sha256(weights) else None


def resolve_generator_path(model: str | os.PathLike[str] | None) -> Path:
    """None -> shipped default; a directory -> its generator weights; a file -> itself."""
    if model is None:
        return default_generator_path()
    path = Path(model)
    if path.is_dir():
        for name in _DIR_CANDIDATES:
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"model {path}: directory holds none of {', '.join(_DIR_CANDIDATES)}")
    if not path.exists():
        raise CheckpointError(f"model {path}: no such file or directory")
    return path


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
