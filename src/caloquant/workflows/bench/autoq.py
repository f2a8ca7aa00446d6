"""`caloquant bench autoq`: what one search trial costs, per strategy, so search budgets can be planned.

Trigger: each strategy (random, gradient, HGQ2 peer) runs for the same wall time on one seed; a trial is
QAT + validation + QONNX cost for ours, an HGQ2 training for the peer. Firmware: one hls4ml export, g++
compile and C simulation of every test shower. Generator (opt-in, minutes): the float32 reference, the
sensitivity pass and one physics-judged candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["bench_autoq"]


def _stats(seconds: list[float]) -> dict[str, float | int | None]:
    if not seconds:
        return {"trials": 0, "mean_s": None, "median_s": None, "min_s": None, "max_s": None}
    a = np.asarray(seconds)
    return {"trials": len(a), "mean_s": float(a.mean()), "median_s": float(np.median(a)), "min_s": float(a.min()),
            "max_s": float(a.max())}


def bench_autoq(*, seconds: float = 60.0, strategies: tuple[str, ...] = ("random", "gradient", "hgq2"),
                qat_epochs: int = 15, generator: bool = False, validation_size: int = 2000,
                on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    import torch

    from caloquant.edge.autoq import STRATEGIES
    from caloquant.edge.data import load_dataset
    from caloquant.edge.hls import export_hls, verify_csim
    from caloquant.edge.quant import LayerBits, QuantConfig, build_quant_trigger, qat, standardise
    from caloquant.edge.train import load_trigger
    from caloquant.metadata import metadata
    from caloquant.resources import trigger_features_file, trigger_model_file

    step = on_step or (lambda _m: None)
    float_model, data = load_trigger(trigger_model_file()), load_dataset(trigger_features_file())
    rows = {}
    for s in strategies:
        step(f"trigger: {s}")
        t0 = time.perf_counter()
        trials = STRATEGIES[s](float_model, data, budget_s=seconds, seed=1, qat_epochs=qat_epochs)
        elapsed = time.perf_counter() - t0
        # a trial's own seconds cover QAT + judging + cost; the wall time per trial also covers what the
        # strategy does between trials (the gradient search's bit-width learning, HGQ2's model building)
        rows[s] = {**_stats([t.seconds for t in trials]), "wall_s": elapsed,
                   "wall_per_trial_s": elapsed / len(trials) if trials else None}
    step("trigger: hls4ml")
    cfg = QuantConfig((LayerBits(4, 8, 6, 0.5), LayerBits(4, 8, 6, 0.5), LayerBits(6, 10, 12, 0.0)), 8)
    torch.manual_seed(1)
    model = qat(build_quant_trigger(float_model, cfg), float_model, data, epochs=2)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        hls = export_hls(model, Path(tmp))
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        check = verify_csim(model, hls, standardise(float_model, data.part("test").x))
        t_csim = time.perf_counter() - t0
    result: dict[str, Any] = {"trigger": rows, "hls4ml": {"export_and_compile_s": t_build, "csim_s": t_csim,
                                                          "csim_events": check["n_events"],
                                                          "bit_exact_events": check["events_bit_exact"]}}
    if generator:
        result["generator"] = _bench_generator(validation_size, step)
    return metadata(seed=1, extra={"kind": "bench autoq", "threads": torch.get_num_threads(),
                                   "qat_epochs": qat_epochs, **result})


def _bench_generator(validation_size: int, step: Callable[[str], None]) -> dict[str, float]:
    from caloquant.edge.generator_bits import (
        activation_ranges,
        allocate,
        layer_macs,
        sensitivities,
    )
    from caloquant.edge.generator_bits import fake_quant_generator as fq
    from caloquant.engines.torch_engine import TorchEngine
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import resolve_generator_path
    from caloquant.precision.calibration import calibration_latents
    from caloquant.precision.judge import PhysicsJudge

    gen = load_generator(resolve_generator_path(None))
    macs = layer_macs(gen)
    ranges = activation_ranges(gen, calibration_latents(256, (100.0, 500.0), 8, gen.cfg.latent))
    step("generator: float32 reference")
    judge = PhysicsJudge(TorchEngine(gen, "fp32"), validation_size=validation_size)
    step("generator: sensitivity pass")
    t0 = time.perf_counter()
    sens = sensitivities(gen, ranges, calibration_latents(8, (100.0, 500.0), 9, gen.cfg.latent))
    t_sens = time.perf_counter() - t0
    step("generator: one candidate")
    t0 = time.perf_counter()
    judge.score(TorchEngine(fq(gen, allocate(sens, macs, 0.01), ranges), "fp32"))
    return {"validation_size": validation_size, "reference_s": judge.reference_seconds, "sensitivity_pass_s": t_sens,
            "candidate_s": time.perf_counter() - t0}


def render_markdown(result: dict[str, Any]) -> str:
    lines = [f"Search cost per trial (trigger candidates train on one thread, {result['qat_epochs']} QAT epochs; "
             f"generator on {result['threads']} threads)", "",
             "| target | strategy | trials | wall s/trial | median s/trial (QAT + judge + cost) | min-max s |",
             "|---|---|---|---|---|---|"]
    for name, r in result["trigger"].items():
        med = f"{r['median_s']:.1f}" if r["median_s"] is not None else "-"
        span = f"{r['min_s']:.1f}-{r['max_s']:.1f}" if r["min_s"] is not None else "-"
        wall = f"{r['wall_per_trial_s']:.1f}" if r["wall_per_trial_s"] is not None else "-"
        lines.append(f"| trigger | {name} | {r['trials']} in {r['wall_s']:.0f} s | {wall} | {med} | {span} |")
    h = result["hls4ml"]
    lines.append(f"| trigger | hls4ml export + g++ compile | 1 | {h['export_and_compile_s']:.1f} | | |")
    lines.append(f"| trigger | C simulation, {h['csim_events']} test showers | 1 | {h['csim_s']:.2f} | | "
                 f"{h['bit_exact_events']} bit-exact |")
    g = result.get("generator")
    if g:
        lines.append(f"| generator | float32 reference, {g['validation_size']} showers | 1 | "
                     f"{g['reference_s']:.0f} | | |")
        lines.append(f"| generator | sensitivity pass | 1 | {g['sensitivity_pass_s']:.0f} | | |")
        lines.append(f"| generator | one physics-judged candidate | 1 | {g['candidate_s']:.0f} | | |")
    return "\n".join(lines) + "\n"
