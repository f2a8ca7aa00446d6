"""The one-command demo on shipped defaults; later stages (precision, benchmarks, report) plug in here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant.errors import CaloquantError

__all__ = ["run_demo"]


def run_demo(out: str | os.PathLike[str], *, count: int = 2000, seed: int = 1,
             readme: str | os.PathLike[str] | None = None, log: Callable[[Any], None] = print,
             peers: bool = True) -> Path:
    """Simulate, check the simulator against the shipped Geant4 sample, generate with the shipped GAN and
    validate both; every stage writes into ``out``. ``peers``: paper A's TFLite fp16 and int8 beside ours
    where their environment is installed (`make peers`)."""
    from caloquant._atomic import owned_folder

    with owned_folder(out):  # a failed or interrupted demo leaves no half-filled folder it created
        return _run_demo(Path(out), count, seed, readme, log, peers)


def _run_demo(out: Path, count: int, seed: int, readme: str | os.PathLike[str] | None,
              log: Callable[[Any], None], peers: bool) -> Path:
    from caloquant._atomic import write_json_atomic, write_text_atomic
    from caloquant.resources import geant4_check_sample
    from caloquant.workflows.acceptance import check_simulator, render_markdown
    from caloquant.workflows.simulation import simulate_to_file
    from caloquant.workflows.validation import run_validation

    t0 = time.perf_counter()

    def step(msg: str) -> None:
        log(f"[{time.perf_counter() - t0:6.1f} s] {msg}")

    g4 = geant4_check_sample()
    simulate_to_file(out / "simulated_showers.h5", count=count, seed=seed)
    step(f"simulated {count} showers -> {out / 'simulated_showers.h5'}")
    result = check_simulator([g4], seed=seed)
    write_json_atomic(out / "compare-sim.json", result)
    write_text_atomic(out / "compare-sim.md", render_markdown(result))
    verdict = "compatible" if result["references"][0]["compatible"] else "INCOMPATIBLE"
    step(f"simulator vs shipped Geant4 sample: {verdict} ({out / 'compare-sim.md'})")
    metrics, _ = run_validation(out / "simulated_showers.h5", g4, out / "validate-simulator", voxel_classifier=False,
                                seed=seed)
    step(f"validate simulator vs Geant4: {'compatible' if metrics['compatible'] else 'INCOMPATIBLE'} "
         f"({metrics['n_incompatible']} of {len(metrics['quantities'])} quantities off) -> validate-simulator/")
    try:
        from caloquant.workflows.generation import generate_to_file

        generate_to_file(None, out / "gan_showers.h5", count=count, energy=(100.0, 500.0), seed=seed)
    except CaloquantError as exc:
        step(f"GAN skipped: {exc}")
    else:
        step(f"generated {count} showers with the shipped 3DGAN (fp32) -> {out / 'gan_showers.h5'}")
        metrics, _ = run_validation(out / "gan_showers.h5", g4, out / "validate-gan", voxel_classifier=False,
                                    seed=seed)
        step(f"validate GAN vs Geant4: {'compatible' if metrics['compatible'] else 'INCOMPATIBLE'} "
             f"({metrics['n_incompatible']} of {len(metrics['quantities'])} quantities off) -> validate-gan/")
        from caloquant.engines.peer_process import peers_available

        _precisions(out, count, seed, step, peers and peers_available())
    from caloquant.workflows.bench.simulate import bench_simulate
    from caloquant.workflows.reporting import report

    write_json_atomic(out / "bench-simulate.json", bench_simulate(count=1024, repeats=3, seed=seed))
    step("short benchmark of the simulator -> bench-simulate.json")
    from caloquant.report.readme_results import demo_results_markdown, update_readme

    results = demo_results_markdown(out)
    write_text_atomic(out / "results.md", results)
    if readme is not None:
        update_readme(readme, results)
        step(f"results table -> {out / 'results.md'} and {readme}")
    html_path, _ = report(out, title="caloquant demo report")
    step(f"report: {html_path}")
    return out


def _precisions(out: Path, count: int, seed: int, step: Callable[[str], None], peers: bool) -> None:
    """The shipped GAN on OpenVINO at fp16, bf16, int8 and the stored physics-tuned `auto` model (and, with
    ``peers``, paper A's TFLite fp16 and full-integer int8), each paired with fp32 on the same latents; the
    paper's precision ratios; a short benchmark of every engine."""
    from caloquant._atomic import write_json_atomic
    from caloquant._logs import quiet_tool_logs
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import default_generator_path, shipped_auto_model
    from caloquant.precision import FP16Config, ToolDefaultsConfig, quantize, recipe_for
    from caloquant.workflows.bench.precision import bench_precision
    from caloquant.workflows.generation import generate_to_file
    from caloquant.workflows.pairs import summarize_pairs
    from caloquant.workflows.validation import run_validation

    with quiet_tool_logs():
        gen = load_generator(default_generator_path())
        models = {p: quantize(gen, recipe_for(p), engine="openvino", out=out / "models" / p)
                  for p in ("fp16", "bf16", "int8")}
        if peers:  # labelled engine-precision, as the results table names them
            models["tflite-fp16"] = quantize(gen, FP16Config(), engine="tflite", out=out / "models" / "tflite-fp16")
            models["tflite-int8"] = quantize(gen, ToolDefaultsConfig(), engine="tflite",
                                             out=out / "models" / "tflite-int8")
        else:
            step("paper A's TFLite peers skipped: not installed (make peers)")
        auto = shipped_auto_model()
        if auto is not None:
            models["auto"] = auto
        else:
            step("no stored auto model for the shipped weights; make one with: caloquant quantize --precision auto")
        pairs = {}
        for precision, model_dir in models.items():
            samples = out / f"gan_{precision}_showers.h5"
            generate_to_file(model_dir, samples, count=count, energy=(100.0, 500.0), seed=seed)
            pairs[precision] = out / f"validate-{precision}-vs-fp32"
            m, _ = run_validation(samples, out / "gan_showers.h5", pairs[precision], paired=True,
                                  voxel_classifier=False, seed=seed)
            samples.unlink()  # the paired numbers are kept; the showers are not needed
            p = m["paired"]
            name = precision if precision.startswith("tflite") else f"OpenVINO {precision}"
            step(f"{name} vs fp32 (paired): {'compatible' if m['compatible'] else 'INCOMPATIBLE'}; "
                 f"pixel-wise {p['pixelwise_abs_sum_gev']['value']:.3g} GeV per shower "
                 f"({100 * p['pixelwise_relative']['value']:.2g} %)")
        summary = summarize_pairs(pairs, seed=seed)
        write_json_atomic(out / "precision-pairs.json", summary)
        ratio = summary["ratios"].get("int8 / fp16")
        if ratio:
            step(f"pixel-wise int8 / fp16 = {ratio['value']:.3g} (paper A: TFLite 30, iLoT 12) -> precision-pairs.json")
        tflite = summary["ratios"].get("tflite-int8 / tflite-fp16")
        if tflite:
            step(f"pixel-wise TFLite int8 / TFLite fp16 = {tflite['value']:.3g} (paper A: 30)")
        configs: tuple[tuple[str, str, str], ...] = (("torch", "fp32", "caloquant"), ("openvino", "fp32", "caloquant"),
                   ("openvino", "bf16", "caloquant"), ("openvino", "int8", "caloquant"))
        if peers:
            configs += (("tflite", "fp16", "caloquant"), ("tflite", "int8", "defaults"))
        extra = {("openvino", "auto", "caloquant auto (stored)"): auto} if auto is not None else None
        result = bench_precision(None, configs=configs, repeats=3, physics_count=0, model_dirs=extra)
        write_json_atomic(out / "bench-precision.json", result)
        fastest = max(result["results"], key=lambda r: r["showers_per_s"])
        step(f"short benchmark: fastest {fastest['engine']} {fastest['precision']} at "
             f"{fastest['showers_per_s']:.0f} showers/s -> bench-precision.json")
