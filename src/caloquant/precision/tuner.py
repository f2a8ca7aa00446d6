"""`--precision auto`: the physics-driven mixed-precision tuner (paper A's iLoT idea, with physics as the goal).

Objective: the physics quantities of `validate` (sampling fraction, shapes and Table 3 numbers, moments,
containment, longitudinal profile, occupancy, cell spectrum), candidate against PyTorch float32 on the
same latent vectors, judged by the CONVENTIONS rule with the bootstrap errors rescaled to a reference
size (default: the statistical resolution of 10 000 Geant4 showers). Search: full int8 first, then our
int8 recipe's layout (the output layer and the paths' last convolutions in the fallback precision,
`precision.float_layers`); when that passes, only those layers are tried back in int8. Else, for a PyTorch
generator, int8 from QAT (`precision.qat`, fine-tuned in the recipe's layout, whose layers then stay out
of int8); the better of PTQ and QAT gives every later candidate its int8 layers (a QAT candidate keeps
more layers out of int8 by bypassing the FakeQuantize in front of them, `release_layers`). Otherwise
measure each layer's sensitivity (int8 everywhere except that layer), then keep the most sensitive
layers in the fallback precision (bf16 or fp32) until the candidate passes, then try to give layers back
to int8; every passing candidate's speed is measured, the fallback precision everywhere (no int8) too, and
the fastest kept (within the timing's noise, the one with the lowest score). A time budget stops the
search; the best passing model is always saved, or the closest one with a clear message.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caloquant._logs import hide_tool_progress
from caloquant.errors import InputValueError
from caloquant.precision.float_layers import float_modules
from caloquant.precision.judge import PhysicsJudge
from caloquant.precision.qat import qat_openvino, release_layers
from caloquant.precision.recipes import DEFAULT_FLOAT_TAIL, AutoConfig, Int8QATConfig
from caloquant.precision.search import SearchBudget, TrialLog, choose

__all__ = ["SPEED_NOISE", "Trial", "TuneResult", "pick", "quantize_auto", "tune"]

# quick_throughput's spread between repeated runs on a 2-core machine: candidates this close in speed tie,
# and the tie goes to the one with the larger physics margin (a score of 0.24 over 0.94 for 3 % speed)
SPEED_NOISE = 0.05


@dataclass
class Trial:
    kept: tuple[str, ...]
    base: str  # where the int8 layers come from: ptq, or qat (fine-tuned against float32)
    passed: bool
    score: float  # max over quantities of |diff| / allowed (< 1 passes)
    worst: str
    showers_per_s: float | None
    seconds: float


def pick(trials: list[Trial]) -> tuple[Trial, bool]:
    """(the chosen trial, whether it passes): among the passing candidates (only those are timed) as fast as
    the fastest within the timing's noise, the one farthest inside the bound; else the closest."""
    fastest = max((t.showers_per_s or 0.0 for t in trials if t.passed), default=0.0)
    return choose(trials, passed=lambda t: t.passed and bool(t.showers_per_s),
                  cost=lambda t: ((t.showers_per_s or 0.0) < (1 - SPEED_NOISE) * fastest, t.score),
                  closeness=lambda t: t.score)


@dataclass
class TuneResult:
    chosen: Trial
    passed: bool
    trials: list[Trial]
    layers: list[str]
    stopped_by_budget: bool
    qat: dict[str, Any] | None = None  # the QAT record when QAT candidates were made


