"""Inference timing of one model directory, run in a fresh process so peak memory belongs to it alone."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["measure_model", "measure_model_isolated", "model_size_bytes"]


def model_size_bytes(model_dir: str | os.PathLike[str]) -> int:
    """Bytes of the weight files as saved for that precision (CONVENTIONS), metadata excluded."""
    from caloquant.precision.modeldir import read_model_dir

    meta = read_model_dir(model_dir)
    return sum((Path(model_dir) / f).stat().st_size for f in meta["files"])


def measure_model(model_dir: str, *, batch_size: int = 128, threads: int = 2, streams: int = 1,
                  repeats: int = 10, warmup: int = 2, seed: int = 1) -> dict[str, Any]:
    """Latency per batch (median, p99) and throughput; z drawn by the contract (energies 100-500 GeV)."""
    from caloquant.contract import draw_energies, draw_latents, make_latent
    from caloquant.engines.base import batch_times
    from caloquant.precision.modeldir import load_engine
    from caloquant.workflows.bench.harness import peak_rss_mb

    engine = load_engine(model_dir, threads=threads, streams=streams)
    z = make_latent(draw_latents(seed, batch_size, engine.latent), draw_energies(seed, batch_size, 100.0, 500.0),
                    getattr(engine, "energy_input", "latent"))
    ms = batch_times(engine, z, repeats, warmup) * 1e3
    peak = peak_rss_mb()
    if hasattr(engine, "close"):  # an engine in a child process (TFLite's worker): its peak counts too
        engine.close()
        peak += peak_rss_mb(children=True)
    return {"engine": engine.name, "precision": engine.precision, "batch_size": batch_size, "threads": threads,
            "streams": streams, "repeats": repeats, "ms_per_batch_median": float(np.median(ms)),
            "ms_per_batch_p99": float(np.percentile(ms, 99)), "showers_per_s": batch_size / float(np.median(ms)) * 1e3,
            "peak_rss_mb": peak, "model_bytes": model_size_bytes(model_dir)}


def measure_model_isolated(model_dir: str | os.PathLike[str], **kwargs: Any) -> dict[str, Any]:
    """measure_model in a spawned process (clean peak memory, no state shared between engines)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure_model, str(model_dir), **kwargs).result()
