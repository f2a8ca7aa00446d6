"""Data shipped with caloquant: the independent Geant4 check sample (and, later, model weights)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["geant4_check_sample"]


def geant4_check_sample() -> Path:
    """Path of the shipped Geant4 electron sample (800 showers, 100-500 GeV), disjoint from all fits."""
    return Path(str(resources.files("caloquant.resources").joinpath("geant4_electrons_check.h5")))