def tune(generator: Any, cfg: AutoConfig, out: Path, *, log: Callable[[str], None] | None = None) -> TuneResult:
    """Search, then write the chosen model to ``out`` (OpenVINO IR + caloquant.json) and trials.jsonl."""
    import nncf
    import openvino as ov

    from caloquant.engines.base import quick_throughput
    from caloquant.engines.export import save_ir
    from caloquant.engines.openvino_engine import OpenVINOEngine
    from caloquant.precision.calibration import calibration_items, calibration_latents
    from caloquant.precision.layer_map import openvino_layer_nodes, openvino_layer_precisions
    from caloquant.precision.source import as_float_model

    src = as_float_model(generator)
    say = log or (lambda _m: None)
    budget = SearchBudget(cfg.time_budget_s, cfg.max_trials, clock=time.perf_counter)
    reference = src.reference_engine(cfg.threads)
    say(f"float32 reference: {cfg.validation_size} showers ({reference.name})")
    judge = PhysicsJudge(reference, validation_size=cfg.validation_size, reference_size=cfg.reference_size,
                         k=cfg.k, tolerances=cfg.tolerances, seed=cfg.seed, batch_size=cfg.batch_size)
    t_reference = judge.reference_seconds
    if cfg.time_budget_s < 2 * t_reference:  # a trial generates the same showers and calibrates first
        raise InputValueError(f"time_budget_s {cfg.time_budget_s:g} s is shorter than one trial (about "
                              f"{2 * t_reference:.0f} s for {cfg.validation_size} showers on this machine)")
    tmp = Path(tempfile.mkdtemp(prefix=".tune-", dir=out))
    fp32_model = ov.convert_model(str(src.write_onnx(tmp / "fp32.onnx")))
    calibration_seed = cfg.seed + 1  # PTQ and QAT candidates calibrate on the same latents
    z_cal = calibration_latents(cfg.calibration_size, (100.0, 500.0), calibration_seed, src.latent, src.energy_input)
    items = calibration_items(z_cal, cfg.calibration_batch)
    hint = "bf16" if cfg.fallback == "bf16" else "fp32"
    models: dict[tuple[str, tuple[str, ...]], Any] = {}
    trial_log = TrialLog(out / "trials.jsonl")
    trials: list[Trial] = trial_log.trials

    nodes = openvino_layer_nodes(fp32_model)

    qat_model: Any = None
    qat_info: dict[str, Any] | None = None
    qat_float: tuple[str, ...] = ()  # the layers QAT itself keeps out of int8

    def build(kept: tuple[str, ...], base: str) -> Any:
        if set(kept) >= set(nodes):  # every layer in the fallback precision: no int8 at all
            return fp32_model.clone()
        if base == "qat":
            return release_layers(qat_model.clone(), set(kept))
        # exact node names: a transposed convolution's node is not named after its module (layer_map)
        ignored = nncf.IgnoredScope(names=[nodes[m] for m in kept], validate=False) if kept else None
        with hide_tool_progress():
            return nncf.quantize(fp32_model.clone(), nncf.Dataset(items), subset_size=len(items),
                                 preset=nncf.QuantizationPreset.PERFORMANCE, ignored_scope=ignored)

    def evaluate(kept: tuple[str, ...], *, speed: bool, base: str = "ptq") -> Trial:
        t0 = time.perf_counter()
        if base == "qat":  # what the trial records is what the model keeps out of int8
            kept = tuple(dict.fromkeys((*qat_float, *kept)))
        model = build(kept, base)
        save_ir(model, tmp, compress_to_fp16=False)
        engine = OpenVINOEngine(tmp / "model.xml", hint, threads=cfg.threads, latent=src.latent,
                                energy_input=src.energy_input)
        score, worst = judge.score(engine)
        sps = None
        if speed and score < 1:
            sps = quick_throughput(engine, cfg.batch_size)
        trial = Trial(kept, base, bool(score < 1), float(score), worst, sps, time.perf_counter() - t0)
        models[(base, kept)] = model
        trial_log.record(trial)
        say(f"trial {len(trials)} ({base}): {len(kept)} layers kept in {cfg.fallback}: score {score:.2f} "
            f"({'pass' if score < 1 else 'fail, worst ' + worst})" + (f", {sps:.0f} showers/s" if sps else ""))
        return trial

    def out_of_time() -> bool:
        return budget.spent(len(trials))

    full = evaluate((), speed=True)
    layers = sorted(openvino_layer_precisions(models[("ptq", ())]))
    base = "ptq"
    # our int8 recipe's layout next (output layer and the paths' last convolutions in the fallback): when
    # it passes, the search only tries to give those layers back to int8
    layout = tuple(m for m in float_modules(True, DEFAULT_FLOAT_TAIL) if m in layers)

    def from_layout(base: str) -> Trial | None:
        """The recipe layout from ``base`` int8 and, when it passes, its layers given back one by one."""
        if not layout or out_of_time():
            return None
        best = evaluate(layout, speed=True, base=base)
        if not best.passed:
            return None
        for layer in layout:
            if out_of_time():
                break
            trial_kept = tuple(x for x in best.kept if x != layer)
            if trial_kept and (trial := evaluate(trial_kept, speed=True, base=base)).passed:
                best = trial
        return best

    if not full.passed:
        full = from_layout("ptq") or full
    if not full.passed and cfg.qat_steps and src.module is not None and not out_of_time():
        # the int8 of every candidate from QAT where fine-tuning brings the whole model closer
        recipe = Int8QATConfig(calibration_size=cfg.calibration_size, calibration_batch=cfg.calibration_batch,
                               seed=calibration_seed, steps=cfg.qat_steps,
                               time_budget_s=max(cfg.time_budget_s - budget.elapsed, 1.0) / 2)
        say(f"int8 by QAT ({cfg.qat_steps} steps, at most {recipe.time_budget_s:.0f} s)")
        with hide_tool_progress():
            qat_model, qat_info = qat_openvino(src, recipe)
        # QAT fine-tunes int8 in our recipe's layout: those layers stay out of int8 in every QAT candidate
        qat_float = tuple(m for m in float_modules(recipe.keep_output_float, recipe.float_tail) if m in layers)
        full_qat = evaluate((), speed=True, base="qat")
        if full_qat.score < full.score:
            full, base = full_qat, "qat"
    stopped = False
    if not full.passed:
        say(f"measuring the sensitivity of {len(layers)} layers")
        sens: list[tuple[float, str]] = []
        for layer in (x for x in layers if x not in qat_float or base != "qat"):
            if out_of_time():
                stopped = True
                break
            sens.append((evaluate((layer,), speed=False, base=base).score, layer))
        order = [name for _, name in sorted(sens)]  # keeping these out of int8 helps most first
        kept: tuple[str, ...] = ()
        for layer in order:
            if out_of_time():
                stopped = True
                break
            kept = (*kept, layer)
            if evaluate(kept, speed=True, base=base).passed:
                break
        passing = [t for t in trials if t.passed]
        if passing and not stopped:  # give layers back to int8 while the candidate still passes
            best_kept = min(passing, key=lambda t: len(t.kept)).kept
            for layer in best_kept:
                if base == "qat" and layer in qat_float:  # QAT's own float layers: not int8-trained
                    continue
                if out_of_time():
                    stopped = True
                    break
                trial_kept = tuple(x for x in best_kept if x != layer)
                if trial_kept and evaluate(trial_kept, speed=True, base=base).passed:
                    best_kept = trial_kept
    if not full.passed:
        # A mix with a few int8 layers can run slower than no int8 at all (each int8 island costs
        # conversions): the plain fallback model is always judged and timed too, even past the budget.
        evaluate(tuple(layers), speed=True)
    chosen, found = pick(trials)
    save_ir(models[(chosen.base, chosen.kept)], out, compress_to_fp16=False)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return TuneResult(chosen, found, trials, layers, stopped, qat_info)


