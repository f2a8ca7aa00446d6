"""`caloquant bench produce`: production throughput with 1 and 2 Dask workers against plain `generate`.

All three write compressed 3DGAN HDF5 (writing included, unlike the inference benchmarks), on the same
model, count and machine in one run. From the measured per-shard cost, scheduling overhead and bytes per
shower, an estimate of wall time and disk for a large production on many such nodes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant.metadata import machine_info, metadata

__all__ = ["bench_produce", "render_markdown"]


def bench_produce(model: str | None = None, *, count: int = 4096, shard_size: int = 1024, batch_size: int = 128,
                  seed: int = 1, target_showers: int = 10_000_000, target_nodes: int = 100,
                  on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
    from caloquant.precision.identity import model_identity
    from caloquant.production.plan import ProductionParams
    from caloquant.production.run import produce
    from caloquant.workflows.generation import generate_to_file

    say = on_stage or (lambda _s: None)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if model is None:  # the production workhorse: the shipped generator at int8 on OpenVINO
            from caloquant._logs import quiet_tool_logs
            from caloquant.models.io import load_generator
            from caloquant.models.shipped import default_generator_path
            from caloquant.precision import quantize, recipe_for

            say("quantizing the shipped generator (OpenVINO int8)")
            with quiet_tool_logs():
                model = str(quantize(load_generator(default_generator_path()), recipe_for("int8"),
                                     engine="openvino", out=tmp / "int8"))
        digest, _ = model_identity(model)
        say("plain generate (2 threads, one process)")
        generate_to_file(model, tmp / "warm.h5", count=batch_size, energy=(100.0, 500.0), seed=seed)
        t0 = time.perf_counter()
        generate_to_file(model, tmp / "plain.h5", count=count, energy=(100.0, 500.0), seed=seed,
                         batch_size=batch_size, threads=2)
        wall = time.perf_counter() - t0
        rows.append({"layout": "generate, 1 process x 2 threads", "workers": 1, "threads": 2, "wall_s": wall,
                     "showers_per_s": count / wall, "bytes_per_shower": (tmp / "plain.h5").stat().st_size / count})
        for workers, threads in ((1, 2), (2, 1)):
            say(f"produce, {workers} worker(s) x {threads} thread(s)")
            params = ProductionParams(model=model, model_sha256=digest, count=count, energy=(100.0, 500.0),
                                      seed=seed, shard_size=shard_size, threads=threads, batch_size=batch_size)
            out = tmp / f"prod-{workers}x{threads}"
            t0 = time.perf_counter()  # includes starting the local cluster, as a user would see it
            manifest = produce(params, out, workers=workers)
            wall = time.perf_counter() - t0
            shard_s = [s["seconds"] for s in manifest["shards"]]
            size = sum((out / s["file"]).stat().st_size for s in manifest["shards"])
            rows.append({"layout": f"produce, {workers} worker(s) x {threads} thread(s)", "workers": workers,
                         "threads": threads, "wall_s": wall, "showers_per_s": count / wall,
                         "run_wall_s": manifest["run"]["wall_s"], "shard_seconds": shard_s,
                         "median_shard_s": sorted(shard_s)[len(shard_s) // 2], "bytes_per_shower": size / count,
                         "overhead_s": wall - sum(shard_s) / workers})
    best = max(rows[1:], key=lambda r: r["showers_per_s"])
    node_rate = count / (sum(best["shard_seconds"]) / best["workers"])  # steady state, no start-up
    per_node = target_showers / target_nodes
    estimate = {
        "showers": target_showers, "nodes": target_nodes, "layout": best["layout"],
        "showers_per_s_per_node": node_rate, "bytes_per_shower": best["bytes_per_shower"],
        "wall_hours": (per_node / node_rate + best["overhead_s"]) / 3600,
        "disk_gb": target_showers * best["bytes_per_shower"] / 1e9,
        "shard_size": shard_size,
        "assumptions": "nodes like this one (2 cores); shards spread evenly; per-shard cost and compression as "
                       "measured here; start-up overhead paid once per node; a shared filesystem that keeps up "
                       f"with {target_nodes} x the measured write rate",
    }
    return metadata(seed=seed, extra={"kind": "bench produce", "machine": machine_info(), "model": model,
                                      "conditions": {"count": count, "shard_size": shard_size,
                                                     "batch_size": batch_size, "compression": "gzip level 4"},
                                      "results": rows, "estimate": estimate})


def render_markdown(result: dict[str, Any]) -> str:
    lines = ["| layout | showers/s | wall s | vs generate | bytes/shower |", "|---|---|---|---|---|"]
    base = result["results"][0]["showers_per_s"]
    for r in result["results"]:
        lines.append(f"| {r['layout']} | {r['showers_per_s']:.0f} | {r['wall_s']:.1f} | "
                     f"{r['showers_per_s'] / base:.2f}x | {r['bytes_per_shower']:.0f} |")
    e = result["estimate"]
    lines.append("")
    lines.append(f"Estimate: {e['showers']:,} showers on {e['nodes']} such nodes ({e['layout']}, "
                 f"{e['showers_per_s_per_node']:.0f} showers/s per node in steady state): "
                 f"**{e['wall_hours']:.2f} h** wall, **{e['disk_gb']:.0f} GB** on disk "
                 f"({e['bytes_per_shower'] / 1e3:.1f} kB per shower). Assumes {e['assumptions']}.")
    return "\n".join(lines) + "\n"
