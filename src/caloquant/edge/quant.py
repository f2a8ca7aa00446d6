"""Heterogeneously quantized trigger MLPs on Brevitas, their QAT, and their cost from QONNX.

A configuration gives, per linear layer, the bit widths of weights, biases and output activations and the
fraction of weights pruned (0 bits for those weights), plus the input width. Quantizers use power-of-two
scales (Brevitas fixed-point quantizers) so hls4ml can reproduce them bit for bit. Cost is read off the
exported QONNX graph with QONNX's own inference-cost analysis (BOPs, weight memory bits; zero weights
discounted), and turned into an energy estimate with a per-operation table (see ENERGY_PJ).
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from caloquant.errors import InputValueError

__all__ = ["ENERGY_PJ", "LayerBits", "QuantConfig", "QuantTrigger", "build_quant_trigger", "energy_pj",
           "float_reference_cost", "load_quant_trigger", "qat", "quant_cost", "save_quant_trigger"]

_QUANT_FORMAT = "caloquant-trigger-quant-v1"

MIN_BITS, MAX_BITS = 2, 16

# Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V:
# 8-bit integer multiply 0.2 pJ and add 0.03 pJ, 32-bit integer multiply 3.1 pJ and add 0.1 pJ,
# float32 multiply 3.7 pJ and add 0.9 pJ, a 64-bit read from an 8 kB SRAM 10 pJ. Integer multiplies are
# scaled with the product of the operand widths (array multiplier), adds with the accumulator width.
ENERGY_PJ = {"int8_mult": 0.2, "int8_add": 0.03, "fp32_mult": 3.7, "fp32_add": 0.9, "sram_8kb_per_bit": 10.0 / 64}


@dataclass(frozen=True)
class LayerBits:
    weight: int = 8
    bias: int = 8
    act: int = 8
    sparsity: float = 0.0  # fraction of this layer's weights pruned (smallest magnitude)

    def check(self, name: str) -> None:
        for kind in ("weight", "bias", "act"):
            b = getattr(self, kind)
            if not MIN_BITS <= b <= MAX_BITS:
                raise InputValueError(f"{name} {kind} bits {b}: supported widths are {MIN_BITS} to {MAX_BITS}")
        if not 0.0 <= self.sparsity < 1.0:
            raise InputValueError(f"{name} sparsity {self.sparsity}: must be in [0, 1)")


@dataclass(frozen=True)
class QuantConfig:
    layers: tuple[LayerBits, ...]
    input_bits: int = 8
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self, n_layers: int) -> None:
        if len(self.layers) != n_layers:
            raise InputValueError(f"quantization config has {len(self.layers)} layers, the model {n_layers}")
        if not MIN_BITS <= self.input_bits <= MAX_BITS:
            raise InputValueError(f"input bits {self.input_bits}: supported widths are {MIN_BITS} to {MAX_BITS}")
        for i, layer in enumerate(self.layers):
            layer.check(f"layer {i}")

    def to_json(self) -> dict[str, Any]:
        return {"input_bits": self.input_bits, "layers": [asdict(x) for x in self.layers]}


class QuantTrigger(nn.Module):
    """Standardised features in, (electron logit, energy correction) out, every tensor on a power-of-two grid."""

    def __init__(self, linears: list[nn.Linear], cfg: QuantConfig) -> None:
        import brevitas.nn as qnn
        from brevitas.quant import (
            Int8ActPerTensorFixedPoint,
            Int8BiasPerTensorFixedPointInternalScaling,
            Int8WeightPerTensorFixedPoint,
            Uint8ActPerTensorFixedPoint,
        )

        super().__init__()
        cfg.check(len(linears))
        self.cfg = cfg
        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=cfg.input_bits,
                                     return_quant_tensor=True)
        self.linears = nn.ModuleList()
        self.acts = nn.ModuleList()
        masks = []
        for i, (lin, bits) in enumerate(zip(linears, cfg.layers, strict=True)):
            q = qnn.QuantLinear(lin.in_features, lin.out_features, bias=True,
                                weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=bits.weight,
                                bias_quant=Int8BiasPerTensorFixedPointInternalScaling, bias_bit_width=bits.bias,
                                return_quant_tensor=True)
            with torch.no_grad():
                q.weight.copy_(lin.weight)
                q.bias.copy_(lin.bias)
            self.linears.append(q)
            last = i == len(linears) - 1
            act_quant = Int8ActPerTensorFixedPoint if last else Uint8ActPerTensorFixedPoint
            act = qnn.QuantIdentity if last else qnn.QuantReLU
            extra = {"max_val": 8.0} if last else {}  # initial range of the outputs (logit, 16 c)
            self.acts.append(act(act_quant=act_quant, bit_width=bits.act, return_quant_tensor=not last, **extra))
            masks.append(_magnitude_mask(lin.weight, bits.sparsity))
        for i, m in enumerate(masks):
            self.register_buffer(f"mask{i}", m)
        self.apply_masks()

    def apply_masks(self) -> None:
        with torch.no_grad():
            for i, q in enumerate(self.linears):
                q.weight.mul_(self.get_buffer(f"mask{i}"))  # type: ignore[operator]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for lin, act in zip(self.linears, self.acts, strict=True):
            h = act(lin(h))
        return h


def _magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    k = round(sparsity * weight.numel())
    mask = torch.ones_like(weight)
    if k:
        idx = weight.detach().abs().flatten().argsort()[:k]
        mask.view(-1)[idx] = 0.0
    return mask


def build_quant_trigger(float_model: Any, cfg: QuantConfig) -> QuantTrigger:
    """Quantized copy of a TriggerMLP's layers (standardisation stays outside: see standardise)."""
    linears = [m for m in float_model.modules() if isinstance(m, nn.Linear)]
    return QuantTrigger(linears, cfg).eval()


