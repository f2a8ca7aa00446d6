"""The CaloChallenge HDF5 layout: ``showers`` (N, n_voxels) MeV, ``incident_energies`` (N, 1) MeV.

caloquant writes its 25^3 showers flattened layer-major (index = layer * 625 + x * 25 + y) and records that
in the file attributes, so they read back exactly. The public challenge datasets use cylindrical voxels
described by a binning XML (``<Layer id= r_edges= n_bin_alpha=>``); for those we read far enough to sum
energy per layer, which is what comparisons across geometries need.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from caloquant.data.checks import check_energies, check_showers, require_numeric
from caloquant.data.threedgan import DEFAULT_CHUNK, _plain
from caloquant.errors import DataFormatError, OutputError
from caloquant.geometry import ECAL, CalorimeterGeometry

__all__ = ["LAYOUT_TAG", "CaloChallengeBinning", "CaloChallengeSource", "write_calochallenge"]

LAYOUT_TAG = "caloquant 25x25x25 layer-major (index = layer*625 + x*25 + y)"
_MEV_PER_GEV = 1000.0


@dataclass(frozen=True)
class CaloChallengeBinning:
    """Voxels per layer from a CaloChallenge binning XML (one particle's block)."""

    particle: str
    voxels_per_layer: tuple[int, ...]

    @property
    def n_voxels(self) -> int:
        return sum(self.voxels_per_layer)

    @property
    def layer_edges(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.voxels_per_layer)])

    @classmethod
    def from_xml(cls, path: str | os.PathLike[str], particle: str | None = None) -> CaloChallengeBinning:
        path = Path(path)
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise DataFormatError(f"{path}: cannot read binning XML ({exc})") from None
        blocks = [p for p in root if p.tag == "Particle"]
        if particle is not None:
            blocks = [p for p in blocks if p.attrib.get("name") == particle]
        if not blocks:
            raise DataFormatError(f"{path}: no <Particle> block" + (f" named {particle!r}" if particle else ""))
        block = blocks[0]
        counts = []
        for layer in block:
            if layer.tag != "Layer":
                continue
            try:
                r_edges = [float(v) for v in layer.attrib["r_edges"].split(",") if v.strip()]
                n_alpha = int(layer.attrib.get("n_bin_alpha", "1"))
            except (KeyError, ValueError):
                raise DataFormatError(
                    f"{path}: layer {layer.attrib.get('id', '?')} lacks valid r_edges / n_bin_alpha"
                ) from None
            counts.append(max(len(r_edges) - 1, 0) * n_alpha)
        if not counts:
            raise DataFormatError(f"{path}: particle block has no <Layer> entries")
        return cls(particle=block.attrib.get("name", "?"), voxels_per_layer=tuple(counts))


