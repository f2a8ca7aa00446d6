"""The physics objective every reduced-precision search shares: a candidate against float32 on the same latents.

Quantities are those of `validate` (sampling fraction, shapes and Table 3 numbers, moments, containment,
longitudinal profile, occupancy, cell spectrum); the CONVENTIONS rule |diff| <= max(tol, k sigma) is
applied with the bootstrap errors rescaled to a reference sample size (default: the statistical
resolution of 10 000 Geant4 showers), so the verdict does not loosen when fewer showers are generated.
The tuner scores whole candidates with it, NNCF's accuracy control scores the subsets it ranks layers on.
A whole candidate also meets `validate --paired`'s high-level-feature classifier (AUC against float32 on
the same latents, split by event), at the showers' own resolution: a classifier's AUC does not rescale
with the sample size as a mean's error does. Without it, a bf16 tail that shifted no single quantity
past its bound was still told from float32 at AUC 0.56 (docs/precision.md).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from caloquant.physics.features import EventFeatures
from caloquant.physics.tolerances import ZERO as ZERO_TOLERANCES

__all__ = ["ZERO_TOLERANCES", "PhysicsJudge", "paired_verdict", "paired_verdicts", "with_classifier"]


class PhysicsJudge:
    """Generates the float32 reference once; ``score(engine)`` is max |diff| / allowed (< 1 passes)."""

    def __init__(self, reference: Any, *, validation_size: int = 2000, reference_size: int = 10000,
                 k: float = 4.0, tolerances: dict[str, float] | None = None, seed: int = 7,
                 batch_size: int = 128, n_boot: int = 50, energies: np.ndarray | None = None,
                 classifier: bool = True) -> None:
        """``energies``: the primary energies to judge at (default: ``validation_size`` drawn by the contract
        over 100-500 GeV), e.g. fixed energies the candidate must not trade against each other;
        ``classifier``: whole candidates meet the high-level-feature classifier too."""
        from caloquant.contract import draw_energies, draw_latents, make_latent
        from caloquant.engines.base import generate_batches
        from caloquant.physics.compare import validation_quantity_list
        from caloquant.physics.features import extract_features

        tol = {**ZERO_TOLERANCES, **(tolerances or {})}
        self.quantities = validation_quantity_list(tol)
        self.auc_tolerance, self.classifier = tol["auc"], classifier
        self.k, self.seed, self.batch_size, self.n_boot = k, seed, batch_size, n_boot
        self.ep = (draw_energies(seed, validation_size, 100.0, 500.0) if energies is None
                   else np.asarray(energies, dtype=np.float64))
        self.validation_size, self.reference_size = len(self.ep), reference_size
        # the inputs generate_batches draws for these energies and seed, for tools that run the model themselves
        self.latents = make_latent(draw_latents(seed, len(self.ep), reference.latent), self.ep,
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
        verdict = self.verdict(features, index)
        return verdict["score"], verdict["worst"]

    def verdict(self, features: EventFeatures, index: np.ndarray | None = None) -> dict[str, Any]:
        """score (max |diff| / allowed), the worst quantity, and how many of how many quantities are off."""
        reference = self.reference if index is None else self.reference.select(index)
        verdict = paired_verdict(features, reference, self.quantities, k=self.k, n_boot=self.n_boot, seed=self.seed,
                                 reference_size=self.reference_size, min_events=20 if index is None else 10)
        if index is None and self.classifier:
            verdict = with_classifier(verdict, features, reference, tolerance=self.auc_tolerance, k=self.k,
                                      seed=self.seed)
        return verdict


def with_classifier(verdict: dict[str, Any], features: EventFeatures, reference: EventFeatures, *,
                    tolerance: float, k: float, seed: int) -> dict[str, Any]:
    """``verdict`` with `validate --paired`'s HLF classifier as one more quantity: |AUC - 0.5| <= max(tol,
    k sigma), sigma the AUC's bootstrap error on the test split of these showers."""
    from caloquant.physics.classifier import classifier_test, hlf_matrix

    c = classifier_test(hlf_matrix(features)[0], hlf_matrix(reference)[0], kind="hlf", seed=seed, paired=True)
    ratio = abs(c["auc"] - 0.5) / max(tolerance, k * c["auc_se"], 1e-12)
    out = {**verdict, "n_quantities": verdict["n_quantities"] + 1, "n_off": verdict["n_off"] + int(ratio >= 1),
           "classifier_auc": c["auc"], "classifier_auc_se": c["auc_se"]}
    if ratio > verdict["score"]:
        out.update(score=float(ratio), worst=f"all HLF classifier AUC {c['auc']:.3f}", passed=bool(ratio < 1))
    return out


def paired_verdict(features: EventFeatures, reference: EventFeatures, quantities: Any = None, *, k: float = 4.0,
                   n_boot: int = 50, seed: int = 7, reference_size: int = 10000, min_events: int = 20
                   ) -> dict[str, Any]:
    """The judge's rule on two paired samples' features: |diff| <= max(tol, k sigma) with the bootstrap
    errors rescaled from the showers at hand to ``reference_size`` (default quantities: `validate`'s with
    zero tolerances, as the tuner uses)."""
    from caloquant.physics.compare import compare_features, validation_quantity_list

    rows = compare_features(features, reference, quantities or validation_quantity_list(dict(ZERO_TOLERANCES)),
                            k=k, n_boot=n_boot, seed=seed,
                            sigma_scale=float(np.sqrt(len(features.ep) / reference_size)), min_events=min_events)
    return _verdict(rows, k, reference_size)


def paired_verdicts(features: EventFeatures, reference: EventFeatures, *, k: float = 4.0, n_boot: int = 50,
                    seed: int = 7, reference_size: int = 10000) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the paired physics check: `validate`'s tolerances, the tuner's rule: zero tolerances), both from one
    comparison: the differences and their errors do not depend on the tolerances."""
    from caloquant.physics.compare import compare_features, validation_quantity_list
    from caloquant.physics.tolerances import VALIDATE

    rows = compare_features(features, reference, validation_quantity_list(dict(VALIDATE)), k=k, n_boot=n_boot,
                            seed=seed, sigma_scale=float(np.sqrt(len(features.ep) / reference_size)))
    return _verdict(rows, k, reference_size), _verdict([dataclasses.replace(r, tolerance=0.0) for r in rows], k,
                                                       reference_size)


def _verdict(rows: list[Any], k: float, reference_size: int) -> dict[str, Any]:
    ratios = [(abs(r.diff) / max(r.tolerance, r.k * r.sigma, 1e-12), f"{r.bin} {r.name}") for r in rows]
    score, worst = max(ratios)
    return {"score": float(score), "worst": worst, "n_off": int(sum(x >= 1 for x, _ in ratios)),
            "n_quantities": len(ratios), "passed": bool(score < 1),
            "rule": f"|diff| <= max(tol, {k:g} sigma), sigma at {reference_size} showers"}
