"""Per-layer bit widths for the paper generator, without retraining: fake-quantized weights and layer inputs,
judged by the physics rule of `quantize --precision auto` against float32 on the same latents.

Quantizers are the fixed-point ones the trigger uses (symmetric, narrow, power-of-two scale per tensor;
activation ranges from calibration latents). BatchNorm stays an affine float stage between layers (it
follows the activation here, so it does not fold into the weights) and the output ReLU is not quantized:
the cell energies span five decades. Cost is QONNX's convention: BOPs = sum over layers of MACs x weight
bits x input bits, MACs counted per layer by hooks (QONNX's inference cost has no ConvTranspose; a test
checks the count against QONNX on the layers it does cover), energy with the trigger's table.

Search (no retraining, so every candidate costs one generation of the validation set): measure each
layer's sensitivity once with a cheap proxy (pixel-wise relative error of a few showers with one weight
or input width lowered), allocate widths greedily for a proxy error budget (most BOPs saved per unit of
error first), and bisect the budget with the physics rule; the cheapest passing candidate wins.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from caloquant.edge.quant import MAX_BITS, MIN_BITS, energy_pj
from caloquant.errors import InputValueError
from caloquant.models.generator import Generator

__all__ = ["WIDTHS", "GenTrial", "allocate", "fake_quant_generator", "layer_macs", "layer_names", "po2_quantize",
           "po2_step", "search_generator", "write_qonnx"]

WIDTHS = (16, 10, 8, 7, 6, 5, 4, 3)  # candidate widths, widest first
_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def layer_names(gen: nn.Module) -> list[str]:
    return [name for name, m in gen.named_modules() if isinstance(m, _LAYERS)]


def layer_macs(gen: Generator, example: torch.Tensor | None = None) -> dict[str, int]:
    """MACs per shower of every conv / transposed conv / dense layer (QONNX's convention: the transposed
    convolution counts input pixels x C_in x C_out x k x k, the multiplies its scatter form performs)."""
    macs: dict[str, int] = {}
    hooks = []
    for name, m in gen.named_modules():
        if isinstance(m, nn.Conv2d):
            def conv(mod: nn.Conv2d, _i: Any, out: torch.Tensor, name: str = name) -> None:
                k = mod.kernel_size[0] * mod.kernel_size[1]
                macs[name] = int(out[0].numel() * mod.in_channels // mod.groups * k)
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.ConvTranspose2d):
            def deconv(mod: nn.ConvTranspose2d, inp: tuple[torch.Tensor], _o: Any, name: str = name) -> None:
                k = mod.kernel_size[0] * mod.kernel_size[1]
                macs[name] = int(inp[0][0].numel() * mod.out_channels // mod.groups * k)
            hooks.append(m.register_forward_hook(deconv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(
                lambda mod, _i, _o, name=name: macs.__setitem__(name, mod.in_features * mod.out_features)))
    try:
        with torch.no_grad():
            gen.eval()(torch.zeros(1, gen.cfg.latent) if example is None else example)
    finally:
        for h in hooks:
            h.remove()
    return macs


def po2_step(bits: int, max_abs: float) -> float:
    """The power-of-two step of a signed narrow-range b-bit grid that reaches max_abs."""
    return 2.0 ** math.ceil(math.log2(max(max_abs, 1e-30) / (2 ** (bits - 1) - 1)))


def po2_quantize(x: torch.Tensor, bits: int, max_abs: float) -> torch.Tensor:
    """Signed, narrow-range fixed point (round half to even, saturating) with a power-of-two step."""
    if bits >= 32:
        return x
    top = 2 ** (bits - 1) - 1
    step = po2_step(bits, max_abs)
    return torch.clamp(torch.round(x / step), -top, top) * step


def activation_ranges(gen: nn.Module, z: np.ndarray) -> dict[str, float]:
    """max |input| of every layer over calibration latents."""
    ranges: dict[str, float] = {}
    hooks = [m.register_forward_pre_hook(
        lambda _m, inp, name=name: ranges.__setitem__(name, max(ranges.get(name, 0.0), float(inp[0].abs().max()))))
        for name, m in gen.named_modules() if isinstance(m, _LAYERS)]
    try:
        with torch.no_grad():
            gen.eval()
            for chunk in np.array_split(z, max(1, len(z) // 64)):
                gen(torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32)))
    finally:
        for h in hooks:
            h.remove()
    return ranges


def fake_quant_generator(gen: nn.Module, bits: dict[str, tuple[int, int]], ranges: dict[str, float]) -> nn.Module:
    """A copy of gen with each listed layer's weights and input on its (weight, input) fixed-point grid."""
    q = copy.deepcopy(gen).eval()
    modules = dict(q.named_modules())
    for name, (wb, ab) in bits.items():
        for kind, b in (("weight", wb), ("input", ab)):
            if not (MIN_BITS <= b <= MAX_BITS or b == 32):
                raise InputValueError(f"{name} {kind} bits {b}: supported widths are {MIN_BITS} to {MAX_BITS} "
                                      "(32 = float)")
        m = modules[name]
        with torch.no_grad():
            m.weight.copy_(po2_quantize(m.weight, wb, float(m.weight.detach().abs().max())))
        if ab < 32:
            m.register_forward_pre_hook(
                lambda _m, inp, ab=ab, r=ranges[name]: (po2_quantize(inp[0], ab, r), *inp[1:]))
    return q


