"""The trigger data set: Geant4 electrons and photons reduced to trigger features, with fixed disjoint
train/validation/test splits (stratified by particle) that every strategy and seed shares."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caloquant.edge.features import FEATURE_NAMES, trigger_features
from caloquant.errors import DataFormatError

__all__ = ["SPLITS", "TriggerData", "build_dataset", "load_dataset", "save_dataset"]

SPLITS = ("train", "validation", "test")
FRACTIONS = (0.6, 0.2, 0.2)


@dataclass
class TriggerData:
    x: np.ndarray  # (n, n_features) float32
    label: np.ndarray  # (n,) 1 = electron, 0 = photon
    energy: np.ndarray  # (n,) primary energy, GeV
    split: np.ndarray  # (n,) 0 train, 1 validation, 2 test

    def part(self, name: str) -> TriggerData:
        m = self.split == SPLITS.index(name)
        return TriggerData(self.x[m], self.label[m], self.energy[m], self.split[m])

    def __len__(self) -> int:
        return len(self.label)


def _read(path: Path, count: int | None) -> tuple[np.ndarray, np.ndarray]:
    from caloquant.data import open_showers

    src = open_showers(path)
    n = src.n_showers if count is None else min(count, src.n_showers)
    feats, energies = [], []
    for start in range(0, n, 500):
        ecal, ep = src.read(start, min(start + 500, n))
        feats.append(trigger_features(ecal))
        energies.append(ep)
    return np.concatenate(feats), np.concatenate(energies)


def build_dataset(electrons: str | os.PathLike[str], photons: str | os.PathLike[str], *,
                  per_class: int | None = 3000, seed: int = 2026) -> TriggerData:
    """Features of up to ``per_class`` showers of each particle (the first ones in each file)."""
    xs, labels, energies, splits = [], [], [], []
    for label, path in ((1, Path(electrons)), (0, Path(photons))):
        x, e = _read(path, per_class)
        order = np.random.default_rng([seed, label]).permutation(len(x))
        split = np.empty(len(x), np.int8)
        edges = np.cumsum([0, *(round(f * len(x)) for f in FRACTIONS[:-1]), len(x)])
        edges[-1] = len(x)
        for k in range(len(SPLITS)):
            split[order[edges[k] : edges[k + 1]]] = k
        xs.append(x)
        labels.append(np.full(len(x), label, np.int8))
        energies.append(e.astype(np.float32))
        splits.append(split)
    return TriggerData(np.concatenate(xs), np.concatenate(labels), np.concatenate(energies), np.concatenate(splits))


def save_dataset(path: str | os.PathLike[str], data: TriggerData, attrs: dict | None = None) -> None:
    import h5py

    from caloquant._atomic import atomic_path

    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as fh:
        fh.create_dataset("features", data=data.x, compression="gzip", track_times=False)
        fh.create_dataset("label", data=data.label, track_times=False)
        fh.create_dataset("energy", data=data.energy, track_times=False)
        fh.create_dataset("split", data=data.split, track_times=False)
        fh.attrs["feature_names"] = ",".join(FEATURE_NAMES)
        fh.attrs["label"] = "1 = electron, 0 = photon"
        fh.attrs["split"] = ",".join(SPLITS)
        for k, v in (attrs or {}).items():
            fh.attrs[k] = v


def load_dataset(path: str | os.PathLike[str]) -> TriggerData:
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as fh:
            names = str(fh.attrs.get("feature_names", "")).split(",")
            if names != list(FEATURE_NAMES):
                raise DataFormatError(f"{path}: not a trigger feature file of this caloquant version "
                                      "(feature names differ)")
            return TriggerData(fh["features"][:], fh["label"][:], fh["energy"][:], fh["split"][:])
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such file") from None
    except (OSError, KeyError) as exc:
        raise DataFormatError(f"{path}: not a trigger feature file ({exc.__class__.__name__})") from None
