"""Per-event summaries of showers, computed once while streaming a file.

Every later statistic (shower shapes, Table 3 numbers, sampling fraction, containment, layer profile)
is a function of these small per-event arrays, so a 200 000-shower file is read once and bootstrap
resampling never touches the voxels again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from caloquant.geometry import ECAL, CalorimeterGeometry

__all__ = ["EventFeatures", "extract_features"]


@dataclass
class EventFeatures:
    """Per-event arrays (first axis = event). Energies in GeV."""

    ep: np.ndarray  # primary energy (n,)
    total: np.ndarray  # sum of cell energies (n,)
    x_profile: np.ndarray  # energy per x slice (n, 25)
    y_profile: np.ndarray  # energy per y slice (n, 25)
    z_profile: np.ndarray  # energy per layer (n, 25)
    core: np.ndarray  # energy in the central cell, 3x3 and 5x5 around the beam cell, all layers (n, 3)
    n_hit: np.ndarray  # number of non-zero cells (n,)

    def __len__(self) -> int:
        return len(self.ep)

    def select(self, mask: np.ndarray) -> EventFeatures:
        return EventFeatures(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})

    @classmethod
    def concat(cls, parts: Iterable[EventFeatures]) -> EventFeatures:
        parts = list(parts)
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def _one_chunk(ecal: np.ndarray, ep: np.ndarray, geometry: CalorimeterGeometry) -> EventFeatures:
    e = np.asarray(ecal, dtype=np.float32)
    bx, by = geometry.beam_cell
    windows = [e[:, bx - h : bx + h + 1, by - h : by + h + 1, :].sum(axis=(1, 2, 3), dtype=np.float64)
               for h in (0, 1, 2)]
    z = e.sum(axis=(1, 2), dtype=np.float64)
    return EventFeatures(
        ep=np.asarray(ep, dtype=np.float64),
        total=z.sum(axis=1),
        x_profile=e.sum(axis=(2, 3), dtype=np.float64),
        y_profile=e.sum(axis=(1, 3), dtype=np.float64),
        z_profile=z,
        core=np.stack(windows, axis=1),
        n_hit=np.count_nonzero(e.reshape(len(e), -1), axis=1),
    )


def extract_features(
    chunks: Iterable[tuple[np.ndarray, np.ndarray]], geometry: CalorimeterGeometry = ECAL
) -> EventFeatures:
    """Reduce (showers, primary energies) chunks to per-event features."""
    return EventFeatures.concat(_one_chunk(e, ep, geometry) for e, ep in chunks)
