"""The trigger model's input: a fixed vector of engineered shower features, and what computing them costs.

A trigger sees one shower and has a few hundred nanoseconds: the features are sums a front-end FPGA
forms anyway (energy per layer, the core around the beam cell, the first and second moments of the
lateral profiles), normalised once. Their arithmetic is counted separately from the network's, so the
network's cost model is not flattered by moving work into the features.
"""

from __future__ import annotations

import numpy as np

from caloquant.geometry import ECAL

__all__ = ["FEATURE_NAMES", "feature_cost", "trigger_features"]

N_LAYERS = ECAL.n_layers
EARLY = (3, 6)  # early-layer fractions: the first 3 and first 6 layers (photons convert later than electrons)
FEATURE_NAMES: tuple[str, ...] = (
    *(f"frac_layer_{i}" for i in range(N_LAYERS)), "log_total_gev", "width_x_cells", "width_y_cells",
    *(f"frac_first_{k}_layers" for k in EARLY), "frac_core_1x1", "frac_core_3x3",
)


def trigger_features(ecal: np.ndarray) -> np.ndarray:
    """(n, 25, 25, 25) GeV -> (n, 32) float32: layer fractions, log total energy, lateral widths in cells,
    early-layer fractions, core fractions."""
    e = np.asarray(ecal, dtype=np.float64)
    layers = e.sum(axis=(1, 2))
    total = layers.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    idx = np.arange(e.shape[1], dtype=np.float64)
    widths = []
    for axes in ((2, 3), (1, 3)):
        prof = e.sum(axis=axes)
        mean = prof @ idx / safe
        widths.append(np.sqrt(np.maximum(prof @ idx**2 / safe - mean**2, 0.0)))
    bx, by = ECAL.beam_cell
    core1 = e[:, bx, by, :].sum(axis=1)
    core3 = e[:, bx - 1 : bx + 2, by - 1 : by + 2, :].sum(axis=(1, 2, 3))
    frac = layers / safe[:, None]
    cols = [frac, np.log(np.maximum(total, 1e-3))[:, None], widths[0][:, None], widths[1][:, None],
            *(frac[:, :k].sum(axis=1, keepdims=True) for k in EARLY), (core1 / safe)[:, None],
            (core3 / safe)[:, None]]
    return np.concatenate(cols, axis=1).astype(np.float32)


def feature_cost(n_cells_xy: int = 25 * 25, n_layers: int = N_LAYERS) -> dict[str, int]:
    """Operations to compute one feature vector from the cells, counted as written in trigger_features."""
    adds = n_layers * (n_cells_xy - 1)  # energy per layer
    adds += n_layers - 1  # total
    side = round(n_cells_xy**0.5)
    mults = 0
    for _ in range(2):  # lateral profile along x (or y), then its first and second moments
        adds += side * (side * n_layers - 1)
        mults += 2 * side
        adds += 2 * (side - 1)
        mults += 1  # mean squared
        adds += 1
    divisions = n_layers + 2 + 2 + 2  # layer fractions, moments, core fractions
    adds += sum(k - 1 for k in EARLY)  # early fractions from the layer fractions
    adds += (n_layers - 1) + (9 * n_layers - 1)  # core 1x1 and 3x3 over all layers
    return {"adds": adds, "multiplies": mults, "divisions": divisions, "square_roots": 2, "logarithms": 1}