def bops(bits: dict[str, tuple[int, int]], macs: dict[str, int]) -> float:
    return float(sum(macs[n] * w * a for n, (w, a) in bits.items()))


def cost(bits: dict[str, tuple[int, int]], gen: nn.Module, macs: dict[str, int]) -> dict[str, float]:
    modules = dict(gen.named_modules())
    weight_bits = sum(modules[n].weight.numel() * w for n, (w, _a) in bits.items())
    e = sum(energy_pj({(w, a): macs[n]}, 32, 0.0) for n, (w, a) in bits.items())
    return {"bops": bops(bits, macs), "weight_bits": float(weight_bits),
            "energy_pj": e + energy_pj({}, 32, float(weight_bits))}


def float_cost(gen: nn.Module, macs: dict[str, int], width: int = 32) -> dict[str, float]:
    """float32 (width 32, float multiply-adds) or uniform fixed point of the given width."""
    from caloquant.edge.quant import ENERGY_PJ

    names = layer_names(gen)
    if width != 32:
        return cost({n: (width, width) for n in names}, gen, macs)
    modules = dict(gen.named_modules())
    n_macs = sum(macs.values())
    weights = sum(modules[n].weight.numel() for n in names)
    return {"bops": float(n_macs * 32 * 32), "weight_bits": float(weights * 32),
            "energy_pj": n_macs * (ENERGY_PJ["fp32_mult"] + ENERGY_PJ["fp32_add"])
            + weights * 32 * ENERGY_PJ["sram_8kb_per_bit"]}


def sensitivities(gen: nn.Module, ranges: dict[str, float], z: np.ndarray,
                  on_layer: Callable[[str], None] | None = None) -> dict[tuple[str, str, int], float]:
    """Proxy error (sum |x_q - x| / sum |x|, the paper's pixel-wise number made relative) with ONE weight or
    input width lowered, everything else float. The layer is quantized in place and restored."""
    zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
    modules = dict(gen.named_modules())
    with torch.no_grad():
        ref = gen.eval()(zt)
        norm = float(ref.abs().sum())
        out: dict[tuple[str, str, int], float] = {}
        for name in layer_names(gen):
            m = modules[name]
            w = m.weight.detach().clone()
            try:
                for b in WIDTHS:
                    m.weight.copy_(po2_quantize(w, b, float(w.abs().max())))
                    out[(name, "weight", b)] = float((gen(zt) - ref).abs().sum()) / norm
            finally:  # the caller's model comes back unchanged, even after Ctrl-C
                m.weight.copy_(w)
            for b in WIDTHS:
                hook = m.register_forward_pre_hook(
                    lambda _m, inp, b=b, r=ranges[name]: (po2_quantize(inp[0], b, r), *inp[1:]))
                try:
                    out[(name, "input", b)] = float((gen(zt) - ref).abs().sum()) / norm
                finally:
                    hook.remove()
            if on_layer:
                on_layer(name)
    return out


