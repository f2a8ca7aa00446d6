"""Timing primitives every benchmark shares (CONVENTIONS, "Measuring speed")."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["GEANT4_SECONDS_PER_SHOWER_PER_CORE", "Timing", "peak_rss_mb", "time_repeated"]

GEANT4_SECONDS_PER_SHOWER_PER_CORE = 1.3  # measured on our machine (shared/data/geant4/README.md)


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated runs of one workload of ``items`` items (showers, samples...)."""

    items: int
    seconds: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return float(np.median(self.seconds))

    @property
    def throughput(self) -> float:
        return self.items / self.median_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(median_s=self.median_s, throughput_per_s=self.throughput,
                 spread=float(np.ptp(self.seconds) / self.median_s))
        return d


def time_repeated(run: Callable[[], object], items: int, *, warmup: int = 1, repeats: int = 5,
                  on_step: Callable[[], None] | None = None) -> Timing:
    """Run ``warmup`` untimed times, then ``repeats`` timed times."""
    for _ in range(warmup):
        run()
        if on_step:
            on_step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
        if on_step:
            on_step()
    return Timing(items, tuple(times))


def peak_rss_mb(*, children: bool = False) -> float:
    """Peak resident memory of this process so far, in MB (``children``: of its largest ended child)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss / 1024.0
