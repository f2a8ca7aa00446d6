"""The reference shower simulator: vectorised, seeded, chunk-reproducible.

Each chunk of CHUNK showers draws from its own seed (SeedSequence(seed) child 2, chunk index), so the
output does not depend on how many threads ran it. Primary energies follow the generator contract
(child 1 of the same seed), so `simulate --seed S` and `generate --seed S` share their energies.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse
from scipy.special import gammaln

from caloquant.contract import ZERO_BELOW_GEV, draw_energies
from caloquant.geometry import ECAL, CalorimeterGeometry
from caloquant.simulator.lateral import cell_fraction_tables, interpolation_weights
from caloquant.simulator.params import (
    COPULA_CENTROID_KNOTS,
    COPULA_GRID,
    COPULA_SCORES,
    COPULA_SPREAD_KNOTS,
    CUBIC_COPULA_TERMS,
    SimulatorParams,
)

__all__ = ["CHUNK", "ShowerSimulator", "copula_design", "draw_energies", "hat_basis"]

CHUNK = 256


def copula_design(u: np.ndarray, scores: np.ndarray, cubic: bool = False) -> np.ndarray:
    """Terms the copula's log layer shares are curves of (n, COPULA_TERMS): energy (1, u, u^2), then piecewise
    linear in the centroid score g1 (`hat_basis` at COPULA_CENTROID_KNOTS, the hat at 0 left to the constant), g1 u,
    and the width score g2 (g2, g2^2 - 1, g1 g2, g2 u): the share of a layer near the maximum rises and falls as the
    shower moves through it. A cubic in g1 (``cubic``: the curves of files fitted before session 35, 11 terms) left
    the photons' log shares of layers 3-6 off by up to 0.2 in some tenths of the showers and their residuals 1.1-1.3x
    wider, drawn by the copula's one correlation instead of the curves (held-out photons' AUC 0.68 -> 0.65)."""
    g1, g2 = scores[:, 0], scores[:, 1]
    if cubic:
        return np.stack([np.ones_like(u), u, u**2, g1, g1**2 - 1, g1 * u, g1**3 - 3 * g1, g2, g2**2 - 1, g1 * g2,
                         g2 * u], axis=1)
    hats = np.delete(hat_basis(g1, COPULA_CENTROID_KNOTS), COPULA_CENTROID_KNOTS.index(0.0), axis=1)
    return np.column_stack([np.ones_like(u), u, u**2, hats, g1 * u, g2, g2**2 - 1, g1 * g2, g2 * u])


def hat_basis(x: np.ndarray, knots: tuple[float, ...]) -> np.ndarray:
    """(n, K) weights of linear interpolation between ``knots``, constant beyond the ends: a least-squares fit
    on them is a piecewise-linear curve in x that a few far-out showers cannot swing."""
    return np.stack([np.interp(x, knots, unit) for unit in np.eye(len(knots))], axis=1)


def poisson_hits(lam: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Exact Poisson draws for millions of mostly tiny means: (indices of the nonzero draws, their counts).

    One exponential draw per cell decides whether it holds anything (a unit-rate process's first arrival
    comes before lam with probability 1 - exp(-lam)); only those few cells (a tenth of a chunk's) draw their
    count, conditioned on at least one: by the inverse distribution function where the mean is below one,
    by redrawing the zeros of a plain Poisson draw above. numpy's Poisson draw over every cell cost 70 ns a
    cell here, four fifths of the simulator's time."""
    cells = np.flatnonzero(rng.standard_exponential(lam.size) < lam)  # the first arrival within the mean
    mean = lam[cells].astype(np.float64)
    counts = np.ones(len(cells), dtype=np.int64)
    where = np.flatnonzero(mean < 1.0)
    m = mean[where]
    w = rng.random(len(where)) * -np.expm1(-m)  # P(N = k) summed from k = 1 until the sum passes w
    term = m * np.exp(-m)
    cumulative = term
    k = 1
    more = w >= cumulative
    while more.any():
        keep = np.flatnonzero(more)
        where, m, w, term, cumulative = where[keep], m[keep], w[keep], term[keep], cumulative[keep]
        counts[where] += 1
        k += 1
        term = term * m / k
        cumulative = cumulative + term
        more = (w >= cumulative) & (term > 0)  # rounding: the sum stops short of 1 once the terms vanish
    large = np.flatnonzero(mean >= 1.0)
    while len(large):
        counts[large] = rng.poisson(mean[large])
        large = large[counts[large] == 0]
    return cells, counts


