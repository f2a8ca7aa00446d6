"""The physics verdict every reduced-precision search shares: a candidate against float32 on the same latents.

Quantities are those of `validate` (sampling fraction, shapes and Table 3 numbers, moments, containment,
longitudinal profile, occupancy, cell spectrum); the CONVENTIONS rule |diff| <= max(tol, k sigma) is
applied with the bootstrap errors rescaled to a reference sample size (default: the statistical
resolution of 10 000 Geant4 showers), so the verdict does not loosen when fewer showers are generated.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["ZERO_TOLERANCES", "PhysicsJudge"]

ZERO_TOLERANCES = {"sf_mean": 0.0, "sf_spread": 0.0, "shape_means": 0.0, "shape_stds": 0.0, "profile": 0.0,
                   "containment_tol": 0.0, "moment1": 0.0, "moment2": 0.0, "occupancy": 0.0,
                   "cell_log_energy": 0.0}


class PhysicsJudge:
    """Generates the float32 reference once; ``score(engine)`` is max |diff| / allowed (< 1 passes)."""

    def __init__(self, reference: Any, *, validation_size: int = 2000, reference_size: int = 10000,
                 k: float = 4.0, tolerances: dict[str, float] | None = None, seed: int = 7,
                 batch_size: int = 128) -> None:
        from caloquant.engines.base import generate_batches
        from caloquant.engines.contract import draw_energies
        from caloquant.physics.compare import standard_quantities
        from caloquant.physics.features import extract_features
        from caloquant.physics.quantities import validation_quantities

        tol = {**ZERO_TOLERANCES, **(tolerances or {})}
        self.quantities = [*standard_quantities(sf_mean=tol["sf_mean"], sf_spread=tol["sf_spread"],
                                                shape_means=tol["shape_means"], shape_stds=tol["shape_stds"],
                                                profile=tol["profile"], containment_tol=tol["containment_tol"]),
                           *validation_quantities(tol)]
        self.k, self.seed, self.batch_size = k, seed, batch_size
        self.validation_size, self.reference_size = validation_size, reference_size
        self.sigma_scale = float(np.sqrt(validation_size / reference_size))
        self.ep = draw_energies(seed, validation_size, 100.0, 500.0)
        t0 = time.perf_counter()
        self.reference = extract_features(generate_batches(reference, ep=self.ep, seed=seed, batch_size=batch_size))
        self.reference_seconds = time.perf_counter() - t0

    def rule(self) -> str:
        return (f"|diff| <= max(tol, {self.k:g} sigma), sigma at {self.reference_size} showers, candidate vs "
                f"float32 on {self.validation_size} paired showers")

    def score(self, engine: Any) -> tuple[float, str]:
        """(max over quantities and energy bins of |diff| / allowed, the worst quantity)."""
        from caloquant.engines.base import generate_batches
        from caloquant.physics.compare import compare_features
        from caloquant.physics.features import extract_features

        feats = extract_features(generate_batches(engine, ep=self.ep, seed=self.seed, batch_size=self.batch_size))
        rows = compare_features(feats, self.reference, self.quantities, k=self.k, n_boot=50, seed=self.seed,
                                sigma_scale=self.sigma_scale)
        score, worst = max((abs(r.diff) / max(r.tolerance, r.k * r.sigma, 1e-12), f"{r.bin} {r.name}") for r in rows)
        return float(score), worst
