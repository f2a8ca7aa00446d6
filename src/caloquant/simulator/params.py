"""Parameters of the reference shower simulator, stored as JSON inside the package."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from caloquant.errors import DataFormatError

__all__ = ["DEFAULT_PARAMS_FILE", "SimulatorParams", "load_params"]

DEFAULT_PARAMS_FILE = "fitted_params.json"


@dataclass(frozen=True)
class SimulatorParams:
    """GFlash-style parameters; energies in GeV, lengths in mm, depths in X0.

    Longitudinal (per event): (ln T, ln alpha) bivariate normal with means linear in u = ln(Ep / 100 GeV);
    T is the depth of the shower maximum, the profile a gamma distribution in depth. Silicon signal of
    layer l: Ep * kappa * response[l] * f(t_l) * s, s a per-event log-normal scale of width
    scale_sigma[0] + scale_sigma[1] * u (noise the profile does not describe).
    Lateral: core and tail radii R = exp(c0 + c1 tau + c2 u + c3 tau^2), tau = t_l / T, core fraction
    p = sigmoid(p0 + p1 tau + p2 u + p3 tau^2).
    Spots: the expected cell energy is split into Poisson-many spots of mean energy ``spot_gev`` whose
    energies are gamma distributed with shape ``spot_shape`` (Landau-like sampling fluctuations).
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
    spot_gev: float = 2.0e-4
    spot_shape: float = 1.5
    energy_range_gev: tuple[float, float] = (100.0, 500.0)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulatorParams:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise DataFormatError(f"unknown simulator parameters: {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    def save(self, path: str | os.PathLike[str]) -> None:
        from caloquant._atomic import write_json_atomic

        write_json_atomic(path, self.to_json())


def load_params(path: str | os.PathLike[str] | None = None) -> SimulatorParams:
    """Load fitted parameters: a given JSON file, or the ones shipped with caloquant."""
    try:
        if path is None:
            text = resources.files("caloquant.simulator").joinpath(DEFAULT_PARAMS_FILE).read_text()
            where = f"caloquant/simulator/{DEFAULT_PARAMS_FILE}"
        else:
            text = Path(path).read_text()
            where = str(path)
    except (OSError, FileNotFoundError) as exc:
        raise DataFormatError(f"{path or DEFAULT_PARAMS_FILE}: cannot read simulator parameters ({exc})") from None
    try:
        return SimulatorParams.from_json(json.loads(text))
    except (json.JSONDecodeError, TypeError) as exc:
        raise DataFormatError(f"{where}: not a valid simulator parameter file ({exc})") from None
