"""Simulate to a file: the parametric simulator streamed into a 3DGAN or CaloChallenge file, atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from caloquant._atomic import check_room_for_showers
from caloquant.errors import InputValueError, require_positive

__all__ = ["simulate_to_file"]


def simulate_to_file(out: str | os.PathLike[str], *, count: int, energy: tuple[float, float] = (100.0, 500.0),
                     seed: int = 1, threads: int = 2, fmt: Literal["3dgan", "calochallenge"] = "3dgan",
                     params: str | os.PathLike[str] | None = None, particle: str = "e-",
                     on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Write ``count`` simulated showers of ``particle`` (e- or gamma) with primary energies uniform in
    ``energy`` (GeV) to ``out``; ``params`` is a fitted parameter JSON for that particle (default: the shipped
    fit). Returns the file attributes."""
    from caloquant.data import ShowerWriter, write_calochallenge
    from caloquant.simulator import ShowerSimulator, check_energy_range, draw_energies, load_params

    require_positive(count=count, threads=threads)
    check_room_for_showers(out, count)
    if fmt not in ("3dgan", "calochallenge"):
        raise InputValueError(f"format {fmt!r}: expected 3dgan or calochallenge")
    fitted = load_params(Path(params) if params is not None else None, particle)
    check_energy_range(*energy, fitted)
    sim = ShowerSimulator(fitted)
    ep = draw_energies(seed, count, *energy)
    attrs = {"generator": "caloquant parametric simulator", "seed": seed, "energy_range_gev": list(energy),
             "particle": particle}

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for ecal, e in sim.iter_showers(ep, seed, threads=threads):
            if on_batch:
                on_batch(len(ecal))
            yield ecal, e

    if fmt == "3dgan":
        with ShowerWriter(out, attrs=attrs) as writer:
            for ecal, e in chunks():
                writer.append(ecal, e)
    else:
        write_calochallenge(out, chunks(), attrs=attrs)
    return attrs
