"""Energy response: sampling fraction versus Ep, linearity, and resolution a/sqrt(E) (+) b."""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

from caloquant.physics.features import EventFeatures
from caloquant.physics.quantities import robust_spread

__all__ = ["RESPONSE_BINS", "linearity", "resolution_fit", "response_points"]

RESPONSE_BINS = tuple((float(lo), float(lo + 50)) for lo in range(100, 500, 50))


def response_points(f: EventFeatures, idx: np.ndarray | None = None,
                    bins: tuple[tuple[float, float], ...] = RESPONSE_BINS) -> dict[str, np.ndarray]:
    """Per Ep bin: mean Ep, mean visible energy, robust relative resolution (IQR / 1.349 / median of E/Ep)."""
    ep = f.ep if idx is None else f.ep[idx]
    tot = f.total if idx is None else f.total[idx]
    out: dict[str, list] = {"ep": [], "mean_visible": [], "resolution": [], "resolution_se": [],
                            "sampling_fraction": [], "sampling_fraction_se": [], "n": []}
    for lo, hi in bins:
        m = (ep >= lo) & (ep < hi)
        if m.sum() < 10:
            continue
        sf = tot[m] / ep[m]
        spread = robust_spread(sf)
        out["ep"].append(ep[m].mean())
        out["mean_visible"].append(tot[m].mean())
        out["resolution"].append(spread)
        out["sampling_fraction"].append(sf.mean())
        out["sampling_fraction_se"].append(sf.std(ddof=1) / np.sqrt(m.sum()))
        # robust width: its standard error is about 1.6 times that of a Gaussian sigma, sigma / sqrt(2 n)
        out["resolution_se"].append(1.6 * spread / np.sqrt(2 * m.sum()))
        out["n"].append(int(m.sum()))
    return {k: np.asarray(v) for k, v in out.items()}


def linearity(points: dict[str, np.ndarray]) -> tuple[float, float]:
    """(slope, intercept) of mean visible energy against Ep (GeV)."""
    slope, intercept = np.polyfit(points["ep"], points["mean_visible"], 1)
    return float(slope), float(intercept)


def _res(e: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.sqrt(a**2 / e + b**2)


def resolution_fit(points: dict[str, np.ndarray]) -> tuple[float, float]:
    """(a, b) of sigma/E = a / sqrt(E / GeV) (+) b."""
    ep, res = points["ep"], points["resolution"]
    ok = np.isfinite(res)
    if ok.sum() < 3:  # all-zero showers (a collapsed generator): nothing to fit, and the verdict says so
        return float("nan"), float("nan")
    try:
        (a, b), _ = curve_fit(_res, ep[ok], res[ok], p0=(0.2, 0.01), bounds=(0, 5), maxfev=5000)
    except (RuntimeError, ValueError):
        return float("nan"), float("nan")
    return float(a), float(b)
