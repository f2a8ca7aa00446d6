"""A GFlash-style parametric shower simulator fitted to Geant4: reference showers with no download."""

from __future__ import annotations

from caloquant.errors import InputValueError
from caloquant.simulator.model import CHUNK, ShowerSimulator, draw_energies
from caloquant.simulator.params import SimulatorParams, load_params

__all__ = [
    "CHUNK",
    "ShowerSimulator",
    "SimulatorParams",
    "check_energy_range",
    "default_simulator",
    "draw_energies",
    "load_params",
]


def default_simulator() -> ShowerSimulator:
    """The simulator with the parameters shipped in the package."""
    return ShowerSimulator(load_params())


def check_energy_range(lo: float, hi: float, params: SimulatorParams, option: str = "energy") -> None:
    """Refuse energies the simulator was not fitted for: extrapolated showers would be silently wrong."""
    flo, fhi = params.energy_range_gev
    if lo < flo or hi > fhi:
        raise InputValueError(
            f"{option} {lo:g}:{hi:g} GeV is outside the range the simulator was fitted for ({flo:g}:{fhi:g} GeV)"
        )
