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
from caloquant.simulator.params import COPULA_GRID, COPULA_SCORES, SimulatorParams

__all__ = ["CHUNK", "ShowerSimulator", "copula_design", "draw_energies"]

CHUNK = 256


def copula_design(u: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Terms the copula's log layer shares are curves of (n, COPULA_TERMS): energy (1, u, u^2), then the
    centroid score g1 and the width score g2 (g1, g1^2 - 1, g1 u, g1^3 - 3 g1, g2, g2^2 - 1, g1 g2, g2 u):
    the share of a layer near the maximum rises and falls as the shower moves through it."""
    g1, g2 = scores[:, 0], scores[:, 1]
    return np.stack([np.ones_like(u), u, u**2, g1, g1**2 - 1, g1 * u, g1**3 - 3 * g1, g2, g2**2 - 1, g1 * g2,
                     g2 * u], axis=1)


class ShowerSimulator:
    """Parametric electromagnetic showers in the 3DGAN calorimeter."""

    def __init__(self, params: SimulatorParams, geometry: CalorimeterGeometry = ECAL) -> None:
        self.params = params
        self.geometry = geometry
        self._t = geometry.silicon_depth_x0()
        self._tables = cell_fraction_tables(geometry)
        if params.copula:
            n_dim = geometry.n_layers + 1
            self._mean = np.reshape(params.copula_mean, (n_dim, -1))
            self._var = np.reshape(params.copula_var, (n_dim, 2))
            self._chol = np.reshape(params.copula_chol, (n_dim + COPULA_SCORES, n_dim + COPULA_SCORES))
            self._quantiles = np.reshape(params.copula_quantiles, (n_dim + COPULA_SCORES, len(COPULA_GRID)))
        ones = np.ones(geometry.n_layers)
        self._spot_scale = np.asarray(params.spot_scale or ones, dtype=np.float32)
        self._jitter = np.asarray(params.centroid_jitter_mm or 0 * ones) / geometry.cell_size_mm
        self._core_gain = np.asarray(params.core_gain or 0 * ones)
        self._core_noise = np.asarray(params.core_noise or 0 * ones)
        self._log_radius_scale = np.log(params.radius_scale or ones)
        self._depth_power = np.asarray(params.lateral_depth_power or ones)
        g = geometry.n_layers
        sizes = {"profile": g + 1 + COPULA_SCORES if params.copula else 3 + (g if params.layer_noise else 0),
                 "core_noise": g if self._core_noise.any() else 0, "jitter": 2 * g if self._jitter.any() else 0}
        stops = np.cumsum(list(sizes.values()))
        self._normals = {k: slice(int(stop - n), int(stop)) for (k, n), stop in zip(sizes.items(), stops, strict=True)}

    @property
    def n_normals(self) -> int:
        """Standard normals per shower that `expected` takes: the profile's (3 + the layer noise's 25, or the
        copula's 28), then one per layer for the core noise and two for the centroid jitter when they are on."""
        return self._normals["jitter"].stop

    # -- the three stages, exposed for fitting ------------------------------------------------------
    def longitudinal(self, ep: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected silicon energy per layer (n, L) and the depth of shower maximum T (n,) in X0.

        ``normals`` is (n, 3) standard normals: two for (ln T, ln alpha), one for the scale; (n, 3 + L)
        adds one per layer for the independent layer noise (`SimulatorParams.layer_noise`); with a copula
        (`SimulatorParams.copula`) the first L + 3 drive it instead.
        """
        if self.params.copula:
            layer, tmax, _ = self._copula_draw(ep, normals)
            return layer, tmax
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

    def _copula_draw(self, ep: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Layer energies from the copula, the depth of maximum, and each layer's log excess over the typical
        profile at its energy (n, L): the 25 shares are normalised so the sampling fraction is the copula's
        own; T scales the mean T(u) by the event's longitudinal centroid over the typical profile's (tau keeps
        its meaning)."""
        n_layers = self.geometry.n_layers
        n_dim = n_layers + 1 + COPULA_SCORES
        u = np.log(ep / 100.0)
        score = normals[:, :n_dim] @ self._chol.T
        grid = np.asarray(COPULA_GRID)
        marginal = np.stack([np.interp(score[:, j], grid, self._quantiles[j]) for j in range(n_dim)], axis=1)
        mean = copula_design(u, marginal[:, :COPULA_SCORES]) @ self._mean.T
        sd = np.sqrt(np.maximum(self._var[:, 0] + self._var[:, 1] * u[:, None], 1e-8))
        y = mean + sd * marginal[:, COPULA_SCORES:]
        share = np.exp(y[:, :n_layers] - y[:, :n_layers].max(axis=1, keepdims=True))
        layer = (ep * np.exp(y[:, n_layers]))[:, None] * share / share.sum(axis=1, keepdims=True)
        log_typical = copula_design(u, np.zeros((len(u), COPULA_SCORES))) @ self._mean[:n_layers].T
        typical = np.exp(log_typical - log_typical.max(axis=1, keepdims=True))
        centroid = (layer * self._t).sum(axis=1) / layer.sum(axis=1)
        mean_centroid = (typical * self._t).sum(axis=1) / typical.sum(axis=1)
        p = self.params
        tmax = np.exp(p.lnT[0] + p.lnT[1] * u) * centroid / mean_centroid
        return layer, tmax, y[:, :n_layers] - log_typical

    def lateral(self, ep: np.ndarray, tmax: np.ndarray, core_shift: np.ndarray | None = None) -> np.ndarray:
        """Per-layer cell fractions (n, L, n_x * n_y) for the mixture of core, tail and halo profiles;
        ``tmax`` the depth of maximum (n,), or per layer (n, L) the depth each layer's shape follows;
        ``core_shift`` (n, L) moves each layer's core fraction in logit."""
        p = self.params
        u = np.log(ep / 100.0)[:, None]
        tau = self._t[None, :] / (tmax[:, None] if tmax.ndim == 1 else tmax)

        def poly(c: tuple[float, ...]) -> np.ndarray:
            return c[0] + c[1] * tau + c[2] * u + c[3] * tau**2

        r_core = np.exp(poly(p.core_radius) + self._log_radius_scale)
        r_tail = np.exp(poly(p.tail_radius) + self._log_radius_scale)
        logit = poly(p.core_fraction) + (0.0 if core_shift is None else core_shift)
        frac = (1.0 / (1.0 + np.exp(-logit)))[..., None].astype(np.float32)
        maps = frac * interpolate_maps(r_core, self._tables) + (1 - frac) * interpolate_maps(r_tail, self._tables)
        halo = (1.0 / (1.0 + np.exp(-poly(p.halo_fraction))))[..., None].astype(np.float32)
        if halo.max() < 1e-9:  # a fit without the halo: skip the third map
            return maps
        return (1 - halo) * maps + halo * interpolate_maps(np.exp(poly(p.halo_radius)), self._tables)

    def expected(self, ep: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Expected cell energies (n, x, y, L) before sampling fluctuations; ``normals`` (n, n_normals)."""
        g = self.geometry
        core_shift = None
        if self.params.copula:
            layer, tmax, excess = self._copula_draw(ep, normals)
            core_shift = self._core_gain * excess
        else:
            layer, tmax = self.longitudinal(ep, normals)
        if self._core_noise.any():
            noise = self._core_noise * normals[:, self._normals["core_noise"]]
            core_shift = noise if core_shift is None else core_shift + noise
        if (self._depth_power != 1).any():  # each layer's shape follows the shower's own depth by its power
            typical = np.exp(self.params.lnT[0] + self.params.lnT[1] * np.log(ep / 100.0))[:, None]
            tmax = typical * (tmax[:, None] / typical) ** self._depth_power
        maps = self.lateral(ep, tmax, core_shift).reshape(len(ep), g.n_layers, g.n_x, g.n_y)
        if self._jitter.any():
            maps = self._shift(maps, normals[:, self._normals["jitter"]].reshape(len(ep), 2, g.n_layers))
        maps = maps * layer[:, :, None, None].astype(np.float32)
        return maps.transpose(0, 2, 3, 1)

    def _shift(self, maps: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Move each layer's map by a small random offset (first order in the offset): the centroid moves by
        exactly the offset. Beyond about a fifth of a cell the core's neighbours would turn negative: they are
        cut at zero, the map rescaled to its sum, and the centroid moves less. Offsets above half a cell are
        clipped."""
        d = np.clip(self._jitter * normals, -0.5, 0.5).astype(np.float32)[..., None, None]  # cells
        out = maps.copy()
        out[:, :, 1:-1] -= (0.5 * d[:, 0]) * (maps[:, :, 2:] - maps[:, :, :-2])
        out[:, :, :, 1:-1] -= (0.5 * d[:, 1]) * (maps[:, :, :, 2:] - maps[:, :, :, :-2])
        np.maximum(out, 0.0, out=out)
        out *= maps.sum(axis=(2, 3), keepdims=True) / np.maximum(out.sum(axis=(2, 3), keepdims=True), 1e-30)
        return out

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
        if p.spot_scale:  # spot sizes per layer (the last axis): counts scale inversely
            expected_spots = (mu * (np.float32(rate) / self._spot_scale)).ravel()
            live = np.flatnonzero(expected_spots > 1e-7)
            n_spots = rng.poisson(expected_spots[live])
        else:
            live = np.flatnonzero(flat > 1e-7 / rate)
            n_spots = rng.poisson(flat[live] * np.float32(rate))
        hit = np.flatnonzero(n_spots)
        cells, total = live[hit], n_spots[hit]
        n_hard = total
        energy = np.zeros(flat.shape, dtype=np.float32)
        kinds = [(p.spot_gev, p.spot_shape)]
        if rate_soft > 0:
            n_hard = rng.binomial(n_hard, rate_hard / rate)
            kinds.append((p.soft_spot_gev, p.soft_spot_shape))
        counts = [n_hard, total - n_hard]
        size = self._spot_scale[cells % mu.shape[-1]] if p.spot_scale else None
        for (spot_gev, shape), n in zip(kinds, counts, strict=False):
            some = np.flatnonzero(n)
            spots = rng.standard_gamma(n[some] * shape, dtype=np.float32) * np.float32(spot_gev / shape)
            energy[cells[some]] += spots if size is None else spots * size[some]
        energy[energy < ZERO_BELOW_GEV] = 0.0
        return energy.reshape(mu.shape)

    # -- public sampling ------------------------------------------------------------------------------
    def simulate_chunk(self, ep: np.ndarray, seed: int, chunk_index: int) -> np.ndarray:
        """Showers (n, 25, 25, 25) float32 GeV for primary energies ``ep``, from (seed, chunk_index)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, chunk_index)))
        if self.n_normals > 3 + (self.geometry.n_layers if self.params.layer_noise else 0):
            normals = rng.standard_normal((len(ep), self.n_normals))
        else:  # the order older parameter files drew in: they still draw the same showers
            normals = rng.standard_normal((len(ep), 3))
            if self.params.layer_noise:
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
