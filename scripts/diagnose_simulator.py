"""What still tells the simulator from Geant4 showers the fit never saw (docs/simulator.md, session 37).

    python scripts/diagnose_simulator.py [-r GEANT4.h5[START:STOP]] [--particle e-|gamma] [--seed 6]
        [--params FIT.json]

The KPD's cubic kernel on the 151 standardised high-level features is, to second order, 3 / d^2 times the squared
difference of the features' second moments. Prints that sum by pair of feature groups (layer energies, centroids,
widths, hit counts) for the simulator against Geant4 and for two simulated samples (the noise floor), both at
Geant4's primary energies, and the largest offsets of single correlations there (hit counts and widths against the
layer energies); then per layer how the log hit count and log width follow the shower's depth at a given layer
energy (`simulator.fit_fluctuations.depth_coefficients`), Geant4 against the simulator; last the lateral shape: the
share of the showers' energy in each square ring k cells from the central cell (k = 0-2 is the 5x5 window) and per
layer the share of the layer's energy outside the 5x5 window.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from caloquant.data.slices import read_file_slice
from caloquant.physics.classifier import hlf_matrix
from caloquant.physics.distances import kpd, standardise
from caloquant.physics.features import EventFeatures, extract_features
from caloquant.simulator import ShowerSimulator, load_params
from caloquant.simulator.fit_fluctuations import depth_coefficients

GEANT4 = Path(__file__).resolve().parents[2] / "shared" / "data" / "geant4"
DEFAULT_REFERENCE = {"e-": f"{GEANT4 / 'geant4_electrons_100-500GeV_part3.h5'}",
                     "gamma": f"{GEANT4 / 'geant4_photons_100-500GeV.h5'}[1750:3000]"}
GROUPS = ("E_", "cx", "cy", "wx", "wy", "sparsity", "Etot")


def _second_moment_blocks(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """3 / d^2 x the squared difference of the second moments, summed per pair of groups."""
    d = x.shape[1]
    diff = (x.T @ x / len(x) - y.T @ y / len(y)) ** 2 * 3 / d**2
    return np.array([[diff[np.ix_(group == a, group == b)].sum() for b in range(len(GROUPS))]
                     for a in range(len(GROUPS))])


def _lateral_shape(showers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean share of each shower's energy per square ring (k = 0..12), and per layer the share outside 5x5."""
    x = showers.astype(np.float64)
    n_x, n_y = x.shape[1:3]
    ix, iy = np.meshgrid(np.arange(n_x) - n_x // 2, np.arange(n_y) - n_y // 2, indexing="ij")
    ring = np.maximum(np.abs(ix), np.abs(iy))
    total = x.sum(axis=(1, 2, 3))
    rings = np.stack([x[:, ring == k].sum(axis=(1, 2)) / total for k in range(ring.max() + 1)], axis=1).mean(axis=0)
    outside = x[:, ring > 2].sum(axis=(0, 1)) / x.sum(axis=(0, 1, 2))
    return rings, outside


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-r", "--reference", default=None)
    ap.add_argument("--particle", default="e-", choices=sorted(DEFAULT_REFERENCE))
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--params", default=None, help="a simulator fit (default: the shipped one for the particle)")
    args = ap.parse_args()
    showers, ep = read_file_slice(args.reference or DEFAULT_REFERENCE[args.particle])
    geant4 = extract_features(iter([(showers, ep)]))
    sim = ShowerSimulator(load_params(args.params, particle=args.particle))
    sim_showers = sim.simulate(ep.astype(np.float64), args.seed, threads=2)  # kept for the lateral shape
    simulated: list[EventFeatures] = [
        extract_features(iter([(sim_showers, ep)])),
        extract_features(sim.iter_showers(ep.astype(np.float64), args.seed + 100, threads=2)),
    ]
    xr, names = hlf_matrix(geant4)
    xa, xb = (hlf_matrix(f)[0] for f in simulated)
    group = np.array([next(g for g, prefix in enumerate(GROUPS) if name.startswith(prefix)) for name in names])
    pooled = np.concatenate([xa, xr])
    za, zb, zr = (standardise(x, xr, pooled) for x in (xa, xb, xr))
    for label, x, y in (("simulator - Geant4", za, zr), ("simulator - simulator (noise)", za, zb)):
        blocks = _second_moment_blocks(x, y, group)
        value, error = kpd(x, y, seed=0)
        print(f"{label}: second-order sum {blocks.sum():.4f}, KPD {value:.4f} ({error:.4f}); by group, 1e-4:")
        print("          " + " ".join(f"{g:>8s}" for g in GROUPS))
        for a, g in enumerate(GROUPS):
            print(f"{g:>9s} " + " ".join(f"{blocks[a, b] * 1e4:8.1f}" for b in range(len(GROUPS))))
    cs, cr = np.corrcoef(za, rowvar=False), np.corrcoef(zr, rowvar=False)
    energies = GROUPS.index("E_")
    for a in (GROUPS.index("sparsity"), GROUPS.index("wx")):  # hit counts and widths against the layer energies
        b = energies
        rows, cols = np.flatnonzero(group == a), np.flatnonzero(group == b)
        diff = cs[np.ix_(rows, cols)] - cr[np.ix_(rows, cols)]
        worst = np.argsort(-np.abs(diff), axis=None)[:6]
        print(f"largest correlation offsets, {GROUPS[a]} x {GROUPS[b]} (simulator, Geant4): " + "; ".join(
            f"{names[rows[i]]} x {names[cols[j]]} {cs[rows[i], cols[j]]:+.2f} {cr[rows[i], cols[j]]:+.2f}"
            for i, j in zip(*np.unravel_index(worst, diff.shape), strict=True)))
    (g_rings, g_out), (s_rings, s_out) = _lateral_shape(showers), _lateral_shape(sim_showers)
    ring_pairs = enumerate(zip(g_rings, s_rings, strict=True))
    print("share of the energy per square ring k (Geant4, simulator, ratio): "
          + "; ".join(f"{k}: {g:.5f} {s:.5f} {s / g:.3f}" for k, (g, s) in ring_pairs))
    print("share outside 5x5 per layer, simulator / Geant4: "
          + " ".join(f"{s / g:.3f}" for g, s in zip(g_out, s_out, strict=True)))
    for what in ("hits", "width"):
        for label, f in (("Geant4", geant4), ("simulator", simulated[0])):
            print(f"d log {what} / d depth score, {label:9s}: "
                  + " ".join(f"{c:+.3f}" for c in depth_coefficients(f, what)))


if __name__ == "__main__":
    main()
