"""Which weights a model runs and the energies it was trained on, for any model the engines can load: a
weights file, a `caloquant quantize` directory or a user ONNX generator with its spec."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from caloquant.errors import InputValueError

__all__ = ["EnergyRangeWarning", "check_trained_range", "model_identity"]


class EnergyRangeWarning(UserWarning):
    """Energies outside what the generator was trained on: showers are extrapolations."""


def check_trained_range(lo: float, hi: float, trained: tuple[float, float] | None, *, strict: bool) -> None:
    if trained is None or (lo >= trained[0] and hi <= trained[1]):
        return
    msg = f"energy {lo:g}:{hi:g} GeV is outside the trained range {trained[0]:g}:{trained[1]:g} GeV"
    if strict:
        raise InputValueError(msg)
    warnings.warn(msg + "; showers are extrapolations", EnergyRangeWarning, stacklevel=2)


def _energy_range(trained: Any) -> tuple[float, float] | None:
    return (float(trained[0]), float(trained[1])) if trained else None


def model_identity(model: str | os.PathLike[str] | None,
                   spec: str | os.PathLike[str] | None = None) -> tuple[str, tuple[float, float] | None]:
    """The hash that names a model's weights (every file of a model directory) and its trained energy range."""
    from caloquant.models.io import read_metadata
    from caloquant.models.shipped import file_sha256, resolve_generator_path
    from caloquant.precision.modeldir import MODEL_JSON, read_model_dir

    if spec is not None or (model is not None and Path(model).suffix.lower() == ".onnx"):
        from caloquant.models.user_onnx import read_spec

        if spec is None:
            raise InputValueError(f"model {model}: a user ONNX generator needs spec (its input and output "
                                  "layout; see docs/precision.md)")
        trained = read_spec(spec).energy_range_gev
        return (file_sha256(model) if model is not None and Path(model).is_file() else ""), trained
    if model is not None and (Path(model) / MODEL_JSON).is_file():
        meta = read_model_dir(model)
        trained = (meta.get("source_model") or {}).get("energy_range_gev")
        return ",".join(f"{k}:{v}" for k, v in meta["sha256"].items()), _energy_range(trained)
    path = resolve_generator_path(model)
    trained = read_metadata(path)["info"].get("energy_range_gev")
    return file_sha256(path), _energy_range(trained)
