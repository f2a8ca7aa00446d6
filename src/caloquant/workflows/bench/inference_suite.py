"""`caloquant bench inference`: engines x precisions x batch sizes, a streams x threads grid, the machine's
matrix-product rate per precision and each model's effective rate against it, and the speed-up over Geant4.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from caloquant.metadata import machine_info, metadata
from caloquant.workflows.bench.harness import GEANT4_SECONDS_PER_SHOWER_PER_CORE

__all__ = ["bench_inference"]


def bench_inference(model: str | None = None, *,
                    configs: Sequence[tuple[str, str]] = (("torch", "fp32"), ("openvino", "fp32"),
                                                          ("openvino", "bf16"), ("openvino", "int8")),
                    batch_sizes: Sequence[int] = (1, 128), threads: int = 2, repeats: int = 10,
                    grid: Sequence[tuple[int, int]] = ((1, 1), (1, 2), (2, 2)), grid_batch: int = 64,
                    matmul_size: int = 2048, calibration_size: int = 512, seed: int = 1,
                    on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import resolve_generator_path
    from caloquant.precision import quantize, recipe_for
    from caloquant.workflows.bench.grid import streams_threads_grid
    from caloquant.workflows.bench.inference import measure_model_isolated
    from caloquant.workflows.bench.matmul import GENERATOR_GMAC_PER_SHOWER, matmul_rates

    say = on_stage or (lambda _s: None)
    path = resolve_generator_path(model)
    gen = load_generator(path)
    rows, grids = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine, precision in configs:
            say(f"converting {engine} {precision}")
            options = {"calibration_size": calibration_size} if precision == "int8" else {}
            d = quantize(gen, recipe_for(precision, **options), engine=engine, out=Path(tmp) / f"{engine}-{precision}")
            for bs in batch_sizes:
                say(f"timing {engine} {precision} batch {bs}")
                rows.append(measure_model_isolated(d, batch_size=bs, threads=threads, repeats=repeats, seed=seed))
            if engine == "openvino" and grid:
                say(f"streams x threads grid, openvino {precision}")
                grids[precision] = streams_threads_grid(d, grid=list(grid), batch_size=grid_batch, seed=seed)
    say("matrix-product rates")
    rates = matmul_rates(size=matmul_size, threads=threads, precisions=("fp32", "bf16", "int8")) if matmul_size else {}
    g4 = threads / GEANT4_SECONDS_PER_SHOWER_PER_CORE
    for r in rows:
        r["effective_gmac_per_s"] = r["showers_per_s"] * GENERATOR_GMAC_PER_SHOWER
        if r["precision"] in rates:
            r["fraction_of_matmul_rate"] = r["effective_gmac_per_s"] / rates[r["precision"]]["gmac_per_s"]
        r["speedup_over_geant4"] = r["showers_per_s"] / g4
    return metadata(seed=seed, extra={
        "kind": "bench inference", "machine": machine_info(), "model": str(path),
        "conditions": {"threads": threads, "repeats": repeats, "batch_sizes": list(batch_sizes),
                       "gmac_per_shower": GENERATOR_GMAC_PER_SHOWER},
        "results": rows, "streams_threads": grids, "matmul": rates,
        "geant4_showers_per_s_same_cores": g4})
