"""Where training showers come from: the simulator on the fly, or an HDF5 file; both seeded per step.

Every batch is a pure function of (seed, step), so a resumed run sees exactly the batches an
uninterrupted one would have seen, without saving any random-generator state.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["BatchSource", "FileBatches", "SimulatorBatches", "step_rng"]


def step_rng(seed: int, stream: int, step: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, step)))


class BatchSource(Protocol):
    energy_range: tuple[float, float]

    def batch(self, step: int, size: int) -> tuple[np.ndarray, np.ndarray]: ...

    def describe(self) -> str: ...


class SimulatorBatches:
    """Fresh simulator showers for every step: unlimited data, never repeated."""

    def __init__(self, seed: int, energy: tuple[float, float] = (100.0, 500.0)) -> None:
        from caloquant.simulator import default_simulator

        self.seed, self.energy = seed, energy
        self.energy_range = energy
        self.sim = default_simulator()

    def batch(self, step: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        ep = step_rng(self.seed, 10, step).uniform(*self.energy, size)
        return self.sim.simulate_chunk(ep, self.seed, 1_000_000 + step), ep.astype(np.float32)

    def describe(self) -> str:
        return f"caloquant simulator on the fly, seed {self.seed}, Ep uniform {self.energy[0]:g}-{self.energy[1]:g} GeV"


class FileBatches:
    """Random contiguous blocks of an HDF5 shower file (reads one block per step, never the whole file)."""

    def __init__(self, path: str, seed: int) -> None:
        from caloquant.data import open_showers

        self.source = open_showers(path)
        self.seed = seed
        ep = self.source.energies()
        self.energy_range = (float(ep.min()), float(ep.max()))

    def batch(self, step: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.source.n_showers
        start = int(step_rng(self.seed, 11, step).integers(0, max(n - size, 0) + 1))
        ecal, ep = self.source.read(start, start + size)
        return ecal, ep

    def describe(self) -> str:
        return f"{self.source.path} ({self.source.n_showers} showers)"
