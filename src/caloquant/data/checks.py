"""Value checks shared by every reader: bad showers must fail loudly, naming file and event."""

from __future__ import annotations

from typing import Any

import numpy as np

from caloquant.errors import DataFormatError

__all__ = ["check_energies", "check_showers", "require_numeric"]


def require_numeric(dataset: Any, *, where: str, key: str) -> Any:
    """Refuse a dataset that does not hold numbers (strings, compounds, references) before it is read:
    an 'energy' of strings crashed deep in numpy instead of naming the file and key."""
    kind = dataset.dtype.kind
    if kind not in "fiu":
        raise DataFormatError(f"{where}: {key!r} holds {dataset.dtype} values; expected numbers")
    return dataset


def check_energies(energy: np.ndarray, *, where: str, offset: int = 0) -> None:
    """Primary energies must be finite and positive."""
    bad = ~np.isfinite(energy) | (energy <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{where}: primary energy of event {offset + i} is {float(energy[i])} GeV; expected a finite positive value"
        )


def check_showers(ecal: np.ndarray, *, where: str, offset: int = 0) -> None:
    """Cell energies must be finite and not negative (tiny negative rounding noise is not accepted either)."""
    flat = ecal.reshape(len(ecal), -1)
    bad_event = ~np.isfinite(flat).all(axis=1) | (flat < 0).any(axis=1)
    if bad_event.any():
        i = int(np.flatnonzero(bad_event)[0])
        row = flat[i]
        what = "NaN or infinite" if not np.isfinite(row).all() else f"negative ({row.min():.3g} GeV)"
        raise DataFormatError(f"{where}: event {offset + i} has {what} cell energies")
