"""The 3DGAN HDF5 layout: ``ECAL`` (N, 25, 25, 25) GeV depth last, ``energy`` (N,) GeV.

Older files store the primary energy in ``target[:, 1]``; the original CLIC data has 51 x 51 x 25 cells,
cropped here to 25 x 25 around the beam cell.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from caloquant._atomic import atomic_path
from caloquant.data.checks import check_energies, check_showers, require_numeric
from caloquant.errors import DataFormatError, OutputError
from caloquant.geometry import ECAL, CalorimeterGeometry

__all__ = ["ShowerWriter", "ThreeDGANSource", "write_3dgan"]

DEFAULT_CHUNK = 1024
_STORAGE_CHUNK = 16  # showers per HDF5 chunk: 1 MB uncompressed, good for streaming and random access


class ThreeDGANSource:
    """Streams showers from a 3DGAN-layout file without loading it whole."""

    layout = "3dgan"

    def __init__(self, path: str | os.PathLike[str], geometry: CalorimeterGeometry = ECAL) -> None:
        self.path = Path(path)
        self.geometry = geometry
        with h5py.File(self.path, "r") as fh:
            if "ECAL" not in fh:
                raise DataFormatError(f"{self.path}: no dataset 'ECAL' (keys: {', '.join(fh.keys()) or 'none'})")
            ds = require_numeric(fh["ECAL"], where=str(self.path), key="ECAL")
            if ds.ndim != 4:
                raise DataFormatError(f"{self.path}: 'ECAL' has shape {ds.shape}; expected (N, 25, 25, 25)")
            self.n_showers = int(ds.shape[0])
            self.stored_shape = tuple(int(s) for s in ds.shape[1:])
            self._crop = self._crop_for(self.stored_shape)
            if "energy" in fh:
                energy = np.asarray(require_numeric(fh["energy"], where=str(self.path), key="energy")[...],
                                    dtype=np.float64).reshape(-1)
                self.energy_key = "energy"
            elif "target" in fh:
                target = require_numeric(fh["target"], where=str(self.path), key="target")
                if target.ndim != 2 or target.shape[1] < 2:
                    raise DataFormatError(f"{self.path}: 'target' has shape {target.shape}; expected (N, >=2)")
                energy = np.asarray(target[:, 1], dtype=np.float64)
                self.energy_key = "target[:, 1]"
            else:
                raise DataFormatError(f"{self.path}: no primary-energy dataset 'energy' or 'target'")
            self.attrs: dict[str, Any] = {k: _plain(v) for k, v in fh.attrs.items()}
        if len(energy) != self.n_showers:
            raise DataFormatError(
                f"{self.path}: {self.energy_key} holds {len(energy)} values but ECAL holds {self.n_showers} showers"
            )
        check_energies(energy, where=str(self.path))
        self._energy = energy

    def _crop_for(self, shape: tuple[int, ...]) -> tuple[slice, slice] | None:
        g = self.geometry
        if shape == g.shape:
            return None
        if shape[2] == g.n_layers and shape[0] >= g.n_x and shape[1] >= g.n_y and shape[0] % 2 and shape[1] % 2:
            # Odd transverse size with the beam on the central cell: crop symmetrically around it.
            x0 = shape[0] // 2 - g.beam_cell[0]
            y0 = shape[1] // 2 - g.beam_cell[1]
            return slice(x0, x0 + g.n_x), slice(y0, y0 + g.n_y)
        raise DataFormatError(
            f"{self.path}: 'ECAL' showers have shape {shape}; expected {g.shape} or an odd-sized larger "
            f"transverse grid with {g.n_layers} layers (e.g. 51 x 51 x 25)"
        )

    def energies(self) -> np.ndarray:
        """Primary energies in GeV, float64, for all showers."""
        return self._energy.copy()

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Showers [start, stop) as float32 GeV (n, 25, 25, 25), with their primary energies."""
        start, stop = max(0, start), min(stop, self.n_showers)
        with h5py.File(self.path, "r") as fh:
            return self._load(fh["ECAL"], start, stop)

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (showers, energies) in order, ``chunk_size`` showers at a time."""
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        with h5py.File(self.path, "r") as fh:
            ds = fh["ECAL"]
            for start in range(0, self.n_showers, chunk_size):
                yield self._load(ds, start, min(start + chunk_size, self.n_showers))

    def _load(self, ds: h5py.Dataset, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        if self._crop is None:
            ecal = np.asarray(ds[start:stop], dtype=np.float32)
        else:
            sx, sy = self._crop
            ecal = np.asarray(ds[start:stop, sx, sy, :], dtype=np.float32)
        check_showers(ecal, where=str(self.path), offset=start)
        return ecal, self._energy[start:stop].astype(np.float32)

    def describe(self) -> dict[str, Any]:
        return {
            "layout": "3DGAN HDF5",
            "datasets": f"ECAL {(self.n_showers, *self.stored_shape)} GeV, {self.energy_key} GeV",
            "cropped_from": list(self.stored_shape) if self._crop is not None else None,
        }


class ShowerWriter:
    """Appends chunks of showers to a 3DGAN-layout file that appears only when complete.

    Use as a context manager: the file is written under a temporary name and renamed on a clean exit;
    an exception or Ctrl-C removes it, so no half-written file is ever left at ``path``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        attrs: dict[str, Any] | None = None,
        geometry: CalorimeterGeometry = ECAL,
        compression_level: int = 4,
        shuffle: bool = False,
    ) -> None:
        self.path = Path(path)
        self.geometry = geometry
        self.attrs = dict(attrs or {})
        self.compression_level = compression_level
        self.shuffle = shuffle  # byte shuffling makes sparse float32 showers larger, so off by default
        self.n_written = 0
        self._ctx: Any = None
        self._fh: h5py.File | None = None

    def __enter__(self) -> ShowerWriter:
        self._ctx = atomic_path(self.path, suffix=".h5")
        tmp = self._ctx.__enter__()
        try:
            self._fh = h5py.File(tmp, "w")
        except OSError as exc:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise OutputError(f"cannot write {self.path}: {exc}") from None
        g = self.geometry
        self._fh.create_dataset(
            "ECAL",
            shape=(0, *g.shape),
            maxshape=(None, *g.shape),
            dtype=np.float32,
            chunks=(_STORAGE_CHUNK, *g.shape),
            compression="gzip",
            compression_opts=self.compression_level,
            shuffle=self.shuffle,
            track_times=False,  # no timestamps: the same showers give the same file
        )
        self._fh.create_dataset("energy", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(4096,),
                                track_times=False)
        self._fh.attrs["axes"] = "ECAL[event, x, y, layer]"
        self._fh.attrs["units"] = "GeV"
        self._fh.attrs["geometry"] = g.summary_line()
        for key, value in self.attrs.items():
            self._fh.attrs[key] = value
        return self

    def append(self, ecal: np.ndarray, energy: np.ndarray) -> None:
        """Append showers (n, 25, 25, 25) GeV and their primary energies (n,) GeV."""
        if self._fh is None:
            raise RuntimeError("ShowerWriter.append called outside its 'with' block")
        ecal = np.asarray(ecal, dtype=np.float32)
        energy = np.asarray(energy, dtype=np.float32).reshape(-1)
        if ecal.shape[1:] != self.geometry.shape or len(ecal) != len(energy):
            raise ValueError(f"expected showers (n, {self.geometry.shape}) and n energies, got {ecal.shape}, "
                             f"{energy.shape}")
        n0, n = self.n_written, len(ecal)
        self._fh["ECAL"].resize(n0 + n, axis=0)
        self._fh["ECAL"][n0 : n0 + n] = ecal
        self._fh["energy"].resize(n0 + n, axis=0)
        self._fh["energy"][n0 : n0 + n] = energy
        self.n_written += n

    def set_attr(self, key: str, value: Any) -> None:
        """Add a file attribute known only at the end (a checksum of what was written)."""
        if self._fh is None:
            raise RuntimeError("ShowerWriter.set_attr called outside its 'with' block")
        self._fh.attrs[key] = value

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()
        self._ctx.__exit__(exc_type, exc, tb)


def write_3dgan(
    path: str | os.PathLike[str],
    ecal: np.ndarray,
    energy: np.ndarray,
    *,
    attrs: dict[str, Any] | None = None,
) -> None:
    """Write an in-memory set of showers in the 3DGAN layout (atomically)."""
    with ShowerWriter(path, attrs=attrs) as writer:
        for start in range(0, len(ecal), DEFAULT_CHUNK):
            writer.append(ecal[start : start + DEFAULT_CHUNK], energy[start : start + DEFAULT_CHUNK])


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
