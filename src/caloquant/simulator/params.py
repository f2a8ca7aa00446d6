"""Parameters of the reference shower simulator, stored as JSON inside the package."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from caloquant.errors import DataFormatError, InputValueError
from caloquant.geometry import ECAL

__all__ = ["DEFAULT_PARAMS_FILE", "SimulatorParams", "load_params"]

DEFAULT_PARAMS_FILE = "fitted_params.json"
PARTICLES = ("e-", "gamma")
SHIPPED_PARAMS = {"e-": DEFAULT_PARAMS_FILE, "gamma": "fitted_params_gamma.json"}
LATERAL_PROFILES = ("core_radius", "tail_radius", "core_fraction", "halo_radius", "halo_fraction")
MAX_PROFILE_EXPONENT = 30.0
COPULA_SCORES = 2  # the copula's profile scores: the longitudinal centroid and width (normal scores)
# Centroid scores where the copula's curves in the centroid score bend (`model.copula_design`): every half
# standard deviation, one further at the late end, where a photon that converts deep moves its first layers' shares
# steeply; chosen from knots 0.5, 0.75-0.5 or 1 apart by the held-out classifier (docs/simulator.md, session 35)
COPULA_CENTROID_KNOTS = tuple(-2.5 + 0.5 * i for i in range(12))
COPULA_TERMS = 3 + len(COPULA_CENTROID_KNOTS) - 1 + 5  # columns of model.copula_design: 1, u, u^2, the scores' curves
CUBIC_COPULA_TERMS = 11  # the same with cubic curves in the centroid score: files fitted before session 35
LATERAL_VERSIONS = (1, 2)  # `SimulatorParams.lateral_version`: what fit-sim writes is the last
COPULA_GRID = tuple(-3.5 + 7.0 * i / 100 for i in range(101))  # normal scores of the copula's marginal quantiles
COPULA_SPREAD_KNOTS = (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5)  # centroid scores where `copula_spread` is given


def _pairs(values: tuple[float, ...], row: int) -> list[tuple[float, float]]:
    """Neighbouring values within each row of ``row`` numbers."""
    return [(values[i], values[i + 1]) for i in range(len(values) - 1) if (i + 1) % row]


@dataclass(frozen=True)
class SimulatorParams:
    """GFlash-style parameters; energies in GeV, lengths in mm, depths in X0.

    Longitudinal (per event): (ln T, ln alpha) bivariate normal with means linear in u = ln(Ep / 100 GeV);
    T is the depth of the shower maximum, the profile a gamma distribution in depth. Silicon signal of
    layer l: Ep * kappa * response[l] * f(t_l) * s, s a per-event log-normal scale of width
    scale_sigma[0] + scale_sigma[1] * u (noise the profile does not describe).
    Lateral: core and tail radii R = exp(c0 + c1 tau + c2 u + c3 tau^2), tau = t_l / T, core fraction
    p = sigmoid(p0 + p1 tau + p2 u + p3 tau^2).
    Layer noise: each layer's energy also varies on its own, log-normal of width
    max(c0 + c1 tau + c2 tau^2, 0) (``layer_sigma``), correlated from layer to layer as an AR(1) series
    of coefficient ``layer_rho``: the two profile parameters alone tie the layers together more rigidly
    than Geant4 does, independent noise more loosely (docs/simulator.md). Zero width: off.
    Halo: a third, wide profile of radius exp(poly) holding the fraction sigmoid(poly) of each layer's
    energy (same polynomial in tau and u): the soft particles Geant4 spreads far from the axis in the first
    layers. Its defaults hold no energy, so a parameter file fitted before the halo existed draws the same
    showers.
    Spots: the expected cell energy is split into Poisson-many spots of mean energy ``spot_gev`` whose
    energies are gamma distributed with shape ``spot_shape`` (Landau-like sampling fluctuations); with
    ``spot_fraction`` below 1, the rest of the energy goes into a second kind (``soft_spot_gev``,
    ``soft_spot_shape``): one gamma shape cannot give Geant4's cell-energy spectrum, the MIP peak near
    1e-4 GeV with its tail (docs/simulator.md).
    Per-event fluctuations fitted on Geant4's own (all empty, i.e. off, in older files):
    ``copula_*`` replace the gamma profile's draw by a Gaussian copula: two profile scores (the longitudinal
    centroid and width) and the residuals of the 25 log layer shares and the log sampling fraction around
    curves in u and the scores (`model.copula_design`; variances linear in u), with Geant4's correlation
    of normal scores and its standardized marginals as quantiles on COPULA_GRID, each log share kept within
    the lowest and highest Geant4 showed in the fit (``copula_bounds``, pairs; the standardized tails times a
    layer's spread otherwise reached 30x Geant4's largest layer-3 share of a photon): two profile parameters tie
    the layers too rigidly, independent noise too loosely, and the sampling fraction then varies 1.6x
    Geant4's; a layer's share curves with the shower's depth, which a copula alone draws as a straight line.
    ``copula_spread`` (per log share and the sampling fraction, at the centroid scores COPULA_SPREAD_KNOTS,
    piecewise linear between, constant beyond) multiplies each residual's variance by the shower's depth: a
    photon's layer-4 share varies 0.3 in log in the earliest sixth of showers and 1.4 in the latest, and drawn
    with one spread the early showers' first layers came out twice as variable as Geant4's. Empty: one spread.
    ``spot_scale`` multiplies the spot sizes per layer (Geant4's hits per GeV differ by layer: the first and
    last layers by 10-20 %), times exp(``spot_scale_slope`` u) per layer (a layer's hits per GeV also change with
    the primary energy: layers 2-4 of 100-200 GeV electrons had 8-11 % too few hits, of 400-500 GeV 4 % too
    many), ``centroid_jitter_mm`` shifts each layer's map on its own (Geant4's layer
    centroids vary 1.5x the smooth map's, uncorrelated from layer to layer), ``core_gain`` puts a layer's
    excess energy into its core (in Geant4 a layer with more energy is narrower; logit per unit of log
    excess over the typical profile), ``core_noise`` moves each layer's core share on its own (Geant4's
    layer widths vary 1.25x the smooth profile's), ``radius_scale`` stretches each layer's core and tail
    (the mean energy-weighted width per layer, which the mean map's containments leave up to 10 % off),
    times exp(``radius_scale_slope`` u) per layer (the widths' trend with the primary energy, which the mean
    maps' fit in energy bins left too steep: layer 24 of Geant4 electrons narrows 6 % from 100 to 500 GeV,
    the simulator's narrowed 16 %, and a layer's width then tracked the energy, not the shower),
    ``spot_scale_depth`` and ``radius_scale_depth`` multiply a layer's spot sizes and radii by exp(c g) per layer, g
    the shower's longitudinal-centroid normal score (the copula's first; positive: a late shower): at the same layer
    energy, Geant4's late electron showers have fewer hit cells in layers 0-5 (-0.05..-0.10 in log per unit of
    score) and narrower layers 1-5 (-0.04..-0.07), which spots of one size per layer and a shape that ignores the
    depth there drew as -0.002..-0.026 and +0.09..-0.01: the hit counts then varied together too little from layer
    to layer and followed the other layers' energies too weakly (the largest parts of the held-out KPD;
    `scripts/diagnose_simulator.py`). Empty: none.
    ``lateral_depth_power`` sets how far each layer's lateral shape follows the shower's own depth of maximum:
    its tau is t / (T(u) (T / T(u))^k), k = 1 (the default) the profile's tau. In Geant4 a late shower's
    layers before and around its maximum have fewer hit cells at a given layer energy, as tau says, but its
    last layers have as many or more: their spread follows the depth in the calorimeter, not the shower's.
    ``halo_response`` sets how far a layer's halo ignores the layer's own fluctuation: with a copula, the halo
    fraction is multiplied by exp(-h x), x the layer's log excess over the typical profile; 0 (older files) keeps
    the halo a fixed share of the layer, 1 a fixed energy. In Geant4 a first layer with more energy than usual
    is narrower (the extra energy sits near the axis) and has barely more hit cells.
    ``lateral_version`` 2 (fits since session 36; 1, older files, draw as they did): with a copula, each layer's
    map holds exactly the copula's layer energy inside the grid (Geant4's layer energy is what the grid holds;
    version 1 lost what the halo spread beyond it, 8 % of an electron's layer 0 and 4 % of layer 1), and the
    halo's radius takes the layer's ``radius_scale`` like the core's and tail's (in the first layers, half the
    energy is halo, where the scale alone could not bring the widths to Geant4's).
    ``cluster_share``: a spot far from the axis brings, with this chance, a second spot into a random one of its
    four neighbouring cells (the expected spot count there is lowered by the same factor, so energy and hit
    count stay); the chance rises linearly from 0 at ``cluster_radii_cells[0]`` cells from the beam to its full
    value at ``cluster_radii_cells[1]``. A soft photon or electron that leaves the core deposits in a few
    neighbouring cells: a third of Geant4's hits beyond 7 cells have a hit neighbour, of independent spots a
    tenth, and the few clusters made the layer widths and centroids vary 10-20 % more than independent
    spots did. 0 (older files): every spot on its own.
    """

    lnT: tuple[float, float] = (2.15, 0.30)
    ln_alpha: tuple[float, float] = (1.60, 0.06)
    sigma_lnT: float = 0.12
    sigma_ln_alpha: float = 0.15
    rho: float = 0.7
    kappa: float = 0.033
    scale_sigma: tuple[float, float] = (0.03, 0.0)
    response: tuple[float, ...] = field(default_factory=lambda: (1.0,) * 25)
    core_radius: tuple[float, float, float, float] = (0.3, 1.0, 0.0, 0.0)
    tail_radius: tuple[float, float, float, float] = (2.0, 0.8, 0.0, 0.0)
    core_fraction: tuple[float, float, float, float] = (2.0, -1.5, 0.0, 0.0)
    halo_radius: tuple[float, float, float, float] = (3.5, 0.0, 0.0, 0.0)
    halo_fraction: tuple[float, float, float, float] = (-25.0, 0.0, 0.0, 0.0)
    layer_sigma: tuple[float, float, float] = (0.0, 0.0, 0.0)
    layer_rho: float = 0.0
    spot_gev: float = 2.0e-4
    spot_shape: float = 1.5
    spot_fraction: float = 1.0
    soft_spot_gev: float = 1.0e-4
    soft_spot_shape: float = 1.0
    copula_mean: tuple[float, ...] = ()
    copula_var: tuple[float, ...] = ()
    copula_chol: tuple[float, ...] = ()
    copula_quantiles: tuple[float, ...] = ()
    copula_bounds: tuple[float, ...] = ()
    copula_spread: tuple[float, ...] = ()
    spot_scale: tuple[float, ...] = ()
    spot_scale_slope: tuple[float, ...] = ()
    centroid_jitter_mm: tuple[float, ...] = ()
    core_gain: tuple[float, ...] = ()
    core_noise: tuple[float, ...] = ()
    radius_scale: tuple[float, ...] = ()
    radius_scale_slope: tuple[float, ...] = ()
    spot_scale_depth: tuple[float, ...] = ()
    radius_scale_depth: tuple[float, ...] = ()
    lateral_depth_power: tuple[float, ...] = ()
    halo_response: float = 0.0
    lateral_version: int = 1
    cluster_share: float = 0.0
    cluster_radii_cells: tuple[float, float] = (2.0, 6.0)
    energy_range_gev: tuple[float, float] = (100.0, 500.0)
    particle: str = "e-"
    geometry: str = field(default_factory=ECAL.summary_line)  # the calorimeter the fit saw
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def layer_noise(self) -> bool:
        return any(c != 0.0 for c in self.layer_sigma)

    @property
    def copula(self) -> bool:
        return bool(self.copula_mean)

    def gev_per_spot(self) -> float:
        """The mean energy of a spot, both kinds together (before the per-layer scale)."""
        return 1.0 / (self.spot_fraction / self.spot_gev + (1.0 - self.spot_fraction) / self.soft_spot_gev)

    def spot_variance_per_gev(self) -> float:
        """Variance of a cell's summed spot energy per GeV of its expected energy (compound Poisson:
        fraction x mean spot x (1 + 1 / shape), summed over the two kinds)."""
        soft = 1.0 - self.spot_fraction
        return (self.spot_fraction * self.spot_gev * (1 + 1 / self.spot_shape)
                + soft * self.soft_spot_gev * (1 + 1 / self.soft_spot_shape))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulatorParams:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise DataFormatError(f"unknown simulator parameters: {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        params = cls(**kwargs)
        params.check()
        return params

    def check(self) -> None:
        """Refuse values the simulator cannot turn into showers (a NaN, a wrong count of layers, a sampling
        fraction above one, a correlation of 1), naming the parameter; what passes here and still gives
        non-finite showers is caught on the showers themselves (`ShowerSimulator`)."""
        lengths = {"lnT": 2, "ln_alpha": 2, "scale_sigma": 2, "response": ECAL.n_layers,
                   "core_radius": 4, "tail_radius": 4, "core_fraction": 4, "halo_radius": 4, "halo_fraction": 4,
                   "layer_sigma": 3, "cluster_radii_cells": 2, "energy_range_gev": 2}
        n_dim = ECAL.n_layers + 1
        n_copula = n_dim + COPULA_SCORES
        optional = {"copula_mean": (COPULA_TERMS * n_dim, CUBIC_COPULA_TERMS * n_dim), "copula_var": (2 * n_dim,),
                    "copula_chol": (n_copula**2,), "copula_quantiles": (n_copula * len(COPULA_GRID),),
                    "copula_bounds": (2 * n_dim,), "copula_spread": (n_dim * len(COPULA_SPREAD_KNOTS),),
                    **dict.fromkeys(("spot_scale", "spot_scale_slope", "centroid_jitter_mm", "core_gain", "core_noise",
                                     "radius_scale", "radius_scale_slope", "spot_scale_depth", "radius_scale_depth",
                                     "lateral_depth_power"), (ECAL.n_layers,))}
        for name, counts in optional.items():
            if len(getattr(self, name)) not in (0, *counts):
                raise DataFormatError(f"{name}: expected {' or '.join(map(str, counts))} numbers or none, got "
                                      f"{len(getattr(self, name))}")
        if self.copula and not all(len(getattr(self, n)) for n in ("copula_var", "copula_chol", "copula_quantiles")):
            raise DataFormatError("copula_mean given without copula_var, copula_chol and copula_quantiles")
        if not self.copula and (self.spot_scale_depth or self.radius_scale_depth):
            raise DataFormatError("spot_scale_depth and radius_scale_depth follow the copula's depth score: given "
                                  "without copula_mean")
        if self.particle not in PARTICLES:
            raise DataFormatError(f"particle {self.particle!r}: expected {' or '.join(PARTICLES)}")
        if self.geometry != ECAL.summary_line():
            raise DataFormatError(f"geometry {self.geometry!r}: fitted for another calorimeter; this one is "
                                  f"{ECAL.summary_line()!r}")
        for name in self.__dataclass_fields__:
            if name in ("provenance", "particle", "geometry"):
                continue
            value = getattr(self, name)
            values = value if isinstance(value, tuple) else (value,)
            if name in lengths and (not isinstance(value, tuple) or len(values) != lengths[name]):
                raise DataFormatError(f"{name}: expected {lengths[name]} numbers, got {value!r}")
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise DataFormatError(f"{name} {v!r}: not a finite number")
        bounds = (("kappa", 0.0 < self.kappa <= 1.0, "a sampling fraction in (0, 1]"),
                  ("spot_gev", self.spot_gev > 0, "positive"), ("spot_shape", self.spot_shape > 0, "positive"),
                  ("soft_spot_gev", self.soft_spot_gev > 0, "positive"),
                  ("soft_spot_shape", self.soft_spot_shape > 0, "positive"),
                  ("spot_fraction", 0 <= self.spot_fraction <= 1, "a fraction in [0, 1]"),
                  ("sigma_lnT", self.sigma_lnT >= 0, "zero or positive"),
                  ("sigma_ln_alpha", self.sigma_ln_alpha >= 0, "zero or positive"),
                  ("rho", -1 < self.rho < 1, "a correlation in (-1, 1)"),
                  ("layer_rho", -1 < self.layer_rho < 1, "a correlation in (-1, 1)"),
                  ("response", min(self.response) >= 0 < max(self.response), "zero or positive, not all zero"),
                  ("spot_scale", min(self.spot_scale, default=1.0) > 0, "positive"),
                  ("centroid_jitter_mm", min(self.centroid_jitter_mm, default=0.0) >= 0, "zero or positive"),
                  ("core_noise", min(self.core_noise, default=0.0) >= 0, "zero or positive"),
                  ("radius_scale", min(self.radius_scale, default=1.0) > 0, "positive"),
                  ("halo_response", 0 <= self.halo_response <= 1, "a value in [0, 1]"),
                  ("lateral_version", self.lateral_version in LATERAL_VERSIONS,
                   " or ".join(map(str, LATERAL_VERSIONS))),
                  ("cluster_share", 0 <= self.cluster_share <= 1, "a chance in [0, 1]"),
                  ("cluster_radii_cells", 0 <= self.cluster_radii_cells[0] < self.cluster_radii_cells[1],
                   "0 <= inner < outer"),
                  ("copula_spread", min(self.copula_spread, default=1.0) > 0, "positive"),
                  ("copula_quantiles", all(b >= a for a, b in _pairs(self.copula_quantiles, len(COPULA_GRID))),
                   "quantiles increasing along COPULA_GRID"),
                  ("copula_bounds", all(b >= a for a, b in zip(self.copula_bounds[::2], self.copula_bounds[1::2],
                                                                strict=True)), "(lowest, highest) pairs"),
                  ("energy_range_gev", 0 < self.energy_range_gev[0] < self.energy_range_gev[1], "0 < LO < HI"))
        for name, ok, expected in bounds:
            if not ok:
                raise DataFormatError(f"{name} {getattr(self, name)!r}: expected {expected}")
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Finite numbers can still describe no shower: a maximum outside the calorimeter, or radii whose
        exponent overflows (the simulator then clamps them and writes empty or flat images without a word)."""
        depth = ECAL.total_x0()
        u = [math.log(e / 100.0) for e in self.energy_range_gev]
        t_max = [math.exp(min(self.lnT[0] + self.lnT[1] * x, 700.0)) for x in u]
        for e, t in zip(self.energy_range_gev, t_max, strict=True):
            if not 0.1 < t < depth:
                raise DataFormatError(f"lnT {self.lnT!r}: the shower maximum at {e:g} GeV lies at {t:.3g} X0; the "
                                      f"calorimeter is {depth:.1f} X0 deep")
        for name, worst in self.profile_exponents().items():
            if worst > MAX_PROFILE_EXPONENT:  # exp(30) mm is 1e13 mm; a logistic of 30 is 1 to 13 digits
                raise DataFormatError(f"{name} {getattr(self, name)!r}: the exponent reaches {worst:.3g} inside "
                                      f"the calorimeter (at most {MAX_PROFILE_EXPONENT:g}: beyond, the profile is no "
                                      "longer a shower)")

    def deepest_tau(self) -> float:
        """The largest relative depth tau = t / T the calorimeter holds: its last silicon over the shallowest
        mean shower maximum in the energy range."""
        u = [math.log(e / 100.0) for e in self.energy_range_gev]
        t_max = [math.exp(min(self.lnT[0] + self.lnT[1] * x, 700.0)) for x in u]
        return float(ECAL.silicon_depth_x0()[-1]) / min(t_max)

    def profile_exponents(self) -> dict[str, float]:
        """Largest |polynomial| of each lateral profile over the depths and energies the calorimeter sees
        (the fit keeps them below MAX_PROFILE_EXPONENT, the check refuses files beyond it)."""
        u = [math.log(e / 100.0) for e in self.energy_range_gev]
        taus = [self.deepest_tau() * i / 20 for i in range(21)]
        return {name: max(abs(c[0] + c[1] * tau + c[2] * x + c[3] * tau**2) for tau in taus for x in u)
                for name in LATERAL_PROFILES for c in (getattr(self, name),)}

    def save(self, path: str | os.PathLike[str]) -> None:
        from caloquant._atomic import write_json_atomic

        write_json_atomic(path, self.to_json())


