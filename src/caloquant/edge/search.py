"""Per-layer bit-width search for the trigger model: a sampling search (AutoQKeras style) and a gradient one
(HGQ style), judged by one rule and one cost model so they can be compared at the same time budget.

Every candidate is a QuantConfig, fine-tuned with QAT and scored on the validation split against the float
model on the same showers: it passes when both the AUC and the energy resolution differ from the float
model's by at most max(1 % relative, k sigma of a paired bootstrap). Cost is QONNX BOPs. The chosen model
is the cheapest passing candidate; the final numbers are measured once on the untouched test split.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from caloquant.edge.quant import LayerBits, QuantConfig, build_quant_trigger, predict_quant, qat, quant_cost
from caloquant.edge.train import paired_difference, predict
from caloquant.precision.search import SearchBudget

__all__ = ["Trial", "accept", "evaluate_config", "gradient_search", "pareto_front", "random_search"]


@dataclass
class Trial:
    strategy: str
    seed: int
    config: dict[str, Any]
    bops: float
    energy_pj: float
    weight_bits: float
    auc_diff: float
    auc_allowed: float
    resolution_diff: float
    resolution_allowed: float
    passed: bool
    score: float  # max of |diff| / allowed over both metrics (< 1 passes)
    seconds: float


def accept(diff: dict[str, float], float_metrics: tuple[float, float], k: float = 4.0) -> tuple[bool, float, dict]:
    auc_allowed = max(0.01 * float_metrics[0], k * diff["auc_diff_se"])
    res_allowed = max(0.01 * float_metrics[1], k * diff["resolution_diff_se"])
    score = max(abs(diff["auc_diff"]) / auc_allowed, abs(diff["resolution_diff"]) / res_allowed)
    return score <= 1.0, score, {"auc_allowed": auc_allowed, "resolution_allowed": res_allowed}


def _float_metrics(float_model: Any, part: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[float, float]]:
    from caloquant.edge.train import _metrics

    p = predict(float_model, part.x)
    return p, _metrics(*p, part.label, part.energy)


def evaluate_config(cfg: QuantConfig, float_model: Any, data: Any, *, strategy: str, seed: int,
                    qat_epochs: int = 15, split: str = "validation", k: float = 4.0,
                    model: Any = None) -> tuple[Trial, Any]:
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    q = model if model is not None else build_quant_trigger(float_model, cfg)
    q = qat(q, float_model, data, epochs=qat_epochs, seed=seed)
    part = data.part(split)
    pf, mf = _float_metrics(float_model, part)
    diff = paired_difference(predict_quant(q, float_model, part.x), pf, part, n_boot=100, seed=seed)
    passed, score, allowed = accept(diff, mf, k)
    cost = quant_cost(q)
    trial = Trial(strategy, seed, cfg.to_json(), cost["bops"], cost["energy_pj"], cost["weight_bits"],
                  diff["auc_diff"], allowed["auc_allowed"], diff["resolution_diff"], allowed["resolution_allowed"],
                  passed, score, time.perf_counter() - t0)
    return trial, q


def _sample(rng: np.random.Generator, n_layers: int) -> QuantConfig:
    layers = []
    for i in range(n_layers):
        last = i == n_layers - 1
        layers.append(LayerBits(weight=int(rng.integers(2, 9)), bias=int(rng.integers(4, 13)),
                                act=int(rng.integers(6, 17)) if last else int(rng.integers(3, 11)),
                                sparsity=float(rng.choice([0.0, 0.25, 0.5, 0.75]))))
    return QuantConfig(tuple(layers), input_bits=int(rng.integers(4, 11)))


def random_search(float_model: Any, data: Any, *, budget_s: float, seed: int, qat_epochs: int = 15,
                  max_trials: int | None = None, on_trial: Callable[[Trial], None] | None = None) -> list[Trial]:
    """Uniform sampling of per-layer widths and sparsities until the time budget is spent."""
    rng = np.random.default_rng(seed)
    n_layers = sum(isinstance(m, torch.nn.Linear) for m in float_model.modules())
    trials: list[Trial] = []
    budget = SearchBudget(budget_s, max_trials)
    while not budget.spent(len(trials)):
        trial, _ = evaluate_config(_sample(rng, n_layers), float_model, data, strategy="random", seed=seed,
                                   qat_epochs=qat_epochs)
        trials.append(trial)
        if on_trial:
            on_trial(trial)
    return trials


def _learned_config(float_model: Any, data: Any, *, lam: float, sparsity: float, seed: int,
                    epochs: int) -> QuantConfig:
    """Train learnable bit widths (Brevitas parameter bit widths, STE) under a BOPs penalty; round them."""
    import brevitas.nn as qnn
    from brevitas.inject.enum import BitWidthImplType
    from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint

    from caloquant.edge.model import trigger_loss
    from caloquant.edge.quant import standardise

    torch.manual_seed(seed)
    linears = [m for m in float_model.modules() if isinstance(m, torch.nn.Linear)]
    learn = {"bit_width_impl_type": BitWidthImplType.PARAMETER, "min_overall_bit_width": 2,
             "max_overall_bit_width": 16}
    inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=8, return_quant_tensor=True, **learn)
    qls: Any = torch.nn.ModuleList()  # brevitas layers: their quant tensors are not typed
    acts = torch.nn.ModuleList()
    for i, lin in enumerate(linears):
        q = qnn.QuantLinear(lin.in_features, lin.out_features, bias=True, weight_quant=Int8WeightPerTensorFixedPoint,
                            weight_bit_width=8, bias_quant=None, return_quant_tensor=False,
                            **{f"weight_{k}": v for k, v in learn.items()})
        with torch.no_grad():
            q.weight.copy_(lin.weight)
            q.bias.copy_(lin.bias)
        qls.append(q)
        last = i == len(linears) - 1
        acts.append((qnn.QuantIdentity if last else qnn.QuantReLU)(
            act_quant=Int8ActPerTensorFixedPoint if last else Uint8ActPerTensorFixedPoint,
            bit_width=12 if last else 8, return_quant_tensor=True, **({"max_val": 8.0} if last else {}), **learn))
    named = [*inp.named_parameters(), *qls.named_parameters(), *acts.named_parameters()]
    widths_p = [p for n, p in named if "bit_width" in n]
    others = [p for n, p in named if "bit_width" not in n]
    opt = torch.optim.Adam([{"params": others, "lr": 1e-3}, {"params": widths_p, "lr": 0.05}])
    train = data.part("train")
    raw = torch.from_numpy(train.x)
    x = standardise(float_model, train.x)
    y = torch.from_numpy(train.label.astype(np.float32))
    e = torch.from_numpy(train.energy.astype(np.float32))
    ref = sum(lin.in_features * lin.out_features for lin in linears) * 16 * 16  # 16-bit fixed-point BOPs
    gen = torch.Generator().manual_seed(seed)

    def forward(xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = inp(xb)
        bops = torch.zeros(())
        for lin, act in zip(qls, acts, strict=True):
            bw = lin.quant_weight().bit_width
            bops = bops + lin.in_features * lin.out_features * (1 - sparsity) * bw * h.bit_width
            h = act(lin(h.value))
        return h.value, bops

    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(256):
            opt.zero_grad()
            out, bops = forward(x[idx])
            loss = trigger_loss(out, raw[idx], y[idx], e[idx]) + lam * bops / ref
            loss.backward()
            opt.step()
    with torch.no_grad():
        widths = [round(float(q.quant_weight().bit_width)) for q in qls]
        h = inp(x[:2])
        in_bits = round(float(h.bit_width))
        act_bits = []
        for lin, act in zip(qls, acts, strict=True):
            h = act(lin(h.value))
            act_bits.append(round(float(h.bit_width)))
    layers = tuple(LayerBits(weight=w, bias=min(16, max(8, w + 4)), act=a, sparsity=sparsity)
                   for w, a in zip(widths, act_bits, strict=True))
    return QuantConfig(layers, input_bits=in_bits)


def gradient_search(float_model: Any, data: Any, *, budget_s: float, seed: int, qat_epochs: int = 15,
                    learn_epochs: int = 10, max_trials: int | None = None,
                    on_trial: Callable[[Trial], None] | None = None) -> list[Trial]:
    """Sweep the cost penalty (and pruning) until the budget is spent; each learned configuration is
    fine-tuned and judged exactly like a sampled one."""
    rng = np.random.default_rng(seed)
    trials: list[Trial] = []
    budget = SearchBudget(budget_s, max_trials)
    while not budget.spent(len(trials)):
        lam = float(10 ** rng.uniform(-1.5, 1.0))
        sparsity = float(rng.choice([0.0, 0.25, 0.5, 0.75]))
        cfg = _learned_config(float_model, data, lam=lam, sparsity=sparsity, seed=seed + len(trials),
                              epochs=learn_epochs)
        cfg = QuantConfig(cfg.layers, cfg.input_bits, extra={"lambda": lam})
        trial, _ = evaluate_config(cfg, float_model, data, strategy="gradient", seed=seed, qat_epochs=qat_epochs)
        trial.config["lambda"] = lam
        trials.append(trial)
        if on_trial:
            on_trial(trial)
    return trials


def pareto_front(trials: list[Trial]) -> list[Trial]:
    """Trials not dominated in (BOPs, score): cheaper or closer to the float model."""
    front: list[Any] = []
    for t in sorted(trials, key=lambda t: (t.bops, t.score)):
        if not front or t.score < front[-1].score:
            front.append(t)
    return front


def summarize(trials: list[Trial]) -> dict[str, Any]:
    passing = [t for t in trials if t.passed]
    best = min(passing, key=lambda t: t.bops) if passing else min(trials, key=lambda t: t.score)
    return {"n_trials": len(trials), "n_passing": len(passing), "best": asdict(best),
            "best_bops": best.bops if passing else math.nan}
