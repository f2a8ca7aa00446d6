"""`caloquant bench train`: training samples/s for the CPU options worth trying (one D + one G step)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from caloquant.metadata import machine_info, metadata
from caloquant.workflows.bench.harness import peak_rss_mb, time_repeated

__all__ = ["TRAIN_VARIANTS", "bench_train"]

TRAIN_VARIANTS: dict[str, dict[str, Any]] = {
    "fp32": {"bf16": False},
    "bf16": {"bf16": True},
    "bf16+channels_last": {"bf16": True, "channels_last": True},
    "bf16+compile": {"bf16": True, "compile": True},
}


def bench_train(*, model: str = "paper", batch_size: int = 32, steps: int = 3, threads: int = 2,
                variants: Sequence[str] = ("fp32", "bf16", "bf16+channels_last"), seed: int = 1,
                on_step: Callable[[], None] | None = None) -> dict[str, Any]:
    from caloquant.training import TrainConfig, Trainer
    from caloquant.training.batches import SimulatorBatches

    unknown = [v for v in variants if v not in TRAIN_VARIANTS]
    if unknown:
        from caloquant.errors import InputValueError

        raise InputValueError(f"variants {','.join(unknown)}: known are {', '.join(TRAIN_VARIANTS)}")
    data = SimulatorBatches(seed)
    base = TrainConfig(model=model, batch_size=batch_size, steps=10**9, threads=threads, seed=seed)
    results = {}
    for name in variants:
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(tmp, replace(base, **TRAIN_VARIANTS[name]), data)
            trainer.fit_ecal_target(256)
            timing = time_repeated(trainer.train_step, batch_size, warmup=1, repeats=steps, on_step=on_step)
        results[name] = {**timing.to_dict(), "samples_per_s": timing.throughput}
    baseline = results[variants[0]]["samples_per_s"]
    for r in results.values():
        r["speedup_vs_first"] = r["samples_per_s"] / baseline
    return metadata(seed=seed, extra={
        "kind": "bench train", "machine": machine_info(),
        "conditions": {"model": model, "batch_size": batch_size, "timed_steps": steps, "threads": threads,
                       "step": "one discriminator step on real + fake, one generator step (data simulated "
                               "on the fly, included)"},
        "variants": results, "peak_rss_mb": peak_rss_mb()})
