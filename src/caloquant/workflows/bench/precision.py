"""`caloquant bench precision`: engine x precision x tool on one model, one run, same data.

Speed from isolated processes (throughput, ms per batch median and p99, model size, peak memory), ratios
against OpenVINO fp32 and PyTorch fp32 eager measured in the same run, and a physics verdict for each
candidate from paired showers (same latents) against PyTorch fp32: `validate --paired` at the showers' own
resolution, the same check (validate's tolerances) with the errors of 10 000 showers, and the tuner's rule
(zero tolerances: only what float32 itself cannot be told from at that resolution).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from caloquant.metadata import machine_info, metadata

Key = tuple[str, str, str]  # (engine, precision, tool)

__all__ = ["DEFAULT_CONFIGS", "PEER_CONFIGS", "bench_precision", "default_configs", "render_markdown"]

# (engine, precision, tool): "caloquant" = our recipe; "defaults" = the engine's quantizer with its own
# defaults, the peer a user would try first (ONNX Runtime quantize_static QDQ, NNCF quantize).
DEFAULT_CONFIGS: tuple[tuple[str, str, str], ...] = (
    ("torch", "fp32", "caloquant"), ("torch", "bf16", "caloquant"), ("onnxruntime", "fp32", "caloquant"),
    ("onnxruntime", "int8", "defaults"), ("onnxruntime", "int8", "caloquant"), ("openvino", "fp32", "caloquant"),
    ("openvino", "bf16", "caloquant"), ("openvino", "fp16", "caloquant"), ("openvino", "int8", "defaults"),
    ("openvino", "int8", "caloquant"), ("openvino", "int8", "accuracy-control"),
)
# paper A's peers (`make peers`): TFLite as the paper made it, float32, float16 weights, full integer; INC's
# int8 with its defaults and its accuracy-driven autotune judged by our physics
PEER_CONFIGS: tuple[tuple[str, str, str], ...] = (
    ("tflite", "fp32", "caloquant"), ("tflite", "fp16", "caloquant"), ("tflite", "int8", "defaults"),
    ("inc-tf", "int8", "defaults"), ("inc-tf", "int8", "accuracy-control"),
)
_TOOL_NAMES = {("tflite", "caloquant"): "TFLite converter (LiteRT, XNNPACK)",
               ("tflite", "defaults"): "TFLite converter, full integer (LiteRT, XNNPACK)",
               ("inc-tf", "defaults"): "INC 3.10 quantize_model on TensorFlow (defaults)",
               ("inc-tf", "accuracy-control"): "INC 3.10 autotune on TensorFlow (physics metric)",
               ("onnxruntime", "defaults"): "ORT quantize_static (defaults)",
               ("openvino", "defaults"): "NNCF quantize (defaults)",
               ("onnxruntime", "caloquant"): "caloquant (ORT QDQ, per-channel, float output layer)",
               ("openvino", "caloquant"): "caloquant (NNCF symmetric, float output layer)",
               ("openvino", "accuracy-control"): "NNCF quantize_with_accuracy_control (physics metric)"}


def default_configs() -> tuple[tuple[str, str, str], ...]:
    """Every default config, with the TFLite peers where their environment is installed."""
    from caloquant.engines.peer_process import peers_available

    return DEFAULT_CONFIGS + PEER_CONFIGS if peers_available() else DEFAULT_CONFIGS


def _tool_name(engine: str, precision: str, tool: str) -> str:
    if engine == "tflite" and precision == "fp16":
        return "TFLite converter, float16 weights (LiteRT, XNNPACK)"
    return _TOOL_NAMES.get((engine, tool), tool) if precision == "int8" or engine == "tflite" else tool


def _features(path: Path) -> Any:
    from caloquant.data.reader import open_showers
    from caloquant.physics.features import extract_features

    return extract_features(open_showers(path).iter_chunks(500))


def _physics(model_dir: Path, reference: Path, reference_features: Any, tmp: Path, count: int, seed: int,
             reference_size: int) -> dict[str, Any]:
    """`validate --paired` at the showers' own resolution, validate's tolerances with the errors of
    ``reference_size`` showers, and the tuner's rule (`precision.judge`, zero tolerances) at that resolution,
    against PyTorch fp32 on the same latents (``reference_features``: the reference file's, extracted once
    for every row)."""
    from caloquant.precision.judge import paired_verdicts
    from caloquant.workflows.generation import generate_to_file
    from caloquant.workflows.validation import run_validation

    samples = tmp / f"{model_dir.name}.h5"
    generate_to_file(model_dir, samples, count=count, energy=(100.0, 500.0), seed=seed)
    metrics, _ = run_validation(samples, reference, tmp / f"val-{model_dir.name}", paired=True,
                                voxel_classifier=False, plots=False, seed=seed, n_boot=50)
    p = metrics["paired"]
    paired, zero = paired_verdicts(_features(samples), reference_features, seed=seed, reference_size=reference_size)
    return {"judge": zero, "paired_at_reference_size": paired,
            "compatible": metrics["compatible"], "n_incompatible": metrics["n_incompatible"],
            "pixelwise_abs_sum_gev": p["pixelwise_abs_sum_gev"]["value"],
            "pixelwise_relative": p["pixelwise_relative"]["value"],
            "tail_relative": p["tail_relative_to_tail_energy"]["value"],
            "mse_projections": metrics["mse_projections"]["all"]["value"]}


def _recipe(precision: str, tool: str, calibration_size: int, seed: int) -> Any:
    from caloquant.precision import AccuracyControlConfig, ToolDefaultsConfig, recipe_for

    if tool == "accuracy-control":
        return AccuracyControlConfig(calibration_size=calibration_size, seed=seed + 6)
    if tool == "defaults":
        return ToolDefaultsConfig(calibration_size=calibration_size)
    return recipe_for(precision, **({"calibration_size": calibration_size} if precision == "int8" else {}))


def _timings(dirs: Mapping[Key, Path], rounds: int, say: Callable[[str], None], **kwargs: Any) -> dict[Key, Any]:
    """Each model timed ``rounds`` times in fresh processes, the rounds interleaved over the models so a drift
    of the host's speed during the run reaches every row alike; per model the round of median throughput,
    with every round's showers/s."""
    from caloquant.workflows.bench.inference import measure_model_isolated

    runs: dict[Key, list[dict[str, Any]]] = {key: [] for key in dirs}
    for r in range(rounds):
        for key, d in dirs.items():
            say(f"timing {' '.join(key)} (round {r + 1} of {rounds})")
            runs[key].append(measure_model_isolated(d, **kwargs))
    result = {}
    for key, measured in runs.items():
        ranked = sorted(measured, key=lambda m: m["showers_per_s"])
        result[key] = {**ranked[(len(ranked) - 1) // 2], "rounds": rounds,
                       "showers_per_s_rounds": [m["showers_per_s"] for m in measured]}
    return result


def bench_precision(model: str | None = None, *, configs: Sequence[tuple[str, str, str]] = DEFAULT_CONFIGS,
                    batch_size: int = 128, threads: int = 2, repeats: int = 10, rounds: int = 3,
                    physics_count: int = 2000,
                    seed: int = 1, calibration_size: int = 512, reference_size: int = 10000,
                    model_dirs: Mapping[tuple[str, str, str], str | Path] | None = None,
                    on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``model_dirs``: already-made model directories to time beside the configs, keyed by (engine,
    precision, tool), e.g. the stored `auto` result."""
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import resolve_generator_path
    from caloquant.precision import quantize
    from caloquant.workflows.generation import generate_to_file

    say = on_stage or (lambda _s: None)
    if any(engine in ("tflite", "inc-tf") for engine, _, _ in configs):
        from caloquant.engines.peer_process import peers_python

        peers_python()  # a missing peer is refused before anything runs
    path = resolve_generator_path(model)
    gen = load_generator(path)
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        dirs = {}
        for engine, precision, tool in configs:
            say(f"converting {engine} {precision} ({tool})")
            target = tmp / f"{engine}-{precision}-{tool}"
            dirs[(engine, precision, tool)] = quantize(gen, _recipe(precision, tool, calibration_size, seed),
                                                       engine=engine, out=target)
        for key, d in (model_dirs or {}).items():
            dirs[key] = Path(d)
        reference = tmp / "reference_fp32.h5"
        if physics_count:
            say("reference showers (torch fp32)")
            generate_to_file(path, reference, count=physics_count, energy=(100.0, 500.0), seed=seed)
            reference_features = _features(reference)
        timings = _timings(dirs, rounds, say, batch_size=batch_size, threads=threads, repeats=repeats, seed=seed)
        for (engine, precision, tool), d in dirs.items():
            row = {"tool": _tool_name(engine, precision, tool), **timings[(engine, precision, tool)]}
            if physics_count:
                say(f"physics {engine} {precision} ({tool})")
                row["physics"] = _physics(d, reference, reference_features, tmp, physics_count, seed,
                                          reference_size)
            rows.append(row)
    base = {r["engine"] + r["precision"]: r["showers_per_s"] for r in rows if r["precision"] != "int8"}
    for r in rows:
        if "openvinofp32" in base:
            r["speedup_vs_openvino_fp32"] = r["showers_per_s"] / base["openvinofp32"]
        if "torchfp32" in base:
            r["speedup_vs_torch_fp32"] = r["showers_per_s"] / base["torchfp32"]
    return metadata(seed=seed, extra={"kind": "bench precision", "machine": machine_info(), "model": str(path),
                                      "conditions": {"batch_size": batch_size, "threads": threads, "streams": 1,
                                                     "repeats": repeats, "rounds": rounds,
                                                     "physics_showers": physics_count,
                                                     "judged_at_showers": reference_size},
                                      "results": rows})


def _verdict_cell(verdict: dict[str, Any] | None) -> str:
    if not verdict:
        return ""
    return (f"{'pass' if verdict['passed'] else 'fail'} ({verdict['score']:.2f}; {verdict['n_off']} of "
            f"{verdict['n_quantities']} off)")


def render_markdown(result: dict[str, Any]) -> str:
    n = result.get("conditions", {}).get("judged_at_showers", 10000)
    at = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    rounds = result.get("conditions", {}).get("rounds", 1)
    speed = f"showers/s (median of {rounds} rounds; range)" if rounds > 1 else "showers/s"
    head = (f"| engine | precision | tool | {speed} | ms/batch (median, p99) | vs OpenVINO fp32 | vs torch fp32 | "
            f"model MB | peak MB | physics vs fp32 | paired check at {at} (score) | judge at {at}, zero tolerance | "
            "pixel-wise rel. |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in result["results"]:
        ph = r.get("physics", {})
        verdict = "" if not ph else ("pass" if ph["compatible"] else f"fail ({ph['n_incompatible']})")
        rel = "" if not ph else f"{100 * ph['pixelwise_relative']:.3g} %"
        spread = r.get("showers_per_s_rounds", [])
        speed = f"{r['showers_per_s']:.0f}" + (f" ({min(spread):.0f}-{max(spread):.0f})" if len(spread) > 1 else "")
        lines.append(f"| {r['engine']} | {r['precision']} | {r['tool']} | {speed} | "
                     f"{r['ms_per_batch_median']:.1f}, {r['ms_per_batch_p99']:.1f} | "
                     f"{r.get('speedup_vs_openvino_fp32', float('nan')):.2f}x | "
                     f"{r.get('speedup_vs_torch_fp32', float('nan')):.2f}x | {r['model_bytes'] / 1e6:.2f} | "
                     f"{r['peak_rss_mb']:.0f} | {verdict} | {_verdict_cell(ph.get('paired_at_reference_size'))} | "
                     f"{_verdict_cell(ph.get('judge'))} | {rel} |")
    return "\n".join(lines) + "\n"
