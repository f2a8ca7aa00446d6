"""A finished production read as one dataset: its shards in order, behind the ShowerSource interface; the
manifest that lists them is read here so that reading showers never needs the production machinery."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.data.threedgan import DEFAULT_CHUNK, ThreeDGANSource
from caloquant.errors import DataFormatError, InputValueError

__all__ = ["MANIFEST", "ProductionSource", "read_manifest"]

MANIFEST = "manifest.json"


def read_manifest(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputValueError(f"{path}: not valid JSON ({exc.msg}); remove it or overwrite the production") from None


class ProductionSource:
    layout = "production"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        manifest = read_manifest(self.path)
        if manifest is None or manifest.get("kind") != "production":
            raise DataFormatError(f"{self.path}: a directory without a production {MANIFEST}")
        if manifest.get("status") != "complete":
            missing = sum(1 for s in manifest.get("shards", []) if not s.get("sha256"))
            raise DataFormatError(f"{self.path}: production is {manifest.get('status')} ({missing} of "
                                  f"{manifest.get('n_shards')} shards not done); rerun `caloquant produce` first")
        self.manifest = manifest
        self.shards: list[ThreeDGANSource] = []
        for rec in manifest["shards"]:
            f = self.path / rec["file"]
            if not f.is_file():
                raise DataFormatError(f"{f}: listed in the manifest but missing")
            src = ThreeDGANSource(f)
            if src.n_showers != rec["count"]:
                raise DataFormatError(f"{f}: holds {src.n_showers} showers, the manifest says {rec['count']}")
            self.shards.append(src)
        self._offsets = np.cumsum([0, *(s.n_showers for s in self.shards)])
        self.n_showers = int(self._offsets[-1])

    def energies(self) -> np.ndarray:
        return np.concatenate([s.energies() for s in self.shards])

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        start, stop = max(0, start), min(stop, self.n_showers)
        parts = []
        for k, src in enumerate(self.shards):
            lo, hi = int(self._offsets[k]), int(self._offsets[k + 1])
            if hi > start and lo < stop:
                parts.append(src.read(max(start, lo) - lo, min(stop, hi) - lo))
        if not parts:
            return np.zeros((0, 25, 25, 25), np.float32), np.zeros(0, np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for src in self.shards:
            yield from src.iter_chunks(chunk_size)

    def describe(self) -> dict[str, Any]:
        p = self.manifest["params"]
        return {"layout": f"caloquant production: {len(self.shards)} 3DGAN HDF5 shards of {p['shard_size']}",
                "datasets": f"ECAL ({self.n_showers}, 25, 25, 25) GeV, energy",
                "model": p["model"], "seed": p["seed"]}