def allocate(sens: dict[tuple[str, str, int], float], macs: dict[str, int],
             budget: float) -> dict[str, tuple[int, int]]:
    """Greedy: start at 16 bits everywhere; lower the (layer, kind) width that saves the most BOPs per unit
    of added proxy error while the summed proxy error stays within budget."""
    names = list(macs)
    state = {(n, k): 0 for n in names for k in ("weight", "input")}  # index into WIDTHS
    total = sum(sens[(n, k, WIDTHS[0])] for n, k in state)

    def width(n: str, k: str) -> int:
        return WIDTHS[state[(n, k)]]

    while True:
        best = None
        for (n, k), i in state.items():
            if i + 1 >= len(WIDTHS):
                continue
            other = width(n, "input" if k == "weight" else "weight")
            saved = macs[n] * other * (WIDTHS[i] - WIDTHS[i + 1])
            added = sens[(n, k, WIDTHS[i + 1])] - sens[(n, k, WIDTHS[i])]
            if total + added > budget:
                continue
            ratio = saved / max(added, 1e-12)
            if best is None or ratio > best[0]:
                best = (ratio, n, k, added)
        if best is None:
            break
        _, n, k, added = best
        state[(n, k)] += 1
        total += added
    return {n: (width(n, "weight"), width(n, "input")) for n in names}


@dataclass
class GenTrial:
    proxy_budget: float
    bits: dict[str, list[int]]
    bops: float
    energy_pj: float
    weight_bits: float
    passed: bool
    score: float
    worst: str
    seconds: float


