"""Throughput over a streams x threads grid (paper A, Figure 4) with OpenVINO's asynchronous queue."""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["streams_threads_grid"]


def streams_threads_grid(model_dir: str | os.PathLike[str], *, grid: list[tuple[int, int]], batch_size: int = 128,
                         batches: int = 8, seed: int = 1) -> list[dict[str, Any]]:
    """showers/s for each (streams, threads) of an OpenVINO model directory; threads is the total."""
    import openvino as ov

    from caloquant.contract import draw_energies, draw_latents, make_latent
    from caloquant.engines.openvino_engine import inference_hint
    from caloquant.precision.modeldir import read_model_dir

    meta = read_model_dir(model_dir)
    if meta["engine"] != "openvino":
        raise ValueError("the streams x threads grid runs OpenVINO models")
    hint = inference_hint(meta.get("runtime_precision", meta["precision"]))
    z = make_latent(draw_latents(seed, batch_size, meta["latent"]), draw_energies(seed, batch_size, 100.0, 500.0),
                    meta.get("energy_input", "latent"))
    core = ov.Core()
    rows = []
    for streams, threads in grid:
        compiled = core.compile_model(str(os.path.join(model_dir, "model.xml")), "CPU", {
            "INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": streams,
            "PERFORMANCE_HINT": "THROUGHPUT"})
        queue = ov.AsyncInferQueue(compiled, streams)
        for _ in range(streams):  # warm-up
            queue.start_async({0: z})
        queue.wait_all()
        t0 = time.perf_counter()
        for _ in range(batches):
            queue.start_async({0: z})
        queue.wait_all()
        wall = time.perf_counter() - t0
        rows.append({"streams": streams, "threads": threads, "batch_size": batch_size,
                     "showers_per_s": batches * batch_size / wall, "ms_per_batch": wall / batches * 1e3})
    return rows
