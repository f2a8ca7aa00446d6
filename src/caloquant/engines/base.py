"""One interface for every inference engine: latent vectors in, showers out.

Engines import their framework lazily (``import caloquant`` loads no OpenVINO or ONNX Runtime). Which
engine runs which precision, and how a model becomes an engine's files, is the engine registry's
(`caloquant.precision.registry`); this module only runs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from caloquant.contract import draw_energies, draw_latents, make_latent, postprocess

__all__ = ["Engine", "EngineBase", "generate_batches"]


class Engine(Protocol):
    """A loaded model ready to run: ``run`` maps z (batch, latent) float32 to raw showers (batch, 25, 25, 25);
    ``run_many`` runs several batches at once over ``streams`` (outputs in input order)."""

    name: str
    precision: str
    latent: int  # width of n; z has one more column when energy_input == "separate"
    energy_input: str  # "latent": z = (Ep / 100 GeV) * n; "separate": z = [n, Ep / 100 GeV]
    streams: int  # batches in flight at once

    def run(self, z: np.ndarray) -> np.ndarray: ...

    def run_many(self, batches: list[np.ndarray]) -> list[np.ndarray]: ...


class EngineBase:
    """Defaults for an engine that runs one batch at a time with the energy inside z."""

    name: str = "engine"
    precision: str = "fp32"
    latent: int = 200
    energy_input: str = "latent"
    streams: int = 1

    def run(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def run_many(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        return [self.run(z) for z in batches]


def generate_batches(engine: Engine, *, ep: np.ndarray | None = None, count: int | None = None,
                     energy: tuple[float, float] = (100.0, 500.0), seed: int | np.random.SeedSequence = 1,
                     batch_size: int = 128) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Showers by the generator contract: energies from ``seed`` (or given), latents from ``seed``."""
    if ep is None:
        if count is None:
            raise ValueError("give either ep or count")
        ep = draw_energies(seed, count, *energy)
    n = draw_latents(seed, len(ep), engine.latent)
    group = max(engine.streams, 1)
    starts = list(range(0, len(ep), batch_size))
    for g in range(0, len(starts), group):
        chunk = starts[g : g + group]
        zs = [make_latent(n[s : s + batch_size], ep[s : s + batch_size], engine.energy_input) for s in chunk]
        outs = engine.run_many(zs) if group > 1 else [engine.run(z) for z in zs]
        for s, out in zip(chunk, outs, strict=True):
            yield postprocess(out), ep[s : s + batch_size].astype(np.float32)


def batch_times(engine: Engine, z: np.ndarray, repeats: int, warmup: int = 1) -> np.ndarray:
    """Seconds per ``engine.run(z)`` for ``repeats`` timed runs after ``warmup`` untimed ones."""
    import time

    for _ in range(warmup):
        engine.run(z)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        engine.run(z)
        times.append(time.perf_counter() - t0)
    return np.asarray(times)


def quick_throughput(engine: Engine, batch_size: int = 128, repeats: int = 5) -> float:
    """Showers/s of one engine in this process: the median of ``repeats`` timed batches after one warm-up
    (a search's ranking of its own candidates; `bench` measures in isolated processes)."""
    z = make_latent(np.full((batch_size, engine.latent), 0.5), np.full(batch_size, 300.0), engine.energy_input)
    return batch_size / float(np.median(batch_times(engine, z, repeats)))
