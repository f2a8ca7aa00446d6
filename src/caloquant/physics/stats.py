"""Bootstrap uncertainties and the CONVENTIONS compatibility rule.

A quantity agrees with the reference when |difference| <= max(tolerance, k * sigma), sigma the bootstrap
standard error of the difference from both samples' finite size (k = 4 by default: there are hundreds of
comparisons and two Geant4 samples fail k = 3 by chance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_K", "INSUFFICIENT", "MIN_SHOWERS_PER_BIN", "Comparison", "bootstrap_se", "compare_values",
           "split_half", "verdict"]

DEFAULT_K = 4.0
# an energy bin is compared only when both samples hold at least this many showers in it (compare_features)
MIN_SHOWERS_PER_BIN = 20
INSUFFICIENT = "insufficient statistics"


def verdict(compatible: Sequence[bool]) -> str:
    """'compatible', 'incompatible', or INSUFFICIENT when nothing could be compared (every energy bin below
    MIN_SHOWERS_PER_BIN on one side): a check that compared nothing does not pass."""
    if len(compatible) == 0:
        return INSUFFICIENT
    return "compatible" if all(compatible) else "incompatible"


def bootstrap_se(
    statistic: Callable[[np.ndarray], np.ndarray | float],
    n: int,
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """Standard error of ``statistic(indices)`` over bootstrap resamples of n events.

    ``statistic`` receives an index array (length n, with repeats) and returns a scalar or an array.
    """
    if n < 2:
        raise ValueError(f"bootstrap needs at least 2 events, got {n}")
    rng = np.random.default_rng(seed)
    draws = np.stack([np.asarray(statistic(rng.integers(0, n, n)), dtype=np.float64) for _ in range(n_boot)])
    return np.nanstd(draws, axis=0, ddof=1)


def split_half(
    statistic: Callable[[np.ndarray], np.ndarray | float], n: int, *, seed: int = 0, relative: bool = True
) -> np.ndarray:
    """Difference of the statistic between two random halves of one sample: what 'no difference' looks like."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    a = np.asarray(statistic(perm[: n // 2]), dtype=np.float64)
    b = np.asarray(statistic(perm[n // 2 :]), dtype=np.float64)
    diff = a - b
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = diff / np.abs(b)
    return diff


@dataclass(frozen=True)
class Comparison:
    """One quantity, sample against reference. Relative quantities give diff and sigma as fractions."""

    name: str
    bin: str
    sample: float
    reference: float
    diff: float
    sigma: float
    tolerance: float
    k: float
    relative: bool
    baseline: float | None = None

    @property
    def compatible(self) -> bool:
        return bool(abs(self.diff) <= max(self.tolerance, self.k * self.sigma))

    @property
    def pull(self) -> float:
        return float(self.diff / self.sigma) if self.sigma > 0 else float("inf") if self.diff else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["compatible"] = self.compatible
        return out


def compare_values(
    name: str,
    bin: str,
    sample: float,
    sample_se: float,
    reference: float,
    reference_se: float,
    *,
    tolerance: float,
    k: float = DEFAULT_K,
    relative: bool = True,
    baseline: float | None = None,
) -> Comparison:
    """Build a Comparison; with ``relative`` the difference and sigma are divided by |reference|."""
    diff = sample - reference
    sigma = float(np.hypot(sample_se, reference_se))
    if relative:
        scale = abs(reference) if reference != 0 else 1.0
        diff, sigma = diff / scale, sigma / scale
    return Comparison(name, bin, float(sample), float(reference), float(diff), sigma, float(tolerance), float(k),
                      relative, None if baseline is None else float(baseline))