def quantize_auto(generator: Any, cfg: AutoConfig, out: Path, *, log: Callable[[str], None] | None = None
                  ) -> dict[str, Any]:
    """Run the tuner into ``out`` and return what caloquant.json records about the chosen model
    (precision 'auto'; `precision.quantize` writes it)."""
    import openvino as ov

    from caloquant.precision.layer_map import openvino_layer_precisions
    from caloquant.precision.source import as_float_model

    src = as_float_model(generator)
    result = tune(src, cfg, out, log=log)
    layer_map = openvino_layer_precisions(ov.Core().read_model(str(out / "model.xml")), cfg.fallback)
    return {"files": ["model.xml", "model.bin", "trials.jsonl"], "runtime_precision": cfg.fallback,
            "layer_precisions": layer_map,
            **({"qat": result.qat} if result.qat else {}),
            "auto": {"passed": result.passed, "kept_out_of_int8": list(result.chosen.kept),
                     "int8_from": result.chosen.base,
                     "score": result.chosen.score, "worst_quantity": result.chosen.worst,
                     "showers_per_s": result.chosen.showers_per_s, "trials": len(result.trials),
                     "stopped_by_time_budget": result.stopped_by_budget,
                     "rule": f"|diff| <= max(tol, {cfg.k:g} sigma), sigma at {cfg.reference_size} showers, "
                             f"candidate vs float32 on {cfg.validation_size} paired showers"}}