def search_generator(gen: Generator, out: Path, *, time_budget_s: float = 900.0, validation_size: int = 2000,
                     reference_size: int = 10000, seed: int = 7, threads: int = 2, proxy_showers: int = 8,
                     max_trials: int | None = None,
                     on_trial: Callable[[GenTrial], None] | None = None,
                     log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Bisect the proxy error budget with the physics rule; returns the result written to out/autoq.json."""
    from caloquant.engines.torch_engine import TorchEngine
    from caloquant.precision.calibration import calibration_latents
    from caloquant.precision.judge import PhysicsJudge
    from caloquant.precision.search import SearchBudget, TrialLog, choose

    say = log or (lambda _m: None)
    search_budget = SearchBudget(time_budget_s, max_trials)
    torch.set_num_threads(threads)
    gen = gen.eval()
    macs = layer_macs(gen)
    ranges = activation_ranges(gen, calibration_latents(256, (100.0, 500.0), seed + 1, gen.cfg.latent))
    say(f"float32 reference: {validation_size} showers")
    judge = PhysicsJudge(TorchEngine(gen, "fp32", threads=threads), validation_size=validation_size,
                         reference_size=reference_size, seed=seed)
    z_proxy = calibration_latents(proxy_showers, (100.0, 500.0), seed + 2, gen.cfg.latent)
    t0 = time.perf_counter()
    with torch.no_grad():
        gen(torch.from_numpy(z_proxy))
    n_passes = len(macs) * len(WIDTHS) * 2
    needed = n_passes * (time.perf_counter() - t0) + 3 * judge.reference_seconds
    if time_budget_s < needed + judge.reference_seconds:
        raise InputValueError(f"time_budget_s {time_budget_s:g} s is too short: the sensitivity pass and three "
                              f"trials take about {needed:.0f} s for {validation_size} showers on this machine")
    say(f"layer sensitivities: {len(macs)} layers x {len(WIDTHS)} widths x (weight, input), "
        f"about {n_passes * (time.perf_counter() - t0):.0f} s")
    sens = sensitivities(gen, ranges, z_proxy)
    trial_log = TrialLog(out / "trials.jsonl", on_trial)
    trials: list[GenTrial] = trial_log.trials

    def evaluate(budget: float) -> GenTrial:
        t0 = time.perf_counter()
        bits = allocate(sens, macs, budget)
        score, worst = judge.score(TorchEngine(fake_quant_generator(gen, bits, ranges), "fp32", threads=threads))
        c = cost(bits, gen, macs)
        t = GenTrial(budget, {n: list(b) for n, b in bits.items()}, c["bops"], c["energy_pj"], c["weight_bits"],
                     score < 1.0, score, worst, time.perf_counter() - t0)
        return trial_log.record(t)

    # bracket: the 16-bit start (proxy error of 16 bits everywhere) must pass; then widen the budget by
    # decades until a candidate fails, then bisect in log space
    base = sum(sens[(n, k, WIDTHS[0])] for n in macs for k in ("weight", "input"))
    lo_t = evaluate(base)
    lo, hi = (base, None) if lo_t.passed else (None, base)
    budget = base * 10
    while lo is not None and hi is None and not search_budget.spent(len(trials)):
        t = evaluate(budget)
        if t.passed:
            lo, budget = budget, budget * 10
        else:
            hi = budget
    while lo is not None and hi is not None and hi / lo > 1.15 and not search_budget.spent(len(trials)):
        mid = math.sqrt(lo * hi)
        if evaluate(mid).passed:
            lo = mid
        else:
            hi = mid
    chosen, met = choose(trials, passed=lambda t: t.passed, cost=lambda t: t.bops, closeness=lambda t: t.score)
    ref32, ref16 = float_cost(gen, macs), float_cost(gen, macs, 16)
    return {"kind": "autoq generator", "time_budget_s": time_budget_s, "max_trials": max_trials,
            "seconds": search_budget.elapsed,
            "rule": judge.rule(), "quantizers": "per-tensor power-of-two fixed point, symmetric narrow; "
            "weights and every layer input; BatchNorm and output ReLU in float", "widths": list(WIDTHS),
            "macs_per_shower": sum(macs.values()), "float32": ref32, "fixed16": ref16,
            "met": met, "stopped_by_time_budget": search_budget.spent(len(trials)),
            "trials": [asdict(t) for t in trials],
            "chosen": {**asdict(chosen), "bops_reduction_vs_float32": ref32["bops"] / chosen.bops,
                       "bops_reduction_vs_fixed16": ref16["bops"] / chosen.bops,
                       "activation_ranges": {n: ranges[n] for n in macs}}}


def write_qonnx(gen: Generator, bits: dict[str, tuple[int, int]], ranges: dict[str, float],
                path: str | Path) -> Path:
    """The exported float generator with QONNX Quant nodes on every quantized weight and layer input: the
    same grids as fake_quant_generator (the last convolution's weights carry the exported output scale, so
    its Quant scale does too)."""
    import onnx
    from onnx import helper, numpy_helper

    from caloquant._atomic import atomic_path
    from caloquant.engines.export import export_onnx

    with atomic_path(path, suffix=".onnx") as tmp:
        export_onnx(gen, tmp)
        model = onnx.load(str(tmp))
        graph = model.graph
        modules = dict(gen.named_modules())
        by_weight = {n.input[1]: n for n in graph.node if n.op_type in ("Conv", "ConvTranspose", "Gemm")}
        new_nodes, inits = [], []

        def quant(x: str, out: str, step: float, b: int) -> None:
            for suffix, value in (("scale", step), ("zeropt", 0.0), ("bitwidth", float(b))):
                inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), f"{out}_{suffix}"))
            new_nodes.append(helper.make_node("Quant", [x, f"{out}_scale", f"{out}_zeropt", f"{out}_bitwidth"], [out],
                                              domain="qonnx.custom_op.general", signed=1, narrow=1,
                                              rounding_mode="ROUND", name=f"Quant_{out}"))

        for name, (wb, ab) in bits.items():
            node = by_weight[f"{name}.weight"]
            w = modules[name].weight
            scale = gen.cfg.output_scale if name == "final" else 1.0
            quant(node.input[1], f"{name}.weight_q", po2_step(wb, float(w.detach().abs().max())) * scale, wb)
            node.input[1] = f"{name}.weight_q"
            if ab < 32:
                quant(node.input[0], f"{name}.input_q", po2_step(ab, ranges[name]), ab)
                node.input[0] = f"{name}.input_q"
        graph.initializer.extend(inits)
        nodes = new_nodes + list(graph.node)  # Quant nodes read graph inputs/initializers or earlier outputs
        order = _topological(nodes, {i.name for i in graph.input} | {t.name for t in graph.initializer})
        del graph.node[:]
        graph.node.extend(order)
        model.opset_import.append(helper.make_opsetid("qonnx.custom_op.general", 1))
        onnx.save(model, str(tmp))
    return Path(path)


def _topological(nodes: list[Any], available: set[str]) -> list[Any]:
    done, order, pending = set(available), [], list(nodes)
    while pending:
        ready = [n for n in pending if all(i in done or not i for i in n.input)]
        if not ready:
            raise RuntimeError("cycle while ordering the QONNX graph")
        for n in ready:
            order.append(n)
            done.update(n.output)
        taken = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in taken]
    return order
