"""Open any supported shower file by looking at what it holds, not at its name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import h5py
import numpy as np

from caloquant.data.calochallenge import CaloChallengeSource
from caloquant.data.threedgan import ThreeDGANSource
from caloquant.errors import DataFormatError

__all__ = ["ShowerSource", "open_showers"]


class ShowerSource(Protocol):
    """What every reader offers: energies up front, showers streamed in chunks."""

    path: Path
    layout: str
    n_showers: int

    def energies(self) -> np.ndarray: ...

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]: ...

    def iter_chunks(self, chunk_size: int = ...) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def describe(self) -> dict[str, Any]: ...


def open_showers(path: str | os.PathLike[str]) -> ShowerSource:
    """Open a 3DGAN or CaloChallenge HDF5 file, or a `caloquant produce` folder as one dataset; raise
    DataFormatError with a one-line reason otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if path.is_dir():
        if (path / "manifest.json").is_file():
            from caloquant.data.production import ProductionSource

            return ProductionSource(path)
        raise DataFormatError(f"{path}: is a directory, expected an HDF5 shower file or a production folder")
    try:
        with h5py.File(path, "r") as fh:
            keys = set(fh.keys())
    except OSError:
        raise DataFormatError(f"{path}: not a readable HDF5 file") from None
    if "ECAL" in keys:
        source: ShowerSource = ThreeDGANSource(path)
    elif "showers" in keys:
        source = CaloChallengeSource(path)
    else:
        raise DataFormatError(
            f"{path}: neither 3DGAN ('ECAL', 'energy') nor CaloChallenge ('showers', 'incident_energies') "
            f"layout (keys: {', '.join(sorted(keys)) or 'none'})"
        )
    if source.n_showers == 0:
        raise DataFormatError(f"{path}: holds no showers")
    return source
