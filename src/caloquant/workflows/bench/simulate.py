"""`caloquant bench simulate`: simulator throughput in memory, and file writing on its own."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant.metadata import machine_info, metadata
from caloquant.workflows.bench.harness import GEANT4_SECONDS_PER_SHOWER_PER_CORE, peak_rss_mb, time_repeated

__all__ = ["TARGET_SHOWERS_PER_S", "bench_simulate"]

TARGET_SHOWERS_PER_S = 2000.0


def bench_simulate(*, count: int = 4096, threads: int = 2, repeats: int = 5, seed: int = 1,
                   energy: tuple[float, float] = (100.0, 500.0), params: str | os.PathLike[str] | None = None,
                   baseline_params: str | os.PathLike[str] | None = None,
                   on_step: Callable[[], None] | None = None) -> dict[str, Any]:
    """Throughput of the simulator with ``params`` (default: the shipped fit); with ``baseline_params`` the
    same showers are timed with those too, first, in the same process (before/after a model change on
    equal terms)."""
    from caloquant.data import ShowerWriter
    from caloquant.simulator import ShowerSimulator, draw_energies, load_params

    sim = ShowerSimulator(load_params(params))
    ep = draw_energies(seed, count, *energy)
    baseline = None
    if baseline_params is not None:
        old = ShowerSimulator(load_params(baseline_params))
        baseline = time_repeated(lambda: old.simulate(ep, seed, threads=threads), count, warmup=1, repeats=repeats,
                                 on_step=on_step)
    showers: list[Any] = []

    def run() -> None:
        showers[:] = [sim.simulate(ep, seed, threads=threads)]

    mem = time_repeated(run, count, warmup=1, repeats=repeats, on_step=on_step)
    data = showers[0]

    def write() -> None:
        with tempfile.TemporaryDirectory() as tmp, ShowerWriter(Path(tmp) / "bench.h5") as w:
            w.append(data, ep)

    io = time_repeated(write, count, warmup=0, repeats=max(1, repeats // 2), on_step=on_step)
    g4_per_s = threads / GEANT4_SECONDS_PER_SHOWER_PER_CORE
    return metadata(seed=seed, extra={
        "kind": "bench simulate",
        "machine": machine_info(),
        "conditions": {"count": count, "threads": threads, "repeats": repeats, "energy_gev": list(energy)},
        "params": str(params) if params is not None else "shipped",
        "in_memory": mem.to_dict(),
        "baseline": None if baseline is None else {"params": str(baseline_params), "in_memory": baseline.to_dict()},
        "file_writing": io.to_dict(),
        "geant4_showers_per_s_same_cores": g4_per_s,
        "speedup_over_geant4": mem.throughput / g4_per_s,
        "target_showers_per_s": TARGET_SHOWERS_PER_S,
        "meets_target": mem.throughput >= TARGET_SHOWERS_PER_S,
        "peak_rss_mb": peak_rss_mb(),
    })
