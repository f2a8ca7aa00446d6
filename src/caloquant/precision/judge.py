"""The physics objective every reduced-precision search shares: a candidate against float32 on the same latents.

Quantities are those of `validate` (sampling fraction, shapes and Table 3 numbers, moments, containment,
longitudinal profile, occupancy, cell spectrum); the CONVENTIONS rule |diff| <= max(tol, k sigma) is
applied with the bootstrap errors rescaled to a reference sample size (default: the statistical
resolution of 10 000 Geant4 showers), so the verdict does not loosen when fewer showers are generated.
The tuner scores whole candidates with it, NNCF's accuracy control scores the subsets it ranks layers on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from caloquant.physics.features import EventFeatures
from caloquant.physics.tolerances import ZERO as ZERO_TOLERANCES

__all__ = ["ZERO_TOLERANCES", "PhysicsJudge"]


class PhysicsJudge:
    """Generates the float32 reference once; ``score(engine)`` is max |diff| / allowed (< 1 passes)."""

    def __init__(self, reference: Any, *, validation_size: int = 2000, reference_size: int = 10000,
                 k: float = 4.0, tolerances: dict[str, float] | None = None, seed: int = 7,
                 batch_size: int = 128, n_boot: int = 50) -> None:
        from caloquant.contract import draw_energies, draw_latents, make_latent
        from caloquant.engines.base import generate_batches
        from caloquant.physics.compare import validation_quantity_list
        from caloquant.physics.features import extract_features

        tol = {**ZERO_TOLERANCES, **(tolerances or {})}
        self.quantities = validation_quantity_list(tol)
        self.k, self.seed, self.batch_size, self.n_boot = k, seed, batch_size, n_boot
        self.validation_size, self.reference_size = validation_size, reference_size
        self.ep = draw_energies(seed, validation_size, 100.0, 500.0)
        # the inputs generate_batches draws for these energies and seed, for tools that run the model themselves
        self.latents = make_latent(draw_latents(seed, validation_size, reference.latent), self.ep,
                                   reference.energy_input)
        t0 = time.perf_counter()
        self.reference = extract_features(generate_batches(reference, ep=self.ep, seed=seed, batch_size=batch_size))
        self.reference_seconds = time.perf_counter() - t0

    def rule(self) -> str:
        return (f"|diff| <= max(tol, {self.k:g} sigma), sigma at {self.reference_size} showers, candidate vs "
                f"float32 on {self.validation_size} paired showers")

    def score(self, engine: Any) -> tuple[float, str]:
        """(max over quantities and energy bins of |diff| / allowed, the worst quantity)."""
        from caloquant.engines.base import generate_batches
        from caloquant.physics.features import extract_features

        return self.score_features(extract_features(generate_batches(engine, ep=self.ep, seed=self.seed,
                                                                     batch_size=self.batch_size)))

    def score_features(self, features: EventFeatures, index: np.ndarray | None = None) -> tuple[float, str]:
        """The score of a candidate's features; ``index`` (into the validation events) when they cover a
        subset: the reference is cut to the same events and the errors still scaled to reference_size."""
        from caloquant.physics.compare import compare_features

        reference = self.reference if index is None else self.reference.select(index)
        n = self.validation_size if index is None else len(index)
        rows = compare_features(features, reference, self.quantities, k=self.k, n_boot=self.n_boot, seed=self.seed,
                                sigma_scale=float(np.sqrt(n / self.reference_size)),
                                min_events=20 if index is None else 10)
        score, worst = max((abs(r.diff) / max(r.tolerance, r.k * r.sigma, 1e-12), f"{r.bin} {r.name}") for r in rows)
        return float(score), worst
