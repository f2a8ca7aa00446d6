"""What a production is: its parameters, its shards and their seeds, checksums, and the manifest.

A production depends on (seed S, shard size K) and the model, never on how many workers ran it: shard
i draws its random numbers by the generator contract from ``SeedSequence(S).spawn(n_shards)[i]`` and
runs with fixed threads and batch size. A shard is verified by the SHA-256 of its decoded float32
arrays (ECAL, then energy), which the worker also stores in the shard's attributes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.errors import InputValueError, require_positive

__all__ = ["MAX_SHARDS", "STAGING", "ProductionParams", "ShardHasher", "array_checksum",
           "shard_name", "shard_seed", "verify_shard"]

STAGING = ".staging"
MAX_SHARDS = 1_000_000  # one manifest entry each: about 200 MB of JSON at the limit


@dataclass(frozen=True)
class ProductionParams:
    """Everything the showers depend on; a rerun with other values is another production."""

    model: str
    model_sha256: str
    count: int
    energy: tuple[float, float]
    seed: int
    shard_size: int
    threads: int
    batch_size: int
    spec: str | None = None

    def __post_init__(self) -> None:
        require_positive(count=self.count, shard_size=self.shard_size, threads=self.threads,
                         batch_size=self.batch_size)
        if self.seed < 0:
            raise InputValueError(f"seed {self.seed}: must be a non-negative integer")
        if self.n_shards > MAX_SHARDS:
            raise InputValueError(f"count {self.count} / shard_size {self.shard_size}: {self.n_shards} shards; a "
                                  f"production plans at most {MAX_SHARDS} (its manifest lists every shard): raise "
                                  f"shard_size to at least {math.ceil(self.count / MAX_SHARDS)}")

    @property
    def n_shards(self) -> int:
        return math.ceil(self.count / self.shard_size)

    def shard_count(self, index: int) -> int:
        return min(self.shard_size, self.count - index * self.shard_size)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["energy"] = list(self.energy)
        return d


def shard_seed(seed: int, n_shards: int, index: int) -> np.random.SeedSequence:
    """The ``index``-th child of SeedSequence(seed), built directly: the same stream as
    ``SeedSequence(seed).spawn(n_shards)[index]`` (productions made that way resume identically) at constant
    cost, where spawning all children for every shard made planning quadratic in the shard count."""
    if not 0 <= index < n_shards:
        raise InputValueError(f"shard {index}: outside the production's {n_shards} shards")
    return np.random.SeedSequence(seed, spawn_key=(index,))


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.h5"


class ShardHasher:
    """SHA-256 of all ECAL float32 bytes, then all energy float32 bytes, fed batch by batch."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._energies: list[np.ndarray] = []

    def add(self, ecal: np.ndarray, energy: np.ndarray) -> None:
        self._h.update(np.ascontiguousarray(ecal, dtype=np.float32).tobytes())
        self._energies.append(np.asarray(energy, dtype=np.float32).reshape(-1))

    def hexdigest(self) -> str:
        h = self._h.copy()
        for e in self._energies:
            h.update(e.tobytes())
        return h.hexdigest()


def array_checksum(ecal: np.ndarray, energy: np.ndarray) -> str:
    hasher = ShardHasher()
    hasher.add(ecal, energy)
    return hasher.hexdigest()


def verify_shard(path: Path, expected_count: int, index: int, seed: int) -> str | None:
    """The shard's checksum if it is complete and intact (right shard, count, decoded arrays), else None."""
    import h5py

    hasher = ShardHasher()
    try:
        with h5py.File(path, "r") as fh:
            if int(fh.attrs.get("shard_index", -1)) != index or int(fh.attrs.get("production_seed", -1)) != seed:
                return None
            ecal, energy = fh["ECAL"], fh["energy"]
            if len(ecal) != expected_count or len(energy) != expected_count:
                return None
            for s in range(0, expected_count, 1024):
                hasher.add(ecal[s : s + 1024], energy[s : s + 1024])
            stored = str(fh.attrs.get("sha256_float32", ""))
    except (OSError, KeyError):
        return None
    digest = hasher.hexdigest()
    return digest if digest == stored else None
