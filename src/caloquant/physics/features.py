"""Per-event summaries of showers, computed once while streaming a file.

Every later statistic (shower shapes, Table 3 numbers, moments, sampling fraction, containment, layer
profile, CaloChallenge high-level features, the cell-energy spectrum) is a function of these small
per-event arrays, so a 200 000-shower file is read once and bootstrap resampling never touches the
voxels again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from caloquant.geometry import ECAL, CalorimeterGeometry

__all__ = ["CELL_BINS_LOG10", "EventFeatures", "extract_features"]

CELL_BINS_LOG10 = np.linspace(-6.0, 1.0, 57)  # cell-energy spectrum: log10(E / GeV), 8 bins per decade


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
    max_cell: np.ndarray  # energy of the hottest cell (n,)
    layer_cx: np.ndarray  # centre of energy along x per layer, mm from the beam axis (n, 25)
    layer_cy: np.ndarray  # centre of energy along y per layer (n, 25)
    layer_wx: np.ndarray  # energy-weighted width along x per layer, mm (n, 25)
    layer_wy: np.ndarray  # energy-weighted width along y per layer (n, 25)
    layer_hits: np.ndarray  # non-zero cells per layer (n, 25)
    cell_hist: np.ndarray  # counts of non-zero cells per CELL_BINS_LOG10 bin (n, 56)

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
    xc, yc = geometry.cell_centres_mm()
    ex = e.sum(axis=2, dtype=np.float64)  # (n, x, layer)
    ey = e.sum(axis=1, dtype=np.float64)  # (n, y, layer)
    safe = np.where(z > 0, z, 1.0)
    cx = np.einsum("nxl,x->nl", ex, xc) / safe
    cy = np.einsum("nyl,y->nl", ey, yc) / safe
    wx = np.sqrt(np.maximum(np.einsum("nxl,x->nl", ex, xc**2) / safe - cx**2, 0.0))
    wy = np.sqrt(np.maximum(np.einsum("nyl,y->nl", ey, yc**2) / safe - cy**2, 0.0))
    flat = e.reshape(len(e), -1)
    nz_event, nz_cell = np.nonzero(flat)
    bins = np.clip(np.searchsorted(CELL_BINS_LOG10, np.log10(flat[nz_event, nz_cell]), side="right") - 1, 0,
                   len(CELL_BINS_LOG10) - 2)
    hist = np.zeros((len(e), len(CELL_BINS_LOG10) - 1), dtype=np.int32)
    np.add.at(hist, (nz_event, bins), 1)
    return EventFeatures(
        ep=np.asarray(ep, dtype=np.float64),
        total=z.sum(axis=1),
        x_profile=ex.sum(axis=2),
        y_profile=ey.sum(axis=2),
        z_profile=z,
        core=np.stack(windows, axis=1),
        n_hit=np.count_nonzero(flat, axis=1),
        max_cell=flat.max(axis=1).astype(np.float64),
        layer_cx=cx.astype(np.float32),
        layer_cy=cy.astype(np.float32),
        layer_wx=wx.astype(np.float32),
        layer_wy=wy.astype(np.float32),
        layer_hits=np.count_nonzero(e, axis=(1, 2)).astype(np.int16),
        cell_hist=hist,
    )


def extract_features(
    chunks: Iterable[tuple[np.ndarray, np.ndarray]], geometry: CalorimeterGeometry = ECAL
) -> EventFeatures:
    """Reduce (showers, primary energies) chunks to per-event features."""
    return EventFeatures.concat(_one_chunk(e, ep, geometry) for e, ep in chunks)
