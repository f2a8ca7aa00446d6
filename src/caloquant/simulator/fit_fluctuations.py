"""Fit the per-event fluctuations on Geant4's own (the last stage of `caloquant fit-sim`).

The profile stages fit averages; a classifier looks at single showers. This stage takes the joint
fluctuation of the layer energies straight from Geant4 (a Gaussian copula over the log layer shares and the
log sampling fraction: Geant4's correlation of normal scores, its marginals as quantiles), then calibrates
what the smooth maps and the spots cannot give by themselves against Geant4 per layer, simulating the fit
showers a few times: the spot size per layer and its slope in ln Ep (hits per layer, below and above the
median energy), a random shift of each layer's map (the spread of the layer centroids), the share of a
layer's excess energy that goes into its core (the correlation of layer width and layer energy), the core
share's own noise (the spread of the layer widths), a radius scale (the mean layer widths), how a layer's spot
size and radius follow the shower's depth (how its hit count and width do at a given layer energy), the copula's
variances (each layer's spread after the spots and the normalisation of the shares) and its layer correlations
(the layer energies' correlations after all that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from caloquant.contract import ZERO_BELOW_GEV
from caloquant.geometry import ECAL, CalorimeterGeometry
from caloquant.physics.distances import standardise
from caloquant.physics.features import EventFeatures, extract_features
from caloquant.physics.quantities import robust_width
from caloquant.simulator.model import ShowerSimulator, copula_design, hat_basis
from caloquant.simulator.params import (
    COPULA_GRID,
    COPULA_SCORES,
    COPULA_SPREAD_KNOTS,
    LATERAL_VERSIONS,
    SimulatorParams,
)

__all__ = ["FLUCTUATION_FIELDS", "FarCells", "copula_fields", "depth_coefficients", "early_far_energy",
           "early_widths_follow_depth", "far_neighbour_counts", "fit_fluctuations", "lateral_depth_power",
           "without_fluctuations"]

FLUCTUATION_FIELDS = ("copula_mean", "copula_var", "copula_chol", "copula_quantiles", "copula_bounds", "copula_spread",
                      "spot_scale", "spot_scale_slope", "centroid_jitter_mm", "core_gain", "core_noise", "radius_scale",
                      "radius_scale_slope", "spot_scale_depth", "radius_scale_depth", "lateral_depth_power")
_MAX_JITTER_MM = 2.5  # the first-order shift holds to half a cell
_PROBE_GAIN = 0.5  # the core gain of the probe pass, from which each layer's response is read
# Layers up to _FOLLOW_DEPTH_UNTIL_LAYER keep their lateral shape in the shower's own relative depth; beyond, the
# shape's power of the shower's depth falls linearly to 0 at _FOLLOW_DEPTH_TO_LAYER. The first layers, up to
# _EARLY_LAYERS_TO, follow it too only where Geant4's widths there do (`early_widths_follow_depth`: neither the
# electrons' nor, read on the layers that have a width, the photons'). Chosen by the held-out classifier on Geant4
# electrons neither the fit nor the check uses (part2) and on the check files (docs/simulator.md, session 31):
# per-layer calibration of the power was unstable (session 29).
_FOLLOW_DEPTH_UNTIL_LAYER = 15
_FOLLOW_DEPTH_TO_LAYER = 20
_EARLY_LAYERS_TO = 6
# How far a layer's halo ignores the layer's own excess (`SimulatorParams.halo_response`): without Geant4's far
# energies, session 30's choice for electrons (0, 0.25, 0.35, 0.5, 0.7 and 1 by the held-out classifier); with
# them, where a step per pass starts that moves it until the far energy of layers _HALO_LAYERS follows the layer
# energy as in Geant4 (`_halo_slope`; docs/simulator.md, session 34)
_HALO_RESPONSE = 0.35
# The halo slope's change per unit of halo response (Geant4-like photons: -0.22): each step divides the slope's
# offset by it, halved after the first; the responses of the passes after the probe are averaged
_HALO_STEP = -0.25
_HALO_LAYERS = (1, 2, 3, 4, 5)
_HALO_RADIUS = 3.0  # cells from the beam: where the first layers' energy is mostly halo
# An empty layer of the fit showers enters the copula as this many spots' worth of expected energy (spots of
# the mean size before calibration), the Poisson draw of the simulator then leaving it empty with probability
# exp(-0.5) = 0.61: chosen from 0.25, 0.5 and 1 by the classifier on the held-out photons (docs/simulator.md,
# session 32); the electrons' fit showers have no empty layer.
_EMPTY_LAYER_SPOTS = 0.5
# Centroid scores between which the width's mean and spread are piecewise linear (`_profile_scores`); chosen
# from knots 1 or 0.5 apart by the held-out classifier (docs/simulator.md, session 33)
_WIDTH_KNOTS = (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5)
_MIN_SPREAD = 0.05  # a residual's variance factor at a depth: at least this share of its mean
_SLOPE_FROM_PASS = 1  # the spot sizes' energy slope moves once their level is near (the first pass is 15 % off)
_PROBE_PASS = 3  # after three passes that bring hits, centroids and widths close without it
_MIN_SIGNAL = 0.5  # a layer mostly spot noise (a photon's first layers) keeps at most 4x its correlations
_MAX_CORE_NOISE = 0.2  # logit units: more noise widens the layers but makes their hit counts vary more than Geant4's
# Layers whose centroid standard deviation is at most this many interquartile widths count as heavy-tailed
# (`_centroid_spread`): Geant4's electrons reach 1.57x, a photon's layers 2-11 3-8x (docs/simulator.md, session 33)
_HEAVY_TAIL_LIMIT = 1.6
# The far spots' cluster share (`SimulatorParams.cluster_share`) starts here and moves by a secant step per pass until
# the simulated far hits have a hit neighbour as often as Geant4's (electrons: 0.15 brings them there)
_CLUSTER_START = 0.15
_CLUSTER_STEP = 1.0  # the first step's assumed rise of the neighbour share per unit of cluster share
_MAX_CLUSTER_SHARE = 0.6
# Each pass moves the copula's layer correlations by this share of what the simulated layer-energy correlations
# (validate's: energy over Ep) miss against the fit showers', among the layers holding more than _CORR_MIN_SHARE
# of the energy: the passes' variance step adds spread that does not follow the shower's depth, which weakened the
# early-late anticorrelation (layers 2-5 against 15-16: -0.38 against Geant4's -0.51). 0.5 and 1 both brought
# held-out part2's row within on seeds 5-8; 0.5 kept the KPD lower (docs/simulator.md, session 37)
_CORR_STEP = 0.5
_CORR_MIN_SHARE = 0.01


def without_fluctuations(p: SimulatorParams) -> SimulatorParams:
    """The profile model alone (what the earlier fit stages fit, and older parameter files hold)."""
    empty: dict[str, Any] = dict.fromkeys(FLUCTUATION_FIELDS, ())
    return replace(p, **empty, halo_response=0.0, cluster_share=0.0, lateral_version=1)


def _log_shares(f: EventFeatures) -> np.ndarray:
    """(n, L + 1): log of each layer's share of the shower's energy, then the log sampling fraction (an empty
    layer counts as one cell at the contract's cut)."""
    layers = np.maximum(f.z_profile, ZERO_BELOW_GEV)
    total = layers.sum(axis=1)
    return np.concatenate([np.log(layers / total[:, None]), np.log(total / f.ep)[:, None]], axis=1)


def _normal_scores(x: np.ndarray) -> np.ndarray:
    """Each column's ranks as standard normal scores (ties share their mean rank)."""
    return ndtri((rankdata(x, axis=0) - 0.5) / len(x))


def _profile_scores(log_shares: np.ndarray, design: np.ndarray) -> np.ndarray:
    """(n, 2) normal scores of the longitudinal centroid and width (in layers) around their means in u; the
    width's taken around its mean and in units of its spread at the shower's centroid score, so the copula,
    which draws the two scores nearly independent, keeps early showers' widths as narrow as Geant4's: there
    the width varies 0.6x as much as on average, in late showers 1.4-2x (electrons and photons alike)."""
    share = np.exp(log_shares - log_shares.max(axis=1, keepdims=True))
    share /= share.sum(axis=1, keepdims=True)
    depth = np.arange(share.shape[1])
    centroid = share @ depth
    width = np.sqrt((share * (depth - centroid[:, None]) ** 2).sum(axis=1))

    def around_energy(x: np.ndarray) -> np.ndarray:
        return x - design @ np.linalg.lstsq(design, x, rcond=None)[0]

    g1 = _normal_scores(around_energy(centroid))
    at_centroid = hat_basis(g1, _WIDTH_KNOTS)

    def curve(x: np.ndarray) -> np.ndarray:
        return at_centroid @ np.linalg.lstsq(at_centroid, x, rcond=None)[0]

    excess = around_energy(width)
    excess -= curve(excess)
    spread = np.sqrt(np.maximum(curve(excess**2), 0.05 * np.mean(excess**2)))
    return np.stack([g1, _normal_scores(excess / spread)], axis=1)


def copula_fields(f: EventFeatures, spot_variance_per_gev: float, empty_layer_gev: float = 0.0) -> dict[str, Any]:
    """The copula of `model.copula_design`: log shares as curves in u and the two profile scores, residual
    variances linear in u, correlation of normal scores and standardized marginal quantiles of the scores
    and residuals, the range of each log share; the spots' own variance (V / E per layer, V the
    compound-Poisson variance per GeV) is taken out, since the simulator adds it back.

    ``empty_layer_gev``: the expected energy an empty layer is taken to have had. Geant4's empty layers are
    spot counts of zero; the copula draws expected energies, which the simulator's spots then empty again
    on their own, so an empty layer kept at the contract's cut (an expectation of nothing) counts its
    emptiness twice (photons: layer 0 empty in 16 % of simulated showers against Geant4's 8.6 %)."""
    if empty_layer_gev > 0:
        z = np.where(f.z_profile > 0, f.z_profile, empty_layer_gev)
        f = replace(f, z_profile=z, total=f.total + (z - f.z_profile).sum(axis=1))
    u = np.log(f.ep / 100.0)
    energies = np.concatenate([np.maximum(f.z_profile, ZERO_BELOW_GEV), f.total[:, None]], axis=1)
    spot_var = np.minimum(spot_variance_per_gev / energies, 1.0)  # variance of log E the spots add
    y = _log_shares(f) + 0.5 * spot_var  # E[log E] sits V / (2 E) below log of the expectation
    scores = _profile_scores(y[:, :-1], copula_design(u, np.zeros((len(u), COPULA_SCORES)))[:, :3])
    design = copula_design(u, scores)
    mean, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ mean
    # each log share's residual variance as a piecewise-linear factor in the centroid score (its mean over the
    # showers about 1) times a line in u, the spots' own variance (the same whatever the depth) taken out; the
    # sampling fraction keeps one spread (by depth too, the electrons' held-out FPD rose from 1.05-1.22 to 1.19-1.28)
    at_depth = hat_basis(scores[:, 0], COPULA_SPREAD_KNOTS)
    spread = np.maximum(np.linalg.lstsq(at_depth, resid**2, rcond=None)[0] / (resid**2).mean(axis=0), _MIN_SPREAD)
    spread[:, -1] = 1.0
    factor = at_depth @ spread
    var = np.stack([np.linalg.lstsq(design[:, :2] * factor[:, [j]], resid[:, j] ** 2 - spot_var[:, j], rcond=None)[0]
                    for j in range(resid.shape[1])], axis=1)
    sd = np.sqrt(np.maximum(design[:, :2] @ var, 1e-8) * factor)
    standard = np.concatenate([scores, resid / sd], axis=1)
    normal = _normal_scores(standard)
    corr = np.corrcoef(normal.T)
    # Geant4's correlations include the spots' independent noise, which the simulator adds again: between two
    # layers, the correlation the copula draws is Geant4's over the share of each one's variance that is not
    # the spots'
    signal = np.ones(standard.shape[1])
    signal[COPULA_SCORES:] = np.sqrt(np.clip(1 - spot_var.mean(axis=0) / np.maximum((resid**2).mean(axis=0), 1e-12),
                                             _MIN_SIGNAL, 1.0))
    corr = corr / np.outer(signal, signal)
    np.fill_diagonal(corr, 1.0)
    w, q = np.linalg.eigh(corr)
    corr = (q * np.maximum(w, 1e-4)) @ q.T
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    quantiles = np.quantile(standard, ndtr(np.asarray(COPULA_GRID)), axis=0).T / standard.std(axis=0)[:, None]
    return {"copula_mean": tuple(map(float, mean.T.ravel())), "copula_var": tuple(map(float, var.T.ravel())),
            "copula_chol": tuple(map(float, np.linalg.cholesky(corr).ravel())),
            "copula_quantiles": tuple(map(float, np.maximum.accumulate(quantiles, axis=1).ravel())),
            "copula_bounds": tuple(map(float, np.stack([y.min(axis=0), y.max(axis=0)], axis=1).ravel())),
            "copula_spread": tuple(map(float, spread.T.ravel()))}


def _layer_correlation(f: EventFeatures) -> np.ndarray:
    """(L, L) correlation of the layer energies over the primary energy (what `validate` compares)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(np.corrcoef(f.z_profile / f.ep[:, None], rowvar=False))


def _corrected_chol(chol: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """The Cholesky factor of the copula's correlation with ``offset`` (L, L) added to its layer-layer block, then
    the nearest correlation matrix of full rank (eigenvalues floored, unit diagonal)."""
    corr = chol @ chol.T
    block = slice(COPULA_SCORES, COPULA_SCORES + len(offset))
    corr[block, block] += offset - np.diag(np.diag(offset))
    w, q = np.linalg.eigh(corr)
    corr = (q * np.maximum(w, 1e-4)) @ q.T
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    return np.linalg.cholesky(corr)


def _robust_widths(x: np.ndarray) -> np.ndarray:
    """Each column's interquartile width (a Gaussian's sigma), per layer."""
    return np.array([robust_width(x[:, j]) for j in range(x.shape[1])])


def _centroid_spread(f: EventFeatures, heavy_tailed: np.ndarray | None = None) -> np.ndarray:
    """Each layer's centroid spread: the interquartile width, or in the ``heavy_tailed`` layers the geometric
    mean of it and the standard deviation. Geant4's centroids have heavy tails (far cells) that the map's
    Gaussian jitter cannot draw: matched on the interquartile width, the simulator's centroids varied 10-20 %
    less than Geant4's (the FPD's largest term); matched on the standard deviation, their core was too wide
    (classifier AUC 0.80)."""
    centroids = np.concatenate([f.layer_cx, f.layer_cy])
    quartile = _robust_widths(centroids)
    if heavy_tailed is None:
        return quartile
    return np.where(heavy_tailed, np.sqrt(quartile * centroids.std(axis=0)), quartile)


def _heavy_tailed_centroids(f: EventFeatures) -> np.ndarray:
    """Layers whose centroid standard deviation is at most _HEAVY_TAIL_LIMIT x the interquartile width: beyond,
    a few stray far hits carry it (a late-converting photon's first layers: 3-8x), which no shift of the map
    draws."""
    centroids = np.concatenate([f.layer_cx, f.layer_cy])
    return centroids.std(axis=0) <= _HEAVY_TAIL_LIMIT * _centroid_spread(f)


def _layer_numbers(f: EventFeatures, heavy_tailed: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """What the passes calibrate, per layer; medians and interquartile widths where a few odd showers would
    pull a mean (a photon that converts late leaves a few stray hits far off axis in the first layers), the
    centroids' spread as `_centroid_spread`."""
    shares = _log_shares(f)
    log_e = np.log(np.maximum(f.z_profile, ZERO_BELOW_GEV) / f.ep[:, None])
    both = np.concatenate([f.layer_wx, f.layer_wy])
    return {
        "hits": f.layer_hits.mean(axis=0),
        "spread": _robust_widths(shares),
        "centroid": _centroid_spread(f, heavy_tailed),
        "width": np.median(both, axis=0),
        "width_spread": _robust_widths(both),
        "width_energy": np.nan_to_num([np.corrcoef(f.layer_wx[:, j], log_e[:, j])[0, 1]
                                       for j in range(log_e.shape[1])]),  # a constant layer: no correlation
    }


def _median_width(f: EventFeatures, showers: np.ndarray) -> np.ndarray:
    """Each layer's median width (x and y together) over the selected showers that hit two cells or more there
    (a photon's first layers are often empty or one cell, width 0, more often at low energy); 0 if none did."""
    both = np.concatenate([f.layer_wx[showers], f.layer_wy[showers]])
    spread = np.tile(f.layer_hits[showers] >= 2, (2, 1))
    return np.array([np.median(both[spread[:, j], j]) if spread[:, j].any() else 0.0 for j in range(both.shape[1])])


def _slope_in_u(ratios: list[np.ndarray], u: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Per layer, the slope in u of the log of a ratio measured on the showers below and above the median energy."""
    return np.log(ratios[1] / ratios[0]) / (u[~low].mean() - u[low].mean())


def depth_coefficients(f: EventFeatures, what: str) -> np.ndarray:
    """Per layer, how the log of a layer's hit count (``what`` "hits") or width ("width") follows the shower's
    depth at the same layer energy and primary energy: the coefficient of the longitudinal centroid's normal score
    (around its trend in u) in a least-squares fit on 1, u, the log layer energy and that score, over the showers
    that hit two cells or more there."""
    u = np.log(f.ep / 100.0)
    centroid = (f.z_profile * np.arange(f.z_profile.shape[1])).sum(axis=1) / np.maximum(f.z_profile.sum(axis=1), 1e-30)
    offset = centroid - np.polyval(np.polyfit(u, centroid, 2), u)
    score = _normal_scores(offset)
    out = np.zeros(f.z_profile.shape[1])
    for j in range(len(out)):
        wide = (f.layer_hits[:, j] >= 2) & (f.z_profile[:, j] > 0) & (f.layer_wx[:, j] + f.layer_wy[:, j] > 0)
        if wide.sum() < 50:
            continue
        y = (np.log(f.layer_hits[wide, j]) if what == "hits"
             else np.log(0.5 * (f.layer_wx[wide, j] + f.layer_wy[wide, j])))
        x = np.column_stack([np.ones(wide.sum()), u[wide], np.log(f.z_profile[wide, j]), score[wide]])
        out[j] = np.linalg.lstsq(x, y, rcond=None)[0][3]
    return out


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b per layer, 1 where the layer has nothing to compare (an empty layer moves no parameter)."""
    return np.where((a > 0) & (b > 0), a / np.where(b > 0, b, 1.0), 1.0)


def far_neighbour_counts(showers: np.ndarray, geometry: CalorimeterGeometry = ECAL,
                         from_radius: float = SimulatorParams().cluster_radii_cells[1]) -> np.ndarray:
    """(hit cells with a hit among their four neighbours, hit cells), over the cells at least ``from_radius`` cells
    from the beam of showers (n, x, y, L): how often the far hits come in clusters."""
    hit = showers > 0
    neighbour = np.zeros_like(hit)
    neighbour[:, 1:] |= hit[:, :-1]
    neighbour[:, :-1] |= hit[:, 1:]
    neighbour[:, :, 1:] |= hit[:, :, :-1]
    neighbour[:, :, :-1] |= hit[:, :, 1:]
    far = geometry.cell_radii() >= from_radius
    far_hits = hit[:, far]
    return np.array([(far_hits & neighbour[:, far]).sum(), far_hits.sum()], dtype=np.float64)


@dataclass(frozen=True)
class FarCells:
    """What the fit reads from Geant4's cells beyond the showers' features (`fit.load_targets`)."""

    neighbours: float  # of the hits at least the clusters' outer radius from the beam, the share with a hit neighbour
    early: np.ndarray  # (n, len(_HALO_LAYERS)): each fit shower's `early_far_energy`


def early_far_energy(showers: np.ndarray, geometry: CalorimeterGeometry = ECAL) -> np.ndarray:
    """(n, len(_HALO_LAYERS)): each shower's energy at least _HALO_RADIUS cells from the beam in the first layers,
    where it is mostly the halo's."""
    far = geometry.cell_radii() >= _HALO_RADIUS
    return showers[:, far][:, :, list(_HALO_LAYERS)].sum(axis=1, dtype=np.float64)


def _halo_slope(far: np.ndarray, f: EventFeatures) -> float:
    """How the first layers' far energy follows the layer energy: the slope of log far share on log layer share at
    a given primary energy, averaged over _HALO_LAYERS (showers with energy in both). Geant4 electrons: 0.54-0.62,
    photons 0.37-0.45; the halo as a fixed share of the layer (halo_response 0) pushes it towards 1."""
    u = np.log(f.ep / 100.0)
    total = np.where(f.total > 0, f.total, 1.0)
    slopes = []
    for k, j in enumerate(_HALO_LAYERS):
        ok = (far[:, k] > 0) & (f.z_profile[:, j] > 0)
        x = np.column_stack([np.ones(ok.sum()), u[ok], u[ok] ** 2, np.log(f.z_profile[ok, j] / total[ok])])
        slopes.append(np.linalg.lstsq(x, np.log(far[ok, k] / total[ok]), rcond=None)[0][3])
    return float(np.mean(slopes))


def _tap_far_cells(chunks: Iterator[tuple[np.ndarray, np.ndarray]], counts: np.ndarray, early: list[np.ndarray],
                   ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The chunks as they are, adding each one's `far_neighbour_counts` to ``counts`` and its `early_far_energy`
    to ``early`` on the way."""
    for showers, energies in chunks:
        counts += far_neighbour_counts(showers)
        early.append(early_far_energy(showers))
        yield showers, energies


def _secant_step(tried: list[tuple[float, float]], target: float, first_slope: float, lowest: float,
                 highest: float) -> float:
    """The next value of a parameter whose statistic should reach ``target``: a secant step on the last two (value,
    statistic) pairs, on ``first_slope`` when there is one pair or the secant's sign or size is off (noise)."""
    value, got = tried[-1]
    slope = first_slope
    if len(tried) > 1 and abs(value - tried[-2][0]) > 1e-6:
        secant = (got - tried[-2][1]) / (value - tried[-2][0])
        if secant * first_slope > 0:
            slope = secant if abs(secant) >= 0.1 * abs(first_slope) else 0.1 * first_slope
    return float(np.clip(value + (target - got) / slope, lowest, highest))


def fit_fluctuations(
    p: SimulatorParams, f: EventFeatures, *, seed: int, passes: int = 8,
    progress: Callable[[str], None] | None = None, far_cells: FarCells | None = None,
) -> SimulatorParams:
    """The copula from Geant4, then ``passes`` simulations of the fit showers' energies calibrating the
    spot size and its energy slope, centroid jitter, core gain, core noise, radius scale and its energy slope
    (the median width below and above the median energy), spot size and radius by the shower's depth
    (`depth_coefficients`), copula variances per layer and the copula's layer correlations. The fourth pass
    probes a core gain of 0.5 everywhere: how far it moves each layer's width-energy correlation and width
    spread sets the gain and the noise (a secant step per layer, refined in the passes after). With Geant4's
    ``far_cells`` the far spots' cluster share (a secant step per pass) and the halo's response (a damped step per
    pass, averaged after the probe) are calibrated too, neither on the probe pass; without, the spots stay single
    and the halo responds as session 30 chose for electrons."""
    say = progress or (lambda _msg: None)
    n_layers = f.z_profile.shape[1]
    p = replace(p, **copula_fields(f, p.spot_variance_per_gev(), _EMPTY_LAYER_SPOTS * p.gev_per_spot()),
                lateral_depth_power=tuple(map(float, lateral_depth_power(n_layers, early_widths_follow_depth(f)))),
                halo_response=_HALO_RESPONSE, lateral_version=LATERAL_VERSIONS[-1])
    heavy_tailed = _heavy_tailed_centroids(f)
    target = _layer_numbers(f, heavy_tailed)
    # the gain is calibrated per standard deviation of each layer's log excess, stored per unit of it
    u = np.log(f.ep / 100.0)
    typical = copula_design(u, np.zeros((len(u), COPULA_SCORES))) @ np.reshape(p.copula_mean, (n_layers + 1, -1)).T
    excess_sd = (_log_shares(f) - typical)[:, :n_layers].std(axis=0)
    scale, jitter, gain = np.ones(n_layers), np.zeros(n_layers), np.zeros(n_layers)
    noise, radius = np.zeros(n_layers), np.ones(n_layers)
    var = np.reshape(p.copula_var, (n_layers + 1, 2))
    n_copula = n_layers + 1 + COPULA_SCORES
    chol = np.reshape(p.copula_chol, (n_copula, n_copula))
    corr_target = _layer_correlation(f)
    holding = f.z_profile.mean(axis=0) / f.z_profile.mean(axis=0).sum() > _CORR_MIN_SHARE
    corr_pairs = np.outer(holding, holding)
    response = width_per_logit = None
    slope, radius_slope, low = np.zeros(n_layers), np.zeros(n_layers), u < np.median(u)
    spot_depth, radius_depth = np.zeros(n_layers), np.zeros(n_layers)
    hits_depth, width_depth = depth_coefficients(f, "hits"), depth_coefficients(f, "width")  # Geant4's, fixed
    base: dict[str, np.ndarray] = {}
    share, halo = (0.0 if far_cells is None else _CLUSTER_START), _HALO_RESPONSE
    halo_target = None if far_cells is None else _halo_slope(far_cells.early, f)
    tried_share: list[tuple[float, float]] = []
    tried_halo: list[tuple[float, float]] = []
    settled: list[float] = []  # the halo responses after the probe: the slope's noise (0.03-0.05) moves them about
    for i in range(passes):
        probe = np.full(n_layers, _PROBE_GAIN) if i == _PROBE_PASS else gain
        sim = ShowerSimulator(replace(_with(p, scale, slope, jitter, probe / excess_sd, noise, radius, radius_slope,
                                            var, chol, spot_depth, radius_depth),
                                      cluster_share=share, halo_response=halo))
        far, early = np.zeros(2), list[np.ndarray]()
        simulated = extract_features(_tap_far_cells(sim.iter_showers(f.ep.copy(), seed + i, threads=2), far, early))
        got = _layer_numbers(simulated, heavy_tailed)
        if far_cells is not None and halo_target is not None and i != _PROBE_PASS:  # the probe's gain is not the fit's
            tried_share.append((share, far[0] / max(far[1], 1.0)))
            share = _secant_step(tried_share, far_cells.neighbours, _CLUSTER_STEP, 0.0, _MAX_CLUSTER_SHARE)
            tried_halo.append((halo, _halo_slope(np.concatenate(early), simulated)))
            halo = float(np.clip(halo + (halo_target - tried_halo[-1][1]) / _HALO_STEP * (0.5 if i else 1.0), 0.0, 1.0))
            if i > _PROBE_PASS:
                settled.append(halo)
        if i >= _SLOPE_FROM_PASS:  # hits per layer, simulated over Geant4's, below and above the median energy
            step = _slope_in_u([_ratio(simulated.layer_hits[m].mean(axis=0), f.layer_hits[m].mean(axis=0))
                                for m in (low, ~low)], u, low)
            slope += step
            scale *= np.exp(-step * u.mean())  # the spot size at the mean energy, which the hits' level sets, kept
            step = _slope_in_u([_ratio(_median_width(f, m), _median_width(simulated, m)) for m in (low, ~low)], u, low)
            radius_slope += step  # the widths' trend with energy, the radius at the mean energy kept likewise
            radius *= np.exp(-step * u.mean())
            # how hits and widths follow the shower's depth at a given layer energy (more hits: bigger spots)
            spot_depth += depth_coefficients(simulated, "hits") - hits_depth
            radius_depth += width_depth - depth_coefficients(simulated, "width")
        corr_offset = (corr_target - _layer_correlation(simulated)) * corr_pairs
        say(f"fluctuations, pass {i + 1} of {passes}: hits per layer within "
            f"{np.abs(got['hits'] / target['hits'] - 1).max():.1%}, centroid spread within "
            f"{np.abs(got['centroid'] / target['centroid'] - 1).max():.1%}, width within "
            f"{np.abs(got['width'] / target['width'] - 1).max():.1%}, layer correlations within "
            f"{np.abs(corr_offset).max():.3f}"
            + ("" if far_cells is None else f", far hits with a neighbour {tried_share[-1][1]:.3f} (Geant4 "
                                            f"{far_cells.neighbours:.3f}), halo slope {tried_halo[-1][1]:.2f} (Geant4 "
                                            f"{halo_target:.2f})"))
        scale *= _ratio(got["hits"], target["hits"])  # fewer hits than Geant4: smaller, more spots
        jitter = np.minimum(np.sqrt(np.maximum(jitter**2 + target["centroid"] ** 2 - got["centroid"] ** 2, 0.0)),
                            _MAX_JITTER_MM)
        var *= (_ratio(target["spread"], got["spread"]) ** 2)[:, None]
        chol = _corrected_chol(chol, _CORR_STEP * corr_offset)
        radius *= _ratio(target["width"], got["width"])
        if i == _PROBE_PASS - 1:
            base = got
        elif i == _PROBE_PASS:  # what the probe gain did to each layer's width-energy correlation and width spread
            response = np.minimum(got["width_energy"] - base["width_energy"], -0.02) / _PROBE_GAIN
            width_per_logit = np.maximum(got["width_spread"] ** 2 - base["width_spread"] ** 2,
                                         0.01 * base["width_spread"] ** 2) / _PROBE_GAIN**2
            gain = np.clip((target["width_energy"] - base["width_energy"]) / response, 0.0, 1.0)
            noise = np.sqrt(np.clip((target["width_spread"] ** 2 - base["width_spread"] ** 2) / width_per_logit
                                    - gain**2, 0.0, _MAX_CORE_NOISE**2))
        elif i > _PROBE_PASS:
            assert response is not None and width_per_logit is not None
            gain = np.clip(gain + (target["width_energy"] - got["width_energy"]) / response, 0.0, 1.0)
            noise = np.sqrt(np.clip(noise**2 + (target["width_spread"] ** 2 - got["width_spread"] ** 2)
                                    / width_per_logit, 0.0, _MAX_CORE_NOISE**2))
    return replace(_with(p, scale, slope, jitter, gain / excess_sd, noise, radius, radius_slope, var, chol, spot_depth,
                         radius_depth),
                   cluster_share=share, halo_response=float(np.mean(settled)) if settled else halo)


def lateral_depth_power(n_layers: int, early_follow: bool = True) -> np.ndarray:
    """How far each layer's lateral shape follows the shower's own depth of maximum (`SimulatorParams.
    lateral_depth_power`): 1 up to _FOLLOW_DEPTH_UNTIL_LAYER, then linearly down to 0 at _FOLLOW_DEPTH_TO_LAYER;
    layers 0 to _EARLY_LAYERS_TO 0 unless ``early_follow``."""
    ramp = _FOLLOW_DEPTH_TO_LAYER - _FOLLOW_DEPTH_UNTIL_LAYER
    power = np.clip((_FOLLOW_DEPTH_TO_LAYER - np.arange(n_layers)) / ramp, 0.0, 1.0)
    if not early_follow:
        power[: _EARLY_LAYERS_TO + 1] = 0.0
    return power


def early_widths_follow_depth(f: EventFeatures) -> bool:
    """Whether the first layers' widths grow with the shower's depth at a given layer energy and primary energy,
    in the mean over layers 2 to _EARLY_LAYERS_TO: the slope of the log width (showers with two or more hit cells
    in the layer) on the longitudinal centroid, both standardized (Geant4 photons: -0.11, electrons: -0.16). Layers
    0-1 are left out: mostly halo. Taken over every shower, a layer's width of 0 (empty or one cell: how sparse the
    layer is, which the spots give) made Geant4's photons read +0.41 (session 31): their early layers followed the
    depth, and late photons there came out wider at a given layer energy, Geant4's narrower (docs/simulator.md,
    session 35)."""
    depth = (f.z_profile * np.arange(f.z_profile.shape[1])).sum(axis=1) / np.maximum(f.z_profile.sum(axis=1), 1e-30)
    u = np.log(f.ep / 100.0)
    betas = []
    for j in range(2, _EARLY_LAYERS_TO + 1):
        wide = f.layer_hits[:, j] >= 2
        if wide.sum() < 10:  # too few showers with a width there to read a slope
            continue
        width = np.log(0.5 * (f.layer_wx[wide, j] + f.layer_wy[wide, j]))
        log_e, d = np.log(f.z_profile[wide, j]), depth[wide]
        x = np.column_stack([np.ones_like(d), u[wide], standardise(log_e, log_e), standardise(d, d)])
        betas.append(np.linalg.lstsq(x, standardise(width, width), rcond=None)[0][3])
    return bool(betas) and float(np.mean(betas)) > 0.0


def _with(p: SimulatorParams, scale: np.ndarray, slope: np.ndarray, jitter: np.ndarray, gain: np.ndarray,
          noise: np.ndarray, radius: np.ndarray, radius_slope: np.ndarray, var: np.ndarray,
          chol: np.ndarray, spot_depth: np.ndarray, radius_depth: np.ndarray) -> SimulatorParams:
    def numbers(x: np.ndarray) -> tuple[float, ...]:
        return tuple(map(float, np.ravel(x)))

    return replace(p, spot_scale=numbers(scale), spot_scale_slope=numbers(slope), centroid_jitter_mm=numbers(jitter),
                   core_gain=numbers(gain), core_noise=numbers(noise), radius_scale=numbers(radius),
                   radius_scale_slope=numbers(radius_slope),
                   copula_var=numbers(var), copula_chol=numbers(chol),
                   spot_scale_depth=numbers(spot_depth) if spot_depth.any() else (),
                   radius_scale_depth=numbers(radius_depth) if radius_depth.any() else ())
