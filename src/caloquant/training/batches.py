"""Where training showers come from: the simulator on the fly, or an HDF5 file; both seeded per step.

Every batch is a pure function of (seed, step), so a resumed run sees exactly the batches an
uninterrupted one would have seen, without saving any random-generator state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["BatchSource", "FileBatches", "ShowerBank", "SimulatorBatches", "step_rng",
           "symmetry_images"]


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


def symmetry_images(ecal: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Apply symmetry k (0..7) of the cell grid to each shower (N, x, y, layer): bit 0 mirrors x, bit 1
    mirrors y, bit 2 swaps x and y. The beam enters the centre of the middle cell at normal incidence, so
    all eight images of a Geant4 shower are equally likely showers."""
    out = np.empty_like(ecal)
    for code in range(8):
        sel = np.flatnonzero(k == code)
        if len(sel) == 0:
            continue
        img = ecal[sel]
        if code & 1:
            img = img[:, ::-1]
        if code & 2:
            img = img[:, :, ::-1]
        if code & 4:
            img = img.transpose(0, 2, 1, 3)
        out[sel] = img
    return out


MAX_IN_MEMORY = 100_000  # showers a ShowerBank holds: 6.25 GB of float32 cells


class ShowerBank:
    """Showers of one or more files (or slices of them) held in memory, drawn at random per step and,
    with ``symmetries=8``, each shown as one of its eight mirror/swap images: a few thousand Geant4
    showers become eight times as many distinct training images."""

    def __init__(self, parts: list[tuple[Path, int | None, int | None]], seed: int, symmetries: int = 8) -> None:
        from caloquant.data import open_showers
        from caloquant.errors import InputValueError

        if symmetries not in (1, 8):
            raise InputValueError(f"symmetries {symmetries}: expected 1 (none) or 8 (mirror x, mirror y, swap)")
        ecals, eps, names = [], [], []
        selected = 0
        for path, start, stop in parts:
            src = open_showers(path)
            lo, hi = start or 0, src.n_showers if stop is None else min(stop, src.n_showers)
            if hi <= lo:
                raise InputValueError(f"{path}[{start}:{stop}]: selects no shower (file holds {src.n_showers})")
            selected += hi - lo
            if selected > MAX_IN_MEMORY:
                raise InputValueError(f"{path}: {selected} showers selected, more than the {MAX_IN_MEMORY} held in "
                                      "memory (62.5 kB each); take a slice FILE[START:STOP], or stream one file "
                                      "with symmetries 1")
            ecal, ep = src.read(lo, hi)
            ecals.append(np.asarray(ecal, dtype=np.float32))
            eps.append(np.asarray(ep, dtype=np.float32))
            names.append(f"{Path(path).name}[{lo}:{hi}]")
        self.ecal = np.concatenate(ecals)
        self.ep = np.concatenate(eps)
        self.seed, self.symmetries = seed, symmetries
        # the range a generator trained on these showers claims: files drawn uniform in [100, 500] GeV hold
        # 100.03 ... 499.92, and a claim of exactly that would make `generate --energy 100:500` warn
        self.energy_range = (float(np.floor(self.ep.min() / 10) * 10), float(np.ceil(self.ep.max() / 10) * 10))
        self._names = names

    def batch(self, step: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        rng = step_rng(self.seed, 14, step)
        idx = np.sort(rng.choice(len(self.ep), size=min(size, len(self.ep)), replace=False))
        ecal = self.ecal[idx]
        if self.symmetries == 8:
            ecal = symmetry_images(ecal, rng.integers(0, 8, len(idx)))
        return np.ascontiguousarray(ecal), self.ep[idx]

    def describe(self) -> str:
        aug = ", each shown in one of its 8 mirror/swap images" if self.symmetries == 8 else ""
        return f"{' + '.join(self._names)} ({len(self.ep)} showers in memory{aug})"
