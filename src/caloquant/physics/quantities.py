"""Physics quantities as pure functions of per-event features and an index array (for bootstrap).

Definitions follow CONVENTIONS: sampling fraction = sum of cells / Ep, spread = IQR / 1.349 / median;
shower-shape numbers (the paper's Table 3) from the averaged profile s_i: mean = sum i s_i / sum s_i,
std = sqrt(sum (i - mean)^2 s_i / sum s_i); containment = fraction of the shower energy in the central
cell, 3x3 and 5x5 around the beam cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from caloquant.physics.features import EventFeatures

__all__ = [
    "ENERGY_BINS",
    "Quantity",
    "containment",
    "energy_bin_masks",
    "layer_response",
    "sampling_fraction_mean",
    "sampling_fraction_spread",
    "shape_numbers",
]

ENERGY_BINS: tuple[tuple[float, float], ...] = ((100, 200), (200, 300), (300, 400), (400, 500))

Statistic = Callable[[EventFeatures, np.ndarray], np.ndarray]


def sampling_fraction_mean(f: EventFeatures, idx: np.ndarray) -> np.ndarray:
    return np.asarray((f.total[idx] / f.ep[idx]).mean())


def robust_width(x: np.ndarray) -> float:
    """Interquartile range / 1.349: a Gaussian's sigma, left alone by the low tail (CONVENTIONS)."""
    q25, q75 = np.percentile(x, [25, 75])
    return float((q75 - q25) / 1.349)


def robust_spread(x: np.ndarray) -> float:
    """Robust relative spread: interquartile range / 1.349 / median (CONVENTIONS)."""
    median = float(np.median(x))
    return robust_width(x) / median if median != 0 else float("nan")  # all-zero showers: no spread to speak of


def sampling_fraction_spread(f: EventFeatures, idx: np.ndarray) -> np.ndarray:
    return np.asarray(robust_spread(f.total[idx] / f.ep[idx]))


def shape_numbers(profile: np.ndarray) -> tuple[float, float]:
    """(mean, std) in cell units of an averaged profile s_i, i = 0..n-1."""
    s = np.asarray(profile, dtype=np.float64)
    i = np.arange(s.shape[-1])
    total = s.sum(axis=-1)
    mean = (s * i).sum(axis=-1) / total
    deviation = i - np.expand_dims(mean, -1)
    std = np.sqrt((s * deviation**2).sum(axis=-1) / total)
    return mean, std


def _profile(f: EventFeatures, axis: str) -> np.ndarray:
    return {"x": f.x_profile, "y": f.y_profile, "z": f.z_profile}[axis]


def shape_mean(axis: str) -> Statistic:
    return lambda f, idx: np.asarray(shape_numbers(_profile(f, axis)[idx].mean(axis=0))[0])


def shape_std(axis: str) -> Statistic:
    return lambda f, idx: np.asarray(shape_numbers(_profile(f, axis)[idx].mean(axis=0))[1])


def layer_response(f: EventFeatures, idx: np.ndarray) -> np.ndarray:
    """Mean energy per layer over Ep: the longitudinal profile, absolute (25,)."""
    return (f.z_profile[idx] / f.ep[idx, None]).mean(axis=0)


def containment(window: int) -> Statistic:
    """Mean fraction of the shower energy within the central 1x1, 3x3 or 5x5 column."""
    j = {1: 0, 3: 1, 5: 2}[window]
    return lambda f, idx: np.asarray((f.core[idx, j] / f.total[idx]).mean())


@dataclass(frozen=True)
class Quantity:
    """A named statistic with its comparison tolerance (relative)."""

    name: str
    statistic: Statistic
    tolerance: float
    per_layer: bool = False


def energy_bin_masks(
    ep: np.ndarray, bins: tuple[tuple[float, float], ...] = ENERGY_BINS
) -> dict[str, np.ndarray]:
    """Boolean masks per energy bin, keyed '100-200' etc., plus 'all'."""
    out = {f"{lo:g}-{hi:g}": (ep >= lo) & (ep < hi) for lo, hi in bins}
    out["all"] = np.ones(len(ep), dtype=bool)
    return out


def moment_mean(axis: str, order: int) -> Statistic:
    """Mean over events of the per-event moment M1 (order 1) or M2 (order 2) along an axis (3DGAN)."""
    from caloquant.physics.selection import event_moments

    return lambda f, idx: np.asarray(event_moments(_profile(f, axis)[idx])[order - 1].mean())


def occupancy(f: EventFeatures, idx: np.ndarray) -> np.ndarray:
    """Mean fraction of non-zero cells."""
    return np.asarray(f.n_hit[idx].mean() / 15625.0)


def mean_log_cell_energy(f: EventFeatures, idx: np.ndarray) -> np.ndarray:
    """Mean log10(E / GeV) of non-zero cells, from the per-event cell spectra."""
    from caloquant.physics.features import CELL_BINS_LOG10

    centres = 0.5 * (CELL_BINS_LOG10[1:] + CELL_BINS_LOG10[:-1])
    h = f.cell_hist[idx].sum(axis=0)
    return np.asarray((h * centres).sum() / max(h.sum(), 1))


def validation_quantities(tol: dict[str, float]) -> list[Quantity]:
    """What `validate` judges per energy bin, beyond the acceptance quantities."""
    out = []
    for axis in ("x", "y", "z"):
        out.append(Quantity(f"M1 {axis}", moment_mean(axis, 1), tol["moment1"]))
        out.append(Quantity(f"M2 {axis}", moment_mean(axis, 2), tol["moment2"]))
    out.append(Quantity("x mean", shape_mean("x"), tol["shape_means"]))
    out.append(Quantity("x std", shape_std("x"), tol["shape_stds"]))
    out.append(Quantity("occupancy", occupancy, tol["occupancy"]))
    out.append(Quantity("mean log10 cell energy", mean_log_cell_energy, tol["cell_log_energy"]))
    return out
