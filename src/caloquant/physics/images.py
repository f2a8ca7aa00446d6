"""Mean shower images per energy bin, kept in interleaved groups so errors come from the jackknife.

Per-event images would be 62.5 kB each; the sums per (bin, group) are all the MSE-based number and the
average-image plots need, at any file size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from caloquant.geometry import ECAL

__all__ = ["ImageAccumulator", "jackknife_se"]


def jackknife_se(values: np.ndarray) -> np.ndarray:
    """Standard error from G leave-one-group-out estimates (first axis)."""
    g = len(values)
    return np.sqrt((g - 1) / g * ((values - values.mean(axis=0)) ** 2).sum(axis=0))


class ImageAccumulator:
    def __init__(self, bins: dict[str, tuple[float, float]], groups: int = 10) -> None:
        self.bins = dict(bins)
        self.groups = groups
        self.sums = {label: np.zeros((groups, *ECAL.shape)) for label in self.bins}
        self.counts = {label: np.zeros(groups, dtype=np.int64) for label in self.bins}
        self._seen = 0

    def add(self, ecal: np.ndarray, ep: np.ndarray) -> None:
        group = (self._seen + np.arange(len(ep))) % self.groups
        self._seen += len(ep)
        for label, (lo, hi) in self.bins.items():
            m = (ep >= lo) & (ep < hi)
            if not m.any():
                continue
            for g in np.unique(group[m]):
                sel = m & (group == g)
                self.sums[label][g] += ecal[sel].sum(axis=0, dtype=np.float64)
                self.counts[label][g] += int(sel.sum())

    def count(self, label: str) -> int:
        return int(self.counts[label].sum())

    def mean(self, label: str) -> np.ndarray:
        return self.sums[label].sum(axis=0) / max(self.count(label), 1)

    def leave_one_out(self, label: str) -> np.ndarray:
        """(G, x, y, layer) mean images each leaving one group out."""
        total, n = self.sums[label].sum(axis=0), self.counts[label].sum()
        return np.stack([(total - self.sums[label][g]) / max(n - self.counts[label][g], 1)
                         for g in range(self.groups)])

    def half_means(self, label: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean images of the first and the second half of the groups: a split-half pair."""
        h = self.groups // 2
        sums, counts = self.sums[label], self.counts[label]
        return (sums[:h].sum(axis=0) / max(counts[:h].sum(), 1), sums[h:].sum(axis=0) / max(counts[h:].sum(), 1))

    def statistic(self, label: str, fn: Callable[[np.ndarray], np.ndarray | float]) -> tuple[np.ndarray, np.ndarray]:
        """fn(mean image) and its jackknife standard error."""
        value = np.asarray(fn(self.mean(label)))
        loo = np.stack([np.asarray(fn(img)) for img in self.leave_one_out(label)])
        return value, jackknife_se(loo)
