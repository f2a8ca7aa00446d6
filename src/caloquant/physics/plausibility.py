"""Showers no calorimeter can produce: the visible energy of a sampling calorimeter is a small fraction of
the primary's (ours: about 2 %), never more than all of it. A generator that breaks this has wrong units
or a wrong output scale, and every number computed from its showers would be silently wrong."""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_VISIBLE_FRACTION", "ImplausibleShowersWarning", "implausible_energy"]

MAX_VISIBLE_FRACTION = 1.0  # energy is conserved: the cells cannot hold more than the primary energy


class ImplausibleShowersWarning(UserWarning):
    """Generated showers whose energy no calorimeter would record (wrong units or output scale)."""


def implausible_energy(ecal: np.ndarray, ep: np.ndarray) -> str | None:
    """A one-line reason when the median visible energy / Ep of a batch exceeds 1 (no lower bound: an
    untrained or collapsed generator may legitimately put out almost nothing, and `validate` says so)."""
    fraction = float(np.median(ecal.reshape(len(ecal), -1).sum(axis=1, dtype=np.float64) / ep))
    if fraction > MAX_VISIBLE_FRACTION:
        return (f"the showers hold {fraction:.3g} times their primary energy (median); a sampling calorimeter "
                "records about 2 %: check the model's output units and scale")
    return None
