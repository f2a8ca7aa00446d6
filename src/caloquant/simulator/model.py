"""The reference shower simulator: vectorised, seeded, chunk-reproducible.

Each chunk of CHUNK showers draws from its own seed (SeedSequence(seed) child 2, chunk index), so the
output does not depend on how many threads ran it. Primary energies follow the generator contract
(child 1 of the same seed), so `simulate --seed S` and `generate --seed S` share their energies.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.special import gammaln

from caloquant.contract import ZERO_BELOW_GEV, draw_energies
from caloquant.geometry import ECAL, CalorimeterGeometry
from caloquant.simulator.lateral import cell_fraction_tables, interpolate_maps
from caloquant.simulator.params import SimulatorParams

__all__ = ["CHUNK", "ShowerSimulator", "draw_energies"]

CHUNK = 256


class ShowerSimulator:
    """Parametric electromagnetic showers in the 3DGAN calorimeter."""

    def __init__(self, params: SimulatorParams, geometry: CalorimeterGeometry = ECAL) -> None:
        self.params = params
        self.geometry = geometry
        self._t = geometry.silicon_depth_x0()
        self._tables = cell_fraction_tables(geometry)

    # -- the three stages, exposed for fitting ------------------------------------------------------
    def longitudinal(self, ep: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected silicon energy per layer (n, L) and the depth of shower maximum T (n,) in X0.

        ``normals`` is (n, 3) standard normals: two for (ln T, ln alpha), one for the scale; (n, 3 + L)
        adds one per layer for the independent layer noise (`SimulatorParams.layer_noise`).
        """
        p = self.params
        u = np.log(ep / 100.0)
        z1 = normals[:, 0]
        z2 = p.rho * z1 + np.sqrt(max(1 - p.rho**2, 0.0)) * normals[:, 1]
        ln_t = p.lnT[0] + p.lnT[1] * u + p.sigma_lnT * z1
        ln_a = p.ln_alpha[0] + p.ln_alpha[1] * u + p.sigma_ln_alpha * z2
        alpha = np.maximum(np.exp(ln_a), 1.05)
        tmax = np.exp(ln_t)
        beta = (alpha - 1) / tmax
        t = self._t[None, :]
        logf = (alpha * np.log(beta))[:, None] + (alpha - 1)[:, None] * np.log(t) - beta[:, None] * t \
            - gammaln(alpha)[:, None]
        s = np.maximum(p.scale_sigma[0] + p.scale_sigma[1] * u, 0.0)
        scale = np.exp(s * normals[:, 2] - 0.5 * s**2)
        layer = ep[:, None] * p.kappa * np.asarray(p.response)[None, :] * np.exp(logf) * scale[:, None]
        if normals.shape[1] > 3:  # independent per-layer log-normal noise of width layer_sigma(tau)
            tau = t / tmax[:, None]
            c = p.layer_sigma
            sigma = np.maximum(c[0] + c[1] * tau + c[2] * tau**2, 0.0)
            z = normals[:, 3:3 + t.shape[1]].copy()
            if p.layer_rho:  # AR(1) along depth: neighbouring layers fluctuate together, distant ones not
                for i in range(1, z.shape[1]):
                    z[:, i] = p.layer_rho * z[:, i - 1] + np.sqrt(1 - p.layer_rho**2) * z[:, i]
            layer = layer * np.exp(sigma * z - 0.5 * sigma**2)
        return layer, tmax

    def lateral(self, ep: np.ndarray, tmax: np.ndarray) -> np.ndarray:
        """Per-layer cell fractions (n, L, n_x * n_y) for the mixture of core, tail and halo profiles."""
        p = self.params
        u = np.log(ep / 100.0)[:, None]
        tau = self._t[None, :] / tmax[:, None]

        def poly(c: tuple[float, ...]) -> np.ndarray:
            return c[0] + c[1] * tau + c[2] * u + c[3] * tau**2

        r_core = np.exp(poly(p.core_radius))
        r_tail = np.exp(poly(p.tail_radius))
        frac = (1.0 / (1.0 + np.exp(-poly(p.core_fraction))))[..., None].astype(np.float32)
        maps = frac * interpolate_maps(r_core, self._tables) + (1 - frac) * interpolate_maps(r_tail, self._tables)
        halo = (1.0 / (1.0 + np.exp(-poly(p.halo_fraction))))[..., None].astype(np.float32)
        if halo.max() < 1e-9:  # a fit without the halo: skip the third map
            return maps
        return (1 - halo) * maps + halo * interpolate_maps(np.exp(poly(p.halo_radius)), self._tables)

    def expected(self, ep: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Expected cell energies (n, x, y, L) before sampling fluctuations."""
        layer, tmax = self.longitudinal(ep, normals)
        maps = self.lateral(ep, tmax) * layer[..., None].astype(np.float32)
        g = self.geometry
        return maps.reshape(len(ep), g.n_layers, g.n_x, g.n_y).transpose(0, 2, 3, 1)

    def fluctuate(self, mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Sampling fluctuations: Poisson-many spots of gamma-distributed energy per cell, of two kinds
        (`spot_fraction` of the energy in spots of mean `spot_gev`, the rest in soft spots).

        Both kinds' spot counts are proportional to the cell's expected energy, so one Poisson draw of the
        total count per cell, split binomially with one fixed probability in the few cells it hits, has the
        distribution of two independent draws at half the cost (the draw over every live cell dominates)."""
        p = self.params
        flat = mu.ravel()
        rate_hard = p.spot_fraction / p.spot_gev  # spots per GeV of expected energy
        rate_soft = (1.0 - p.spot_fraction) / p.soft_spot_gev
        rate = rate_hard + rate_soft
        # Cells whose chance of holding a spot is below 1e-7 stay empty: most of the calorimeter, skipped.
        live = np.flatnonzero(flat > 1e-7 / rate)
        n_spots = rng.poisson(flat[live] * np.float32(rate))
        hit = np.flatnonzero(n_spots)
        n_hard = n_spots[hit]
        energy = np.zeros(flat.shape, dtype=np.float32)
        kinds = [(p.spot_gev, p.spot_shape)]
        if rate_soft > 0:
            n_hard = rng.binomial(n_hard, rate_hard / rate)
            kinds.append((p.soft_spot_gev, p.soft_spot_shape))
        counts = [n_hard, n_spots[hit] - n_hard]
        for (spot_gev, shape), n in zip(kinds, counts, strict=False):
            some = np.flatnonzero(n)
            energy[live[hit[some]]] += rng.standard_gamma(n[some] * shape, dtype=np.float32) * np.float32(
                spot_gev / shape)
        energy[energy < ZERO_BELOW_GEV] = 0.0
        return energy.reshape(mu.shape)

    # -- public sampling ------------------------------------------------------------------------------
    def simulate_chunk(self, ep: np.ndarray, seed: int, chunk_index: int) -> np.ndarray:
        """Showers (n, 25, 25, 25) float32 GeV for primary energies ``ep``, from (seed, chunk_index)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, chunk_index)))
        normals = rng.standard_normal((len(ep), 3))
        if self.params.layer_noise:  # drawn after the others: a fit without it draws the same showers
            normals = np.concatenate([normals, rng.standard_normal((len(ep), self.geometry.n_layers))], axis=1)
        mu = self.expected(np.asarray(ep, dtype=np.float64), normals)
        return self.fluctuate(mu, rng)

    def iter_showers(
        self, ep: np.ndarray, seed: int, *, threads: int = 2
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (showers, energies) CHUNK at a time, in order, using ``threads`` worker threads."""
        starts = range(0, len(ep), CHUNK)
        if threads <= 1:
            for i, s in enumerate(starts):
                yield self.simulate_chunk(ep[s : s + CHUNK], seed, i), ep[s : s + CHUNK].astype(np.float32)
            return
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending = []
            for i, s in enumerate(starts):
                pending.append((pool.submit(self.simulate_chunk, ep[s : s + CHUNK], seed, i), s))
                if len(pending) > threads:
                    fut, s0 = pending.pop(0)
                    yield fut.result(), ep[s0 : s0 + CHUNK].astype(np.float32)
            for fut, s0 in pending:
                yield fut.result(), ep[s0 : s0 + CHUNK].astype(np.float32)

    def simulate(self, ep: np.ndarray, seed: int, *, threads: int = 2) -> np.ndarray:
        """All showers in memory; for large counts stream with iter_showers instead."""
        return np.concatenate([s for s, _ in self.iter_showers(np.asarray(ep), seed, threads=threads)])