class CaloChallengeSource:
    """Streams a CaloChallenge-layout file; 25^3 showers when the file is ours, layer sums otherwise."""

    layout = "calochallenge"

    def __init__(self, path: str | os.PathLike[str], geometry: CalorimeterGeometry = ECAL) -> None:
        self.path = Path(path)
        self.geometry = geometry
        with h5py.File(self.path, "r") as fh:
            for key in ("showers", "incident_energies"):
                if key not in fh:
                    raise DataFormatError(f"{self.path}: no dataset {key!r} (keys: {', '.join(fh.keys())})")
            ds = require_numeric(fh["showers"], where=str(self.path), key="showers")
            if ds.ndim != 2:
                raise DataFormatError(f"{self.path}: 'showers' has shape {ds.shape}; expected (N, n_voxels)")
            self.n_showers, self.n_voxels = (int(s) for s in ds.shape)
            incident = require_numeric(fh["incident_energies"], where=str(self.path), key="incident_energies")
            energy = np.asarray(incident[...], dtype=np.float64).reshape(-1) / _MEV_PER_GEV
            self.attrs: dict[str, Any] = {k: _plain(v) for k, v in fh.attrs.items()}
        if len(energy) != self.n_showers:
            raise DataFormatError(
                f"{self.path}: incident_energies holds {len(energy)} values but showers holds {self.n_showers}"
            )
        check_energies(energy, where=str(self.path))
        self._energy = energy
        self.is_caloquant_layout = self.attrs.get("layout") == LAYOUT_TAG
        if self.is_caloquant_layout and self.n_voxels != geometry.n_cells:
            raise DataFormatError(
                f"{self.path}: layout says 25^3 but 'showers' has {self.n_voxels} voxels per event"
            )

    def energies(self) -> np.ndarray:
        return self._energy.copy()

    def _require_grid(self) -> None:
        if not self.is_caloquant_layout:
            raise DataFormatError(
                f"{self.path}: CaloChallenge file with {self.n_voxels} cylindrical voxels is not in the "
                f"25x25x25 geometry; only per-layer sums are available (give its binning XML)"
            )

    def _to_grid(self, flat_mev: np.ndarray) -> np.ndarray:
        g = self.geometry
        grid = flat_mev.reshape(len(flat_mev), g.n_layers, g.n_x, g.n_y) / np.float32(_MEV_PER_GEV)
        return np.ascontiguousarray(grid.transpose(0, 2, 3, 1), dtype=np.float32)

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        self._require_grid()
        start, stop = max(0, start), min(stop, self.n_showers)
        with h5py.File(self.path, "r") as fh:
            ecal = self._to_grid(np.asarray(fh["showers"][start:stop], dtype=np.float32))
        check_showers(ecal, where=str(self.path), offset=start)
        return ecal, self._energy[start:stop].astype(np.float32)

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self._require_grid()
        for start in range(0, self.n_showers, chunk_size):
            yield self.read(start, start + chunk_size)

    def iter_layer_energies(
        self, binning: CaloChallengeBinning | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (energy per layer in GeV (n, n_layers), primary energies in GeV) chunk by chunk."""
        if binning is None:
            if not self.is_caloquant_layout:
                raise DataFormatError(f"{self.path}: a binning XML is needed to split voxels into layers")
            g = self.geometry
            binning = CaloChallengeBinning("caloquant", (g.n_x * g.n_y,) * g.n_layers)
        if binning.n_voxels != self.n_voxels:
            raise DataFormatError(
                f"{self.path}: binning ({binning.particle}) describes {binning.n_voxels} voxels but the file "
                f"has {self.n_voxels}"
            )
        edges = binning.layer_edges
        with h5py.File(self.path, "r") as fh:
            ds = fh["showers"]
            for start in range(0, self.n_showers, chunk_size):
                stop = min(start + chunk_size, self.n_showers)
                flat = np.asarray(ds[start:stop], dtype=np.float64)
                check_showers(flat, where=str(self.path), offset=start)
                sums = np.add.reduceat(flat, edges[:-1], axis=1) if len(edges) > 1 else flat[:, :0]
                sums[:, np.asarray(binning.voxels_per_layer) == 0] = 0.0  # reduceat repeats for empty layers
                yield sums / _MEV_PER_GEV, self._energy[start:stop]

    def describe(self) -> dict[str, Any]:
        return {
            "layout": "CaloChallenge HDF5",
            "datasets": f"showers ({self.n_showers}, {self.n_voxels}) MeV, incident_energies MeV",
            "voxel_order": self.attrs.get("layout", "cylindrical (see the dataset's binning XML)"),
        }


def write_calochallenge(
    path: str | os.PathLike[str],
    chunks: Iterator[tuple[np.ndarray, np.ndarray]],
    *,
    attrs: dict[str, Any] | None = None,
    geometry: CalorimeterGeometry = ECAL,
) -> int:
    """Write (showers GeV (n, 25, 25, 25), energies GeV) chunks as a CaloChallenge file; returns the count."""
    from caloquant._atomic import atomic_path

    n = 0
    with atomic_path(path, suffix=".h5") as tmp:
        try:
            fh = h5py.File(tmp, "w")
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc}") from None
        with fh:
            showers = fh.create_dataset(
                "showers", shape=(0, geometry.n_cells), maxshape=(None, geometry.n_cells), dtype=np.float32,
                chunks=(16, geometry.n_cells), compression="gzip", compression_opts=4,
            )
            inc = fh.create_dataset("incident_energies", shape=(0, 1), maxshape=(None, 1), dtype=np.float32)
            fh.attrs["layout"] = LAYOUT_TAG
            fh.attrs["units"] = "MeV"
            for key, value in (attrs or {}).items():
                fh.attrs[key] = value
            for ecal, energy in chunks:
                m = len(ecal)
                flat = np.asarray(ecal, dtype=np.float32).transpose(0, 3, 1, 2).reshape(m, -1)
                showers.resize(n + m, axis=0)
                showers[n : n + m] = flat * np.float32(_MEV_PER_GEV)
                inc.resize(n + m, axis=0)
                inc[n : n + m, 0] = np.asarray(energy, dtype=np.float32) * np.float32(_MEV_PER_GEV)
                n += m
    return n
