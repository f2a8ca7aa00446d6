"""Generate showers with a trained generator by the contract, streaming them to a 3DGAN file."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from caloquant._atomic import check_room_for_showers
from caloquant.errors import require_positive
from caloquant.physics.plausibility import ImplausibleShowersWarning, implausible_energy
from caloquant.precision.identity import check_trained_range, model_identity

__all__ = ["generate_to_file"]


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

    require_positive(count=count, batch_size=batch_size, threads=threads, streams=streams)
    check_room_for_showers(out, count)
    digest, trained = model_identity(model, spec)
    check_trained_range(*energy, trained, strict=strict)
    engine = load_engine(model, threads=threads, streams=streams, spec=spec)
    attrs = {"generator": "caloquant 3DGAN", "model": str(model or "shipped default"), "model_sha256": digest,
             "seed": seed, "energy_range_gev": list(energy), "engine": f"{engine.name} {engine.precision}",
             "batch_size": batch_size}
    warned = False
    with ShowerWriter(out, attrs=attrs) as writer:
        for ecal, ep in generate_batches(engine, count=count, energy=energy, seed=seed, batch_size=batch_size):
            reason = None if warned else implausible_energy(ecal, ep)
            if reason:
                warnings.warn(f"{model or 'shipped default'}: {reason}", ImplausibleShowersWarning, stacklevel=2)
                warned = True
            writer.append(ecal, ep)
            if on_batch:
                on_batch(len(ecal))
    return attrs
