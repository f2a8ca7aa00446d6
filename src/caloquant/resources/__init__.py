"""Data shipped with caloquant: the Geant4 check sample, trigger features, and model weights."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["geant4_check_sample", "trigger_features_file", "trigger_model_file"]


def geant4_check_sample() -> Path:
    """Path of the shipped Geant4 electron sample (800 showers, 100-500 GeV), disjoint from all fits."""
    return Path(str(resources.files("caloquant.resources").joinpath("geant4_electrons_check.h5")))


def trigger_features_file() -> Path:
    """Trigger features of 3 000 Geant4 electrons and 3 000 photons with their fixed splits
    (`caloquant trigger features`, see docs/edge.md)."""
    return Path(str(resources.files("caloquant.resources").joinpath("trigger_features.h5")))


def trigger_model_file() -> Path:
    """The trained float trigger MLP (`caloquant trigger train --seed 1`)."""
    return Path(str(resources.files("caloquant.resources").joinpath("trigger_mlp.safetensors")))
