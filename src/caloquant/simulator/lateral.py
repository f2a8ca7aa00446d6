"""Cell-integrated lateral profiles: how much of a radial profile lands in each 5.1 mm cell.

The GFlash radial form f(r) = 2 r R^2 / (r^2 + R^2)^2 (Grindhammer and Peters, hep-ex/0001020) has the
2D density R^2 / (pi (r^2 + R^2)^2). Its integral over y is analytic; over x we use Gauss-Legendre
nodes. Tables on a logarithmic grid of R are interpolated per event and layer, so simulation never
integrates at run time.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from caloquant.geometry import ECAL, CalorimeterGeometry

__all__ = ["R_GRID_MM", "cell_fraction_tables", "interpolation_weights"]

R_GRID_MM = np.geomspace(0.2, 400.0, 160)
_NODES = 128


def _y_integral(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    """Antiderivative in y of R^2 / (pi (x^2 + y^2 + R^2)^2)."""
    a2 = x**2 + radius**2
    a = np.sqrt(a2)
    return radius**2 / np.pi * (y / (2 * a2 * (a2 + y**2)) + np.arctan(y / a) / (2 * a2 * a))


def _table(radius: float, geometry: CalorimeterGeometry) -> np.ndarray:
    half = geometry.cell_size_mm / 2
    xc, yc = geometry.cell_centres_mm()
    nodes, weights = np.polynomial.legendre.leggauss(_NODES)
    # x nodes inside every cell: (n_x, nodes)
    xs = xc[:, None] + half * nodes[None, :]
    wx = half * weights
    lo = _y_integral(xs[:, :, None], (yc - half)[None, None, :], radius)
    hi = _y_integral(xs[:, :, None], (yc + half)[None, None, :], radius)
    return np.einsum("xny,n->xy", hi - lo, wx)


@lru_cache(maxsize=2)
def cell_fraction_tables(geometry: CalorimeterGeometry = ECAL) -> np.ndarray:
    """Fraction of the profile in each cell, (len(R_GRID_MM), n_x * n_y) float32, beam at the cell centre."""
    tables = np.stack([_table(float(r), geometry).reshape(-1) for r in R_GRID_MM])
    return tables.astype(np.float32)


def interpolation_weights(radius_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where arbitrary radii fall on R_GRID_MM, linear in log R: the lower grid index i and the weight w of
    index i + 1 (the profile's cell fractions are (1 - w) tables[i] + w tables[i + 1])."""
    logr = np.log(np.clip(radius_mm, R_GRID_MM[0], R_GRID_MM[-1]))
    pos = (logr - np.log(R_GRID_MM[0])) / (np.log(R_GRID_MM[-1]) - np.log(R_GRID_MM[0])) * (len(R_GRID_MM) - 1)
    i0 = np.minimum(pos.astype(np.int64), len(R_GRID_MM) - 2)
    return i0, pos - i0