def check_particle(particle: str) -> None:
    """Refuse a particle the simulator has no model for, naming the choices."""
    if particle not in PARTICLES:
        raise InputValueError(f"particle {particle!r}: expected {' or '.join(PARTICLES)}")


def load_params(path: str | os.PathLike[str] | None = None, particle: str = "e-") -> SimulatorParams:
    """Load fitted parameters for ``particle``: a given JSON file (refused if fitted for another particle or
    calorimeter), or the ones shipped with caloquant."""
    check_particle(particle)
    params = _read_params(path, SHIPPED_PARAMS[particle])
    if params.particle != particle:
        raise DataFormatError(f"{path}: fitted for {params.particle}, not {particle}")
    return params


def _read_params(path: str | os.PathLike[str] | None, shipped: str) -> SimulatorParams:
    try:
        if path is None:
            text = resources.files("caloquant.simulator").joinpath(shipped).read_text()
            where = f"caloquant/simulator/{shipped}"
        else:
            text = Path(path).read_text()
            where = str(path)
    except (OSError, FileNotFoundError) as exc:
        raise DataFormatError(f"{path or shipped}: cannot read simulator parameters ({exc})") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not a simulator parameter file (not UTF-8 text)") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise DataFormatError(f"{where}: expected a JSON object of simulator parameters, got "
                                  f"{type(data).__name__}")
        return SimulatorParams.from_json(data)
    except (json.JSONDecodeError, TypeError) as exc:
        raise DataFormatError(f"{where}: not a valid simulator parameter file ({exc})") from None
    except DataFormatError as exc:
        raise DataFormatError(f"{where}: {exc}" if not str(exc).startswith(where) else str(exc)) from None