def save_quant_trigger(path: str | Path, model: QuantTrigger) -> None:
    import json

    from caloquant.edge.weights_file import write_tagged

    write_tagged(path, model.state_dict(), {"format": _QUANT_FORMAT, "config": json.dumps(model.cfg.to_json())})


def load_quant_trigger(path: str | Path, float_model: Any) -> QuantTrigger:
    """A quantized trigger saved by autoq; its configuration travels in the file's metadata."""
    import json

    from caloquant.edge.weights_file import read_tagged
    from caloquant.errors import CheckpointError

    state, meta = read_tagged(path, _QUANT_FORMAT, "quantized trigger")
    raw = json.loads(meta["config"])
    cfg = QuantConfig(tuple(LayerBits(**x) for x in raw["layers"]), raw["input_bits"])
    model = build_quant_trigger(float_model, cfg)
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise CheckpointError(f"{path}: weights do not match configuration {raw}") from None
    return model.eval()


def standardise(float_model: Any, x: np.ndarray) -> torch.Tensor:
    return (torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) - float_model.mean) / float_model.std


def qat(model: QuantTrigger, float_model: Any, data: Any, *, epochs: int = 20, lr: float = 1e-3, seed: int = 0,
        batch_size: int = 256, energy_weight: float = 10.0) -> QuantTrigger:
    """Quantization-aware fine-tuning on the train split (pruned weights stay zero)."""
    from caloquant.edge.model import one_thread, trigger_loss

    train = data.part("train")
    raw = torch.from_numpy(train.x)
    x = standardise(float_model, train.x)
    y = torch.from_numpy(train.label.astype(np.float32))
    e = torch.from_numpy(train.energy.astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    with one_thread():
        model.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(x), generator=gen).split(batch_size):
                opt.zero_grad()
                trigger_loss(model(x[idx]), raw[idx], y[idx], e[idx], energy_weight).backward()
                opt.step()
                model.apply_masks()
    return model.eval()


def predict_quant(model: QuantTrigger, float_model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(electron score, Ep in GeV) like caloquant.edge.train.predict."""
    from caloquant.edge.model import energy_prediction

    with torch.no_grad():
        out = model(standardise(float_model, x))
        return out[:, 0].double().numpy(), energy_prediction(torch.from_numpy(x), out).double().numpy()


def export_qonnx(model: QuantTrigger, path: str | Path, n_features: int = 32) -> Path:
    import contextlib
    import io

    from brevitas.export import export_qonnx as brevitas_export

    from caloquant._atomic import atomic_path
    from caloquant._logs import quiet_tool_logs

    with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings(), quiet_tool_logs(), \
            contextlib.redirect_stdout(io.StringIO()):  # the torch.onnx exporter prints its progress
        warnings.simplefilter("ignore")
        brevitas_export(model.eval(), torch.zeros(1, n_features), export_path=str(tmp))
    return Path(path)


def energy_pj(mac_by_widths: dict[tuple[int, int], float], acc_bits: int, weight_bits: float) -> float:
    """Energy estimate: multiplies scaled by operand widths from 8x8, adds by accumulator width, weights read
    once from an 8 kB SRAM."""
    e = 0.0
    for (bw, ba), n in mac_by_widths.items():
        e += n * (ENERGY_PJ["int8_mult"] * bw * ba / 64 + ENERGY_PJ["int8_add"] * acc_bits / 8)
    return e + weight_bits * ENERGY_PJ["sram_8kb_per_bit"]


def quant_cost(model: QuantTrigger) -> dict[str, Any]:
    """BOPs, MACs and weight memory from QONNX's inference cost (zero weights discounted), and energy."""
    import re

    from qonnx.util.inference_cost import inference_cost

    with tempfile.TemporaryDirectory() as tmp:
        path = export_qonnx(model, Path(tmp) / "model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cost = inference_cost(str(path), cost_breakdown=False)["total_cost"]
    macs: dict[tuple[int, int], float] = {}
    for key, n in cost.items():
        m = re.fullmatch(r"op_mac_\w+?<(\d+)>_\w+?<(\d+)>", key)
        if m:
            macs[(int(m.group(1)), int(m.group(2)))] = float(n)
    return {"bops": float(cost["total_bops"]), "macs": float(cost["total_macs"]),
            "weight_bits": float(cost["total_mem_w_bits"]), "weight_elems": float(cost["total_mem_w_elems"]),
            "energy_pj": energy_pj(macs, 32, float(cost["total_mem_w_bits"]))}


def float_reference_cost(float_model: Any, bits: int = 32) -> dict[str, float]:
    """The same network in float32 (bits=32) or b-bit fixed point, every weight counted: BOPs = MACs * b * b."""
    macs = sum(m.in_features * m.out_features for m in float_model.modules() if isinstance(m, nn.Linear))
    weights = sum(m.weight.numel() for m in float_model.modules() if isinstance(m, nn.Linear))
    if bits == 32:
        energy = macs * (ENERGY_PJ["fp32_mult"] + ENERGY_PJ["fp32_add"]) + weights * 32 * ENERGY_PJ["sram_8kb_per_bit"]
    else:
        energy = energy_pj({(bits, bits): macs}, 32, weights * bits)
    return {"bops": float(macs * bits * bits), "macs": float(macs), "weight_bits": float(weights * bits),
            "energy_pj": float(energy)}
