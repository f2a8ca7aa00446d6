"""Compare two samples quantity by quantity, per energy bin, with bootstrap errors and a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np

from caloquant.physics.features import EventFeatures
from caloquant.physics.quantities import (
    ENERGY_BINS,
    Quantity,
    containment,
    energy_bin_masks,
    layer_response,
    sampling_fraction_mean,
    sampling_fraction_spread,
    shape_mean,
    shape_std,
)
from caloquant.physics.stats import DEFAULT_K, Comparison, bootstrap_se, compare_values, split_half

__all__ = ["compare_features", "standard_quantities"]


def standard_quantities(
    *,
    sf_mean: float = 0.02,
    sf_spread: float = 0.20,
    shape_means: float = 0.01,
    shape_stds: float = 0.05,
    profile: float = 0.10,
    containment_tol: float = 0.03,
) -> list[Quantity]:
    """The quantities the simulator and generators are judged on, with relative tolerances."""
    return [
        Quantity("sampling fraction mean", sampling_fraction_mean, sf_mean),
        Quantity("sampling fraction spread", sampling_fraction_spread, sf_spread),
        Quantity("y mean", shape_mean("y"), shape_means),
        Quantity("y std", shape_std("y"), shape_stds),
        Quantity("z mean", shape_mean("z"), shape_means),
        Quantity("z std", shape_std("z"), shape_stds),
        Quantity("containment 1x1", containment(1), containment_tol),
        Quantity("containment 3x3", containment(3), containment_tol),
        Quantity("containment 5x5", containment(5), containment_tol),
        Quantity("layer profile", layer_response, profile, per_layer=True),
    ]


def validation_quantity_list(tolerances: dict[str, float]) -> list[Quantity]:
    """Everything `validate` judges per energy bin (the acceptance quantities first), with ``tolerances``
    (keys of physics.tolerances.VALIDATE); the precision searches judge the same list."""
    from caloquant.physics.quantities import validation_quantities
    from caloquant.physics.tolerances import acceptance_subset

    return [*standard_quantities(**acceptance_subset(tolerances)), *validation_quantities(tolerances)]


def compare_features(
    sample: EventFeatures,
    reference: EventFeatures,
    quantities: Sequence[Quantity],
    *,
    bins: tuple[tuple[float, float], ...] = ENERGY_BINS,
    k: float = DEFAULT_K,
    n_boot: int = 200,
    seed: int = 0,
    min_layer_fraction: float = 0.01,
    min_events: int = 20,
    sigma_scale: float = 1.0,
) -> list[Comparison]:
    """All quantities in every energy bin with at least ``min_events`` showers in both samples.

    Per-layer quantities are compared only in layers holding more than ``min_layer_fraction`` of the
    reference's energy in that bin. ``sigma_scale`` rescales both samples' errors, e.g. sqrt(n / N) to
    judge at the statistical resolution of N showers instead of the n at hand.
    """
    out: list[Comparison] = []
    masks_s = energy_bin_masks(sample.ep, bins)
    masks_r = energy_bin_masks(reference.ep, bins)
    for label in masks_s:
        s, r = sample.select(masks_s[label]), reference.select(masks_r[label])
        if len(s) < min_events or len(r) < min_events:
            continue
        all_s, all_r = np.arange(len(s)), np.arange(len(r))
        for q in quantities:
            vs = np.atleast_1d(q.statistic(s, all_s))
            vr = np.atleast_1d(q.statistic(r, all_r))
            es = np.atleast_1d(bootstrap_se(partial(q.statistic, s), len(s), n_boot=n_boot,
                                            seed=seed))
            er = np.atleast_1d(bootstrap_se(partial(q.statistic, r), len(r), n_boot=n_boot,
                                            seed=seed + 1))
            es, er = es * sigma_scale, er * sigma_scale
            base = np.atleast_1d(split_half(partial(q.statistic, r), len(r), seed=seed + 2))
            if q.per_layer:
                fraction = vr / vr.sum()
                layers = np.flatnonzero(fraction > min_layer_fraction)
            else:
                layers = np.array([0])
            for j in layers:
                name = f"{q.name} L{j:02d}" if q.per_layer else q.name
                out.append(compare_values(name, label, vs[j], es[j], vr[j], er[j], tolerance=q.tolerance, k=k,
                                          baseline=base[j]))
    return out
