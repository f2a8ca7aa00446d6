"""`caloquant autoq --target trigger`: both search strategies over several seeds at the same time budget,
the Pareto front, the chosen model (cheapest passing candidate within the BOPs budget), its test-split
numbers and its QONNX export."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.edge.search import Trial, evaluate_config, gradient_search, pareto_front, random_search
from caloquant.errors import InputValueError
from caloquant.precision.search import TrialLog, choose

__all__ = ["STRATEGIES", "generator_hls_check", "run_autoq", "run_autoq_generator"]

def _hgq(*args: Any, **kwargs: Any) -> list[Trial]:
    from caloquant.edge.hgq_peer import hgq_search

    return hgq_search(*args, **kwargs)


STRATEGIES: dict[str, Callable[..., list[Trial]]] = {"random": random_search, "gradient": gradient_search,
                                                     "hgq2": _hgq}


def run_autoq(out: str | os.PathLike[str], *, bops_budget: float | None = None, time_budget_s: float = 120.0,
              seeds: tuple[int, ...] = (1, 2, 3), strategies: tuple[str, ...] = ("random", "gradient", "hgq2"),
              qat_epochs: int = 15, final_epochs: int = 45, max_finalists: int = 5, margin: float = 0.7,
              hls: bool = True, max_trials: int | None = None,
              on_trial: Callable[[Trial], None] | None = None) -> dict[str, Any]:
    """margin: the chosen candidate's validation score must be at most this (1 = just passing), so that the
    cheapest of many noisy trials still passes on the untouched test split (the winner's curse)."""
    from caloquant._atomic import staged_folder

    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise InputValueError(f"strategies {unknown[0]!r}: expected one of {', '.join(STRATEGIES)}")
    if not set(strategies) - {"hgq2"}:
        raise InputValueError("strategies hgq2 alone: the HGQ2 peer is compared, not chosen; add random or gradient")
    for name, value in (("qat_epochs", qat_epochs), ("final_epochs", final_epochs)):
        if value < 1:
            raise InputValueError(f"{name} {value}: must be a positive number of epochs")
    if not 0 < margin <= 1:
        raise InputValueError(f"margin {margin:g}: must be in (0, 1]")
    if time_budget_s <= 0:
        raise InputValueError(f"time_budget_s {time_budget_s:g}: must be positive")
    final_out = Path(out)
    with staged_folder(final_out) as work:  # an interrupted search leaves no half-written folder
        result = _autoq_into(work, bops_budget, time_budget_s, seeds, strategies, qat_epochs, final_epochs,
                             max_finalists, margin, hls, max_trials, on_trial)
    if result["hls4ml"]:
        result["hls4ml"]["project"] = str(final_out / "hls4ml" / "project")
    return result


def _autoq_into(out: Path, bops_budget: float | None, time_budget_s: float, seeds: tuple[int, ...],
                strategies: tuple[str, ...], qat_epochs: int, final_epochs: int, max_finalists: int, margin: float,
                hls: bool, max_trials: int | None, on_trial: Callable[[Trial], None] | None) -> dict[str, Any]:
    from caloquant._atomic import write_json_atomic
    from caloquant.edge.data import load_dataset
    from caloquant.edge.quant import LayerBits, QuantConfig, export_qonnx, float_reference_cost, save_quant_trigger
    from caloquant.edge.train import evaluate, load_trigger
    from caloquant.metadata import metadata
    from caloquant.resources import trigger_features_file, trigger_model_file

    float_model = load_trigger(trigger_model_file())
    data = load_dataset(trigger_features_file())
    ref32, ref16 = float_reference_cost(float_model), float_reference_cost(float_model, 16)
    budget = bops_budget if bops_budget is not None else ref32["bops"] / 50
    if budget <= 0:
        raise InputValueError(f"bops_budget {budget:g}: must be a positive number of BOPs")
    trials: list[Trial] = []
    trial_log = TrialLog(out / "trials.jsonl", on_trial)
    runs = []
    for strategy in strategies:
        for seed in seeds:
            t0 = time.perf_counter()
            found = STRATEGIES[strategy](float_model, data, budget_s=time_budget_s, seed=seed, qat_epochs=qat_epochs,
                                         max_trials=max_trials, on_trial=trial_log.record)
            trials += found
            ok = [t for t in found if t.passed and t.bops <= budget]
            runs.append({"strategy": strategy, "seed": seed, "trials": len(found),
                         "seconds": time.perf_counter() - t0, "passing_within_budget": len(ok),
                         "best_bops": min((t.bops for t in ok), default=None),
                         "seconds_per_trial": float(np.mean([t.seconds for t in found])) if found else None})
    ours = [t for t in trials if t.strategy != "hgq2"]  # the peer is compared, not exported (EBOPs differ)
    within = [t for t in ours if t.bops <= budget]
    passing = sorted((t for t in within if t.passed and t.score <= margin), key=lambda t: t.bops)
    # finalists, cheapest first: QAT again with final_epochs and re-judged on validation (a fresh training
    # run, so a lucky trial does not carry through); the first that still passes with the margin is chosen
    def config_of(t: Trial) -> QuantConfig:
        return QuantConfig(tuple(LayerBits(**x) for x in t.config["layers"]), t.config["input_bits"])

    def retrain(t: Trial) -> tuple[Trial, Any]:
        return evaluate_config(config_of(t), float_model, data, strategy=t.strategy, seed=t.seed,
                               qat_epochs=final_epochs, split="validation")

    finalists = []
    chosen, model = None, None
    for cand in passing[:max_finalists]:
        val, q = retrain(cand)
        finalists.append({"bops": cand.bops, "trial_score": cand.score, "retrained_score": val.score})
        if val.passed and val.score <= margin:
            chosen, model = cand, q
            break
    met = chosen is not None
    if chosen is None:  # nothing within budget survives: the closest candidate, trained the same way
        closest: Trial = choose(within or ours, passed=lambda t: False, cost=lambda t: t.bops,
                                closeness=lambda t: (t.score, t.bops))[0]
        chosen = closest
        _, model = retrain(closest)
    assert chosen is not None
    cfg = config_of(chosen)
    final, model = evaluate_config(cfg, float_model, data, strategy=chosen.strategy, seed=chosen.seed,
                                   qat_epochs=0, split="test", model=model)
    met = met and final.bops <= budget  # retraining can leave a different number of zero weights
    export_qonnx(model, out / "trigger_qonnx.onnx")
    save_quant_trigger(out / "trigger_quant.safetensors", model)
    firmware = _firmware(model, float_model, data, out / "hls4ml") if hls else None
    float_test = evaluate(float_model, data.part("test"))
    front = pareto_front(ours)
    result = metadata(seed=seeds[0], extra={
        "kind": "autoq trigger", "bops_budget": budget, "time_budget_s_per_strategy_and_seed": time_budget_s,
        "seeds": list(seeds), "qat_epochs": qat_epochs, "final_qat_epochs": final_epochs,
        "selection_margin": margin, "finalists": finalists,
        "rule": "validation split, |diff| <= max(1 % of float, 4 sigma paired bootstrap) for AUC and energy "
        "resolution", "float": {"test": float_test, **ref32}, "fixed16": ref16, "runs": runs,
        "strategies": _strategy_table(runs, trials, budget), "pareto": [asdict(t) for t in front], "met_budget": met,
        "chosen": {"config": cfg.to_json(), "strategy": chosen.strategy, "seed": chosen.seed,
                   "validation": asdict(chosen), "test": asdict(final), "test_passed": final.passed,
                   "bops_reduction_vs_float32": ref32["bops"] / final.bops,
                   "bops_reduction_vs_fixed16": ref16["bops"] / final.bops},
        "hls4ml": firmware})
    write_json_atomic(out / "autoq.json", result)
    _plot(trials, front, budget, out / "pareto.png")
    return result


def generator_hls_check(model: str | os.PathLike[str] | None) -> list[str]:
    """The generator's layers hls4ml cannot build (checked before any search)."""
    import tempfile

    from caloquant.edge.hls import hls_unsupported
    from caloquant.engines.export import export_onnx
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import resolve_generator_path

    with tempfile.TemporaryDirectory() as tmp:
        return hls_unsupported(export_onnx(load_generator(resolve_generator_path(model)), Path(tmp) / "g.onnx"))


def autoq_failure(result: dict[str, Any]) -> str | None:
    """Why a search result must not be used (None: it may): nothing met the budget, the chosen trigger
    fails the rule on the test split, or its hls4ml C simulation is more than 1 LSB off."""
    if not result["met_budget"]:
        budget = result.get("bops_budget")
        return (f"no candidate passed within {budget:.0f} BOPs; saved the closest" if budget is not None
                else "no candidate passed the rule; saved the closest")
    if "test_passed" in result["chosen"] and not result["chosen"]["test_passed"]:
        return "the chosen model fails the rule on the test split"
    firmware = result.get("hls4ml")
    if isinstance(firmware, dict) and firmware["csim"]["max_diff_lsb"] > 1:
        return "hls4ml C simulation disagrees with the quantized model by more than 1 LSB"
    return None


def run_autoq_generator(out: str | os.PathLike[str], *, model: str | os.PathLike[str] | None = None,
                        bops_budget: float | None = None, time_budget_s: float = 900.0,
                        validation_size: int = 2000, seed: int = 7, hls: bool = False, max_trials: int | None = None,
                        on_trial: Callable[[Any], None] | None = None,
                        log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Bit widths for the generator judged by the physics rule; autoq.json, trials, plot and the chosen
    model's QONNX in out. ``hls``: refuse up front, naming the layers, since hls4ml cannot build the
    generator (QONNX is written regardless)."""
    if hls:
        missing = generator_hls_check(model)
        if missing:
            raise InputValueError(f"hls4ml cannot build the generator: no layer for {len(missing)} nodes: "
                                  f"{', '.join(missing)}; run without hls (QONNX is still written)")
    from caloquant._atomic import staged_folder, write_json_atomic
    from caloquant.edge.generator_bits import search_generator, write_qonnx
    from caloquant.metadata import metadata
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import file_sha256, resolve_generator_path

    if time_budget_s <= 0:
        raise InputValueError(f"time_budget_s {time_budget_s:g}: must be positive")
    if bops_budget is not None and bops_budget <= 0:
        raise InputValueError(f"bops_budget {bops_budget:g}: must be a positive number of BOPs")
    path = resolve_generator_path(model)
    gen = load_generator(path)
    with staged_folder(out) as work:
        r = search_generator(gen, work, time_budget_s=time_budget_s, validation_size=validation_size, seed=seed,
                             max_trials=max_trials, on_trial=on_trial, log=log)
        chosen = r["chosen"]
        r["bops_budget"] = bops_budget
        r["met_budget"] = r["met"] and (bops_budget is None or chosen["bops"] <= bops_budget)
        bits = {n: tuple(b) for n, b in chosen["bits"].items()}
        write_qonnx(gen, bits, chosen["activation_ranges"], work / "generator_qonnx.onnx")
        result = metadata(seed=seed, extra={**r, "model": {"path": str(path), "sha256": file_sha256(path)},
                                            "hls4ml": "not exported: hls4ml has no transposed convolution"})
        write_json_atomic(work / "autoq.json", result)
        _plot_generator(r["trials"], bops_budget, work / "pareto.png")
    return result


def _plot_generator(trials: list[dict[str, Any]], budget: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for ok, colour in ((True, "tab:green"), (False, "tab:red")):
        ts = [t for t in trials if t["passed"] is ok]
        ax.scatter([t["bops"] for t in ts], [t["score"] for t in ts], c=colour, s=20,
                   label="physics-compatible" if ok else "fails the rule")
    _finish_plot(fig, ax, budget, path, "BOPs per shower", "max |diff| / allowed vs float32")


def _strategy_table(runs: list[dict[str, Any]], trials: list[Trial], budget: float) -> list[dict[str, Any]]:
    """One row per strategy over its seeds: trials, time per trial, cheapest passing BOPs per seed."""
    rows = []
    for strategy in dict.fromkeys(r["strategy"] for r in runs):
        mine = [r for r in runs if r["strategy"] == strategy]
        best = [r["best_bops"] for r in mine]
        ts = [t for t in trials if t.strategy == strategy]
        rows.append({"strategy": strategy, "seeds": len(mine), "trials": len(ts),
                     "seconds_per_trial": float(np.mean([t.seconds for t in ts])) if ts else None,
                     "passing": sum(t.passed for t in ts), "passing_within_budget": sum(r["passing_within_budget"]
                                                                                       for r in mine),
                     "seeds_meeting_budget": sum(b is not None for b in best),
                     "best_bops_per_seed": best,
                     "median_best_bops": float(np.median([b for b in best if b is not None]))
                     if any(b is not None for b in best) else None, "budget": budget})
    return rows


def _firmware(model: Any, float_model: Any, data: Any, out: Path) -> dict[str, Any]:
    """hls4ml project of the chosen model, its C simulation checked on every test shower."""
    from caloquant.edge.hls import HLS_BACKEND, export_hls, latency_estimate, verify_csim
    from caloquant.edge.quant import standardise

    t0 = time.perf_counter()
    hls = export_hls(model, out)
    check = verify_csim(model, hls, standardise(float_model, data.part("test").x))
    return {"project": "hls4ml/project", "backend": HLS_BACKEND, "io_type": "io_parallel",
            "strategy": "Latency", "csim": check, "bit_exact": check["max_diff_lsb"] == 0.0,
            "estimates": latency_estimate(model), "seconds": time.perf_counter() - t0}


def _plot(trials: list[Trial], front: list[Trial], budget: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy, marker in (("random", "o"), ("gradient", "s"), ("hgq2", "^")):
        ts = [t for t in trials if t.strategy == strategy]
        if ts:
            label = "hgq2 (its EBOPs)" if strategy == "hgq2" else strategy
            ax.scatter([t.bops for t in ts], [t.score for t in ts], marker=marker, s=18, alpha=0.7, label=label)
    ax.plot([t.bops for t in front], [t.score for t in front], "k--", lw=1, label="Pareto front")
    _finish_plot(fig, ax, budget, path, "BOPs (QONNX inference cost)", "max |diff| / allowed (validation)")


def _finish_plot(fig: Any, ax: Any, budget: float | None, path: Path, xlabel: str, ylabel: str) -> None:
    """Score-vs-cost axes shared by both targets: pass line at 1, the budget, log scales, atomic PNG."""
    import matplotlib.pyplot as plt

    from caloquant._atomic import atomic_path

    ax.axhline(1.0, color="grey", lw=0.8)
    if budget:
        ax.axvline(budget, color="red", lw=0.8, label="BOPs budget")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