_NEIGHBOUR_DX = np.array([1, -1, 0, 0])
_NEIGHBOUR_DY = np.array([0, 0, 1, -1])


def _cluster_chances(params: SimulatorParams, geometry: CalorimeterGeometry) -> np.ndarray:
    """Each cell's chance that a spot there brings a companion (`SimulatorParams.cluster_share`), flat (x * y)."""
    radius = geometry.cell_radii().ravel()
    inner, outer = params.cluster_radii_cells
    return params.cluster_share * np.clip((radius - inner) / (outer - inner), 0.0, 1.0)


def _binomial_mostly_one(n: np.ndarray, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Binomial(n, p) draws where most n are 1 (two thirds of the far cells hold one spot): one uniform each
    there, numpy's binomial (four times the cost) only for the rest."""
    out = (rng.random(len(n)) < p).astype(n.dtype)
    more = np.flatnonzero(n > 1)
    out[more] = rng.binomial(n[more], p[more])
    return out


def _with_differences(tables: np.ndarray, geometry: CalorimeterGeometry) -> np.ndarray:
    """The tables, then their central differences along x, then along y (3 x rows, cells): a map moved by
    (dx, dy) cells is, to first order, m - dx / 2 Dx m - dy / 2 Dy m, so moving it is three rows' weights."""
    grid = tables.reshape(-1, geometry.n_x, geometry.n_y)
    dx, dy = np.zeros_like(grid), np.zeros_like(grid)
    dx[:, 1:-1] = grid[:, 2:] - grid[:, :-2]
    dy[:, :, 1:-1] = grid[:, :, 2:] - grid[:, :, :-2]
    return np.concatenate([tables, dx.reshape(tables.shape), dy.reshape(tables.shape)])


class ShowerSimulator:
    """Parametric electromagnetic showers in the 3DGAN calorimeter."""

    def __init__(self, params: SimulatorParams, geometry: CalorimeterGeometry = ECAL) -> None:
        self.params = params
        self.geometry = geometry
        self._t = geometry.silicon_depth_x0()
        self._tables = cell_fraction_tables(geometry)
        self._table_sums = self._tables.sum(axis=1, dtype=np.float64)
        self._shift_tables = _with_differences(self._tables, geometry)
        if params.copula:
            n_dim = geometry.n_layers + 1
            self._mean = np.reshape(params.copula_mean, (n_dim, -1))
            self._cubic = self._mean.shape[1] == CUBIC_COPULA_TERMS
            self._var = np.reshape(params.copula_var, (n_dim, 2))
            self._chol = np.reshape(params.copula_chol, (n_dim + COPULA_SCORES, n_dim + COPULA_SCORES))
            self._quantiles = np.reshape(params.copula_quantiles, (n_dim + COPULA_SCORES, len(COPULA_GRID)))
            bounds = np.reshape(params.copula_bounds or (-np.inf, np.inf) * n_dim, (n_dim, 2))
            self._lowest, self._highest = bounds[:, 0], bounds[:, 1]
            self._spread = (np.reshape(params.copula_spread, (n_dim, len(COPULA_SPREAD_KNOTS)))
                            if params.copula_spread else None)
        ones = np.ones(geometry.n_layers)
        self._spot_scale = np.asarray(params.spot_scale or ones, dtype=np.float32)  # all ones when off
        self._jitter = np.asarray(params.centroid_jitter_mm or 0 * ones) / geometry.cell_size_mm
        self._core_gain = np.asarray(params.core_gain or 0 * ones)
        self._core_noise = np.asarray(params.core_noise or 0 * ones)
        self._log_radius_scale = np.log(params.radius_scale or ones)
        self._radius_slope = np.asarray(params.radius_scale_slope or 0 * ones)
        self._depth_power = np.asarray(params.lateral_depth_power or ones)
        self._in_grid = params.copula and params.lateral_version >= 2
        rate = 1.0 / params.gev_per_spot()  # spots per GeV of expected energy, both kinds
        self._hard_share = params.spot_fraction / params.spot_gev / rate  # of the spots, the hard kind's
        self._spots_per_gev = (np.float32(rate) / self._spot_scale).astype(np.float32)  # per layer
        self._spot_slope = np.asarray(params.spot_scale_slope or 0 * ones)
        self._spot_depth = np.asarray(params.spot_scale_depth or 0 * ones)
        self._radius_depth = np.asarray(params.radius_scale_depth or 0 * ones)
        self._cluster_chance = _cluster_chances(params, geometry)  # per cell of a layer
        # the expected spot counts come thinned by 1 + q where spots bring companions (`_clustered`): the tables
        # the spot maps are made of carry the factor, so no pass over every cell pays for it
        self._spot_keep = (1.0 / (1.0 + self._cluster_chance)).astype(np.float32)
        clustered = bool(params.cluster_share)
        self._spot_tables = self._tables * self._spot_keep if clustered else self._tables
        self._spot_shift_tables = self._shift_tables * self._spot_keep if clustered else self._shift_tables
        self._spot_table_sums = self._spot_tables.sum(axis=1, dtype=np.float64)
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
        mean = copula_design(u, marginal[:, :COPULA_SCORES], self._cubic) @ self._mean.T
        sd = np.sqrt(np.maximum(self._var[:, 0] + self._var[:, 1] * u[:, None], 1e-8))
        if self._spread is not None:  # each residual's variance by the shower's depth
            sd = sd * np.sqrt(hat_basis(marginal[:, 0], COPULA_SPREAD_KNOTS) @ self._spread.T)
        y = np.clip(mean + sd * marginal[:, COPULA_SCORES:], self._lowest, self._highest)
        share = np.exp(y[:, :n_layers] - y[:, :n_layers].max(axis=1, keepdims=True))
        layer = (ep * np.exp(y[:, n_layers]))[:, None] * share / share.sum(axis=1, keepdims=True)
        log_typical = copula_design(u, np.zeros((len(u), COPULA_SCORES)), self._cubic) @ self._mean[:n_layers].T
        typical = np.exp(log_typical - log_typical.max(axis=1, keepdims=True))
        centroid = (layer * self._t).sum(axis=1) / layer.sum(axis=1)
        mean_centroid = (typical * self._t).sum(axis=1) / typical.sum(axis=1)
        tmax = self._typical_tmax(u) * centroid / mean_centroid
        return layer, tmax, y[:, :n_layers] - log_typical

    def _depth_score(self, normals: np.ndarray) -> np.ndarray:
        """The copula's longitudinal-centroid score of each shower (n,), as a standard normal (positive: late)."""
        return normals[:, : len(self._chol)] @ self._chol[0]

    def _typical_tmax(self, u: np.ndarray) -> np.ndarray:
        """The mean depth of shower maximum T(u) in X0 at u = ln(Ep / 100 GeV)."""
        return np.exp(self.params.lnT[0] + self.params.lnT[1] * u)

    def lateral(self, ep: np.ndarray, tmax: np.ndarray, core_shift: np.ndarray | None = None) -> np.ndarray:
        """Per-layer cell fractions (n, L, n_x * n_y) for the mixture of core, tail and halo profiles;
        ``tmax`` the depth of maximum (n,), or per layer (n, L) the depth each layer's shape follows;
        ``core_shift`` (n, L) moves each layer's core fraction in logit."""
        index, weight = self._lateral_weights(ep, tmax, core_shift)
        return self._combine(index, weight).reshape(*index.shape[:2], -1)

    def _lateral_weights(
        self, ep: np.ndarray, tmax: np.ndarray, core_shift: np.ndarray | None, halo_factor: np.ndarray | None = None,
        depth: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each layer's map as tables' rows and weights (n, L, K): the core, tail and halo profiles, each between
        two grid radii (K = 4, or 6 with a halo); ``halo_factor`` (n, L) multiplies the halo's fraction, ``depth``
        (n,) the depth score the radii follow (`SimulatorParams.radius_scale_depth`)."""
        p = self.params
        u = np.log(ep / 100.0)[:, None]
        tau = self._t[None, :] / (tmax[:, None] if tmax.ndim == 1 else tmax)

        def poly(c: tuple[float, ...]) -> np.ndarray:
            return c[0] + c[1] * tau + c[2] * u + c[3] * tau**2

        logit = poly(p.core_fraction) + (0.0 if core_shift is None else core_shift)
        frac = 1.0 / (1.0 + np.exp(-logit))
        log_scale = self._log_radius_scale + self._radius_slope * u
        if depth is not None:
            log_scale = log_scale + self._radius_depth * depth[:, None]
        parts = [(np.exp(poly(p.core_radius) + log_scale), frac), (np.exp(poly(p.tail_radius) + log_scale), 1.0 - frac)]
        halo = 1.0 / (1.0 + np.exp(-poly(p.halo_fraction)))
        if halo_factor is not None:
            halo = np.minimum(halo * halo_factor, 1.0)
        if halo.max() >= 1e-9:  # a fit without the halo: no third profile
            parts = [(radius, share * (1.0 - halo)) for radius, share in parts]
            parts.append((np.exp(poly(p.halo_radius) + (log_scale if p.lateral_version >= 2 else 0.0)), halo))
        index, weight = [], []
        for radius, share in parts:
            i0, w = interpolation_weights(radius)
            index += [i0, i0 + 1]
            weight += [share * (1.0 - w), share * w]
        return np.stack(index, axis=-1), np.stack(weight, axis=-1)

    def _combine(self, index: np.ndarray, weight: np.ndarray, offset: np.ndarray | None = None,
                 spots: bool = False) -> np.ndarray:
        """Sum over K of weight x tables[index] for every (shower, layer), (n * L, cells) float32, as one sparse
        product: the maps are never built profile by profile. ``offset`` (n, L, 2) in cells moves each map to
        first order (`_shift_tables`)."""
        rows, k = index.shape[0] * index.shape[1], index.shape[2]
        index, weight = index.reshape(rows, k), weight.reshape(rows, k)
        n_grid = self._tables.shape[0]
        if offset is not None:
            d = offset.reshape(rows, 2)
            index = np.concatenate([index, index + n_grid, index + 2 * n_grid], axis=1)
            weight = np.concatenate([weight, -0.5 * d[:, :1] * weight, -0.5 * d[:, 1:] * weight], axis=1)
        if spots:
            tables = self._spot_tables if offset is None else self._spot_shift_tables
        else:
            tables = self._tables if offset is None else self._shift_tables
        product = sparse.csr_matrix((weight.astype(np.float32).ravel(), index.ravel(),
                                     np.arange(0, index.size + 1, index.shape[1])), shape=(rows, tables.shape[0]))
        return np.asarray(product @ tables)

    def expected(self, ep: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """Expected cell energies (n, x, y, L) before sampling fluctuations; ``normals`` (n, n_normals). The
        array is a view of layer-major memory (n, L, x, y), the order `fluctuate` works in."""
        g = self.geometry
        return self._layer_maps(ep, normals).reshape(len(ep), g.n_layers, g.n_x, g.n_y).transpose(0, 2, 3, 1)

    def _layer_maps(self, ep: np.ndarray, normals: np.ndarray, per_gev: np.ndarray | None = None) -> np.ndarray:
        """Expected cell energies layer-major (n * L, cells), or with ``per_gev`` (L,) or (n, L) expected spot counts:
        the factor rides on the sparse product's weights instead of a pass over every cell."""
        g = self.geometry
        core_shift = halo_factor = None
        if self.params.copula:
            layer, tmax, excess = self._copula_draw(ep, normals)
            core_shift = self._core_gain * excess
            if self.params.halo_response:  # the halo takes less than its share of a layer's excess
                halo_factor = np.exp(-self.params.halo_response * excess)
        else:
            layer, tmax = self.longitudinal(ep, normals)
        if self._core_noise.any():
            noise = self._core_noise * normals[:, self._normals["core_noise"]]
            core_shift = noise if core_shift is None else core_shift + noise
        if (self._depth_power != 1).any():  # each layer's shape follows the shower's own depth by its power
            typical = self._typical_tmax(np.log(ep / 100.0))[:, None]
            tmax = typical * (tmax[:, None] / typical) ** self._depth_power
        depth = self._depth_score(normals) if self._radius_depth.any() else None
        index, weight = self._lateral_weights(ep, tmax, core_shift, halo_factor, depth)
        if self._in_grid:  # the copula's layer energy is what the grid holds: the halo beyond it loses none
            weight = weight / (weight * self._table_sums[index]).sum(axis=2, keepdims=True)
        weight = weight * (layer if per_gev is None else layer * per_gev)[:, :, None]
        if self._jitter.any():
            offset = np.clip(self._jitter * normals[:, self._normals["jitter"]].reshape(len(ep), 2, g.n_layers),
                             -0.5, 0.5).transpose(0, 2, 1)
            maps = self._combine(index, weight, offset, spots=per_gev is not None)
            sums = self._table_sums if per_gev is None else self._spot_table_sums
            self._cut_negative(maps, (weight * sums[index]).sum(axis=2).ravel())
        else:
            maps = self._combine(index, weight, spots=per_gev is not None)
        return maps

    @staticmethod
    def _cut_negative(maps: np.ndarray, sums: np.ndarray) -> None:
        """The first-order shift moves a map's centroid by exactly the offset, but beyond about a fifth of a
        cell the core's neighbours turn negative: those maps are cut at zero and rescaled to their sum (their
        centroid moves less). Offsets above half a cell are clipped before."""
        rows = np.flatnonzero(maps.min(axis=1) < 0)
        if len(rows):
            cut = np.maximum(maps[rows], 0.0)
            maps[rows] = cut * (sums[rows] / np.maximum(cut.sum(axis=1), 1e-30))[:, None]

    def fluctuate(self, mu: np.ndarray, rng: np.random.Generator, ep: np.ndarray | None = None,
                  depth: np.ndarray | None = None) -> np.ndarray:
        """Sampling fluctuations: Poisson-many spots of gamma-distributed energy per cell, of two kinds
        (`spot_fraction` of the energy in spots of mean `spot_gev`, the rest in soft spots); ``mu`` (n, x, y,
        L), showers (n, x, y, L) float32 C-ordered.

        Both kinds' spot counts are proportional to the cell's expected energy, so one Poisson draw of the
        total count per cell, split binomially with one fixed probability in the few cells it hits, has the
        distribution of two independent draws at half the cost (the draw over every cell dominates). ``ep`` (n,),
        the primary energies, is needed when the spot sizes vary with energy (`SimulatorParams.spot_scale_slope`),
        ``depth`` (n,), the showers' depth scores, when they vary with it (`spot_scale_depth`)."""
        if (self._spot_slope.any() or self._spot_depth.any()) and ep is None:
            raise ValueError("these parameters size the spots by the primary energy: pass ep")
        per_gev, scale = (self._spots_per_gev, None) if ep is None else self._spot_sizes(np.asarray(ep), depth)
        by_layer = np.ascontiguousarray(mu.transpose(0, 3, 1, 2))  # free for `expected`'s output
        expected_spots = by_layer * per_gev[..., None, None]
        if self.params.cluster_share:  # thinned where spots bring companions, as `_spot_tables` are
            expected_spots *= self._spot_keep.reshape(mu.shape[1:3])
        return self._spots(expected_spots.ravel(), mu.shape, rng, scale)

    def _spot_sizes(self, ep: np.ndarray, depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Expected spots per GeV, (L,) or per shower (n, L), and the spot energies' scale per shower (n, L), None
        when the sizes depend neither on the primary energy nor on the shower's depth score ``depth`` (n,)."""
        if not (self._spot_slope.any() or self._spot_depth.any()):
            return self._spots_per_gev, None
        log_factor = self._spot_slope * np.log(ep / 100.0)[:, None]
        if self._spot_depth.any():
            if depth is None:
                raise ValueError("these parameters size the spots by the shower's depth: pass its depth score")
            log_factor = log_factor + self._spot_depth * depth[:, None]
        factor = np.exp(log_factor).astype(np.float32)
        return self._spots_per_gev / factor, self._spot_scale * factor

    def _spots(self, expected_spots: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator,
               scale: np.ndarray | None = None) -> np.ndarray:
        """Showers (n, x, y, L) from the expected spot count of every cell, layer-major (n * L * cells,); ``scale``
        (n, L) the spot energies' scale when it varies by shower (otherwise per layer)."""
        n, n_x, n_y, n_layers = shape
        cells, count = poisson_hits(expected_spots, rng)
        energy = np.zeros(n * n_x * n_y * n_layers, dtype=np.float32)
        energy[self._depth_last(cells, shape)] = self._spot_energies(cells, count, shape, rng, scale)
        if self.params.cluster_share:
            companions, pairs = self._clustered(cells, count, shape, rng)
            np.add.at(energy, self._depth_last(companions, shape),
                      self._spot_energies(companions, pairs, shape, rng, scale))
        return energy.reshape(shape)

    @staticmethod
    def _depth_last(cells: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """Layer-major cell indices (n, L, x, y) as indices of the (n, x, y, L) showers."""
        _, n_x, n_y, n_layers = shape
        per_layer = n_x * n_y
        shower, layer = cells // (per_layer * n_layers), cells // per_layer % n_layers
        return (shower * per_layer + cells % per_layer) * n_layers + layer

    def _clustered(self, cells: np.ndarray, count: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator,
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Far spots in pairs (`SimulatorParams.cluster_share`): the cells' spot counts were drawn from means
        lowered by 1 + q (`_spot_tables`), and each spot brings a companion with chance q, into one of the four
        neighbouring cells (at the edge, the cell itself): energy and hit count stay. Returns the companions'
        cells (layer-major, repeats possible) and spot counts."""
        _, n_x, n_y, _ = shape
        per_layer = n_x * n_y
        chance = self._cluster_chance[cells % per_layer]
        far = np.flatnonzero(chance > 0)
        pairs = _binomial_mostly_one(count[far], chance[far], rng)
        some = np.flatnonzero(pairs)
        origin, pairs = cells[far[some]], pairs[some]
        step = rng.integers(0, 4, len(origin))
        in_layer = origin % per_layer
        x = np.clip(in_layer // n_y + _NEIGHBOUR_DX[step], 0, n_x - 1)
        y = np.clip(in_layer % n_y + _NEIGHBOUR_DY[step], 0, n_y - 1)
        return origin - in_layer + x * n_y + y, pairs

    def _spot_energies(self, cells: np.ndarray, count: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator,
                       scale: np.ndarray | None) -> np.ndarray:
        """The summed energy of ``count`` spots in each of ``cells`` (layer-major indices), both kinds, scaled per
        layer or per (shower, layer); below the contract's cut, 0."""
        p = self.params
        _, n_x, n_y, n_layers = shape
        per_layer = n_x * n_y
        n_hard = count
        kinds = [(p.spot_gev, p.spot_shape)]
        if p.spot_fraction < 1:
            n_hard = rng.binomial(n_hard, self._hard_share)
            kinds.append((p.soft_spot_gev, p.soft_spot_shape))
        hit_energy = np.zeros(len(cells), dtype=np.float32)
        for (spot_gev, gamma_shape), kind_count in zip(kinds, [n_hard, count - n_hard], strict=False):
            some = np.flatnonzero(kind_count)
            hit_energy[some] += (rng.standard_gamma(kind_count[some] * gamma_shape, dtype=np.float32)
                                 * np.float32(spot_gev / gamma_shape))
        layer = cells // per_layer % n_layers
        if scale is None:
            hit_energy *= self._spot_scale[layer]
        else:
            hit_energy *= scale[cells // (per_layer * n_layers), layer]
        hit_energy[hit_energy < ZERO_BELOW_GEV] = 0.0
        return hit_energy

    # -- public sampling ------------------------------------------------------------------------------
    def simulate_chunk(self, ep: np.ndarray, seed: int, chunk_index: int) -> np.ndarray:
        """Showers (n, 25, 25, 25) float32 GeV for primary energies ``ep``, from (seed, chunk_index)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, chunk_index)))
        if self.n_normals > 3 + (self.geometry.n_layers if self.params.layer_noise else 0):
            normals = rng.standard_normal((len(ep), self.n_normals))
        else:  # the order older parameter files drew their normals in (their showers keep their law)
            normals = rng.standard_normal((len(ep), 3))
            if self.params.layer_noise:
                normals = np.concatenate([normals, rng.standard_normal((len(ep), self.geometry.n_layers))], axis=1)
        ep = np.asarray(ep, dtype=np.float64)
        per_gev, scale = self._spot_sizes(ep, self._depth_score(normals) if self._spot_depth.any() else None)
        expected_spots = self._layer_maps(ep, normals, per_gev)
        g = self.geometry
        return self._spots(expected_spots.ravel(), (len(ep), g.n_x, g.n_y, g.n_layers), rng, scale)

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
