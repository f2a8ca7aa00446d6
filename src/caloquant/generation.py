"""Generate showers with a trained generator by the contract, streaming them to a 3DGAN file."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant.errors import InputValueError

__all__ = ["EnergyRangeWarning", "check_trained_range", "generate_to_file", "model_identity"]


class EnergyRangeWarning(UserWarning):
    """Energies outside what the generator was trained on: showers are extrapolations."""


def check_trained_range(lo: float, hi: float, trained: tuple[float, float] | None, *, strict: bool) -> None:
    if trained is None or (lo >= trained[0] and hi <= trained[1]):
        return
    msg = f"--energy {lo:g}:{hi:g} GeV is outside the trained range {trained[0]:g}:{trained[1]:g} GeV"
    if strict:
        raise InputValueError(msg)
    warnings.warn(msg + "; showers are extrapolations", EnergyRangeWarning, stacklevel=2)


def model_identity(model: str | os.PathLike[str] | None,
                   spec: str | os.PathLike[str] | None = None) -> tuple[str, tuple[float, float] | None]:
    """The hash that names a model's weights (every file of a model directory) and its trained energy range."""
    from caloquant.models.io import read_metadata
    from caloquant.models.shipped import file_sha256, resolve_generator_path
    from caloquant.precision.modeldir import MODEL_JSON, read_model_dir

    if spec is not None or (model is not None and Path(model).suffix.lower() == ".onnx"):
        from caloquant.models.user_onnx import read_spec

        if spec is None:
            raise InputValueError(f"--model {model}: a user ONNX generator needs --spec (its input and output "
                                  "layout; see docs/precision.md)")
        trained = read_spec(spec).energy_range_gev
        return (file_sha256(model) if model is not None and Path(model).is_file() else ""), trained
    if model is not None and (Path(model) / MODEL_JSON).is_file():
        meta = read_model_dir(model)
        trained = (meta.get("source_model") or {}).get("energy_range_gev")
        return ",".join(f"{k}:{v}" for k, v in meta["sha256"].items()), tuple(trained) if trained else None
    path = resolve_generator_path(model)
    trained = read_metadata(path)["info"].get("energy_range_gev")
    return file_sha256(path), tuple(trained) if trained else None


def generate_to_file(model: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, count: int,
                     energy: tuple[float, float], seed: int, batch_size: int = 128, threads: int = 2,
                     streams: int = 1, strict: bool = False, spec: str | os.PathLike[str] | None = None,
                     on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Generate ``count`` showers into ``out`` (atomically) with any model: the shipped default, a weights
    file, a `caloquant quantize` directory (its engine and precision), or a user ONNX generator with its
    ``spec``. Returns the file attributes."""
    from caloquant.data import ShowerWriter
    from caloquant.engines.base import generate_batches
    from caloquant.precision.modeldir import load_engine

    for value, name in ((count, "--count"), (batch_size, "--batch-size"), (threads, "--threads"),
                        (streams, "--streams")):
        if value <= 0:
            raise InputValueError(f"{name} {value}: must be a positive integer")
    digest, trained = model_identity(model, spec)
    check_trained_range(*energy, tuple(trained) if trained else None, strict=strict)
    engine = load_engine(model, threads=threads, streams=streams, spec=spec)
    attrs = {"generator": "caloquant 3DGAN", "model": str(model or "shipped default"), "model_sha256": digest,
             "seed": seed, "energy_range_gev": list(energy), "engine": f"{engine.name} {engine.precision}",
             "batch_size": batch_size}
    with ShowerWriter(out, attrs=attrs) as writer:
        for ecal, ep in generate_batches(engine, count=count, energy=energy, seed=seed, batch_size=batch_size):
            writer.append(ecal, ep)
            if on_batch:
                on_batch(len(ecal))
    return attrs
