"""Bit widths for the generator: cost model, fake quantization, its QONNX twin, the physics-judged search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.edge.generator_bits import (
    WIDTHS,
    activation_ranges,
    allocate,
    bops,
    fake_quant_generator,
    layer_macs,
    layer_names,
    search_generator,
    write_qonnx,
)
from caloquant.errors import InputValueError
from caloquant.models import Generator


def test_mac_count_matches_qonnx_inference_cost(tmp_path: Path) -> None:
    from qonnx.util.inference_cost import inference_cost

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(5, 8, 3, bias=False)
            self.b = nn.Conv2d(8, 4, 4, padding="valid", bias=False)
            self.cfg = type("Cfg", (), {"latent": 0})

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x))

    net = Net().eval()
    x = torch.zeros(1, 5, 12, 12)
    torch.onnx.export(net, (x,), str(tmp_path / "n.onnx"), dynamo=False)
    qonnx = inference_cost(str(tmp_path / "n.onnx"), cost_breakdown=False)["total_cost"]["total_macs"]
    assert sum(layer_macs(net, x).values()) == qonnx


def test_paper_generator_counts_1_16_gmac() -> None:
    from caloquant.models import GANConfig

    assert sum(layer_macs(Generator(GANConfig.paper())).values()) == pytest.approx(1.16e9, rel=0.005)


def test_qonnx_twin_reproduces_the_fake_quantized_generator(tmp_path: Path, tiny: Generator) -> None:
    import onnx
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.op_run import OpRun

    class Quant(OpRun):  # QONNX Quant, signed narrow, round half to even, as the QONNX spec defines it
        op_domain = "qonnx.custom_op.general"

        def _run(self, x, scale, zeropt, bitwidth, signed=1, narrow=1, rounding_mode="ROUND"):
            top = 2 ** (int(bitwidth) - 1) - 1
            return (np.clip(np.round(x / scale), -top, top) * scale).astype(x.dtype),

    z = np.random.default_rng(0).normal(size=(32, 200)).astype(np.float32) * 3
    ranges = activation_ranges(tiny, z)
    names = layer_names(tiny)
    bits = {n: (3 + i % 6, 5 + i % 5) for i, n in enumerate(names)}
    path = write_qonnx(tiny, bits, ranges, tmp_path / "g.onnx")
    assert sum(n.op_type == "Quant" for n in onnx.load(str(path)).graph.node) == 2 * len(names)
    got = ReferenceEvaluator(str(path), new_ops=[Quant]).run(None, {"z": z[:2]})[0]
    with torch.no_grad():
        want = fake_quant_generator(tiny, bits, ranges)(torch.from_numpy(z[:2])).numpy()
        plain = tiny(torch.from_numpy(z[:2])).numpy()
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    assert np.abs(plain - want).max() > 1e-3 * np.abs(want).max()  # the quantization is not a no-op


def test_allocation_spends_the_error_budget(tiny: Generator) -> None:
    names = layer_names(tiny)
    macs = layer_macs(tiny)
    # proxy errors that grow as widths shrink; layer 0 is ten times more sensitive
    sens = {(n, k, b): (10.0 if i == 0 else 1.0) * 2.0 ** -b for i, n in enumerate(names)
            for k in ("weight", "input") for b in WIDTHS}
    base = sum(sens[(n, k, 16)] for n in names for k in ("weight", "input"))
    assert set(allocate(sens, macs, base).values()) == {(16, 16)}
    assert set(allocate(sens, macs, 1e9).values()) == {(3, 3)}
    costs = [bops(allocate(sens, macs, b), macs) for b in (base, 0.01, 0.1, 1.0)]
    assert costs == sorted(costs, reverse=True) and costs[-1] < costs[0]
    mid = allocate(sens, macs, 0.05)
    assert mid[names[0]][0] >= max(w for n, (w, _a) in mid.items() if n != names[0])  # sensitive layer kept wide


def test_bad_bit_widths_are_refused(tiny: Generator) -> None:
    with pytest.raises(InputValueError, match="weight bits 1: supported widths are 2 to 16"):
        fake_quant_generator(tiny, {"dense": (1, 8)}, {"dense": 1.0})
    with pytest.raises(InputValueError, match="input bits 17"):
        fake_quant_generator(tiny, {"dense": (8, 17)}, {"dense": 1.0})


def test_search_judges_candidates_by_physics_and_logs_them(tmp_path: Path, tiny: Generator) -> None:
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    r = search_generator(tiny, tmp_path, time_budget_s=1e6, max_trials=4, validation_size=200, reference_size=200,
                         threads=1, proxy_showers=4)
    trials = [json.loads(x) for x in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert len(trials) == len(r["trials"]) and 1 <= len(trials) <= 4
    assert r["trials"][0]["bits"]["dense"] == [16, 16]  # the search starts at 16 bits everywhere
    chosen, passing = r["chosen"], [t for t in r["trials"] if t["passed"]]
    assert chosen["passed"] == r["met"] == bool(passing)
    best = min(passing, key=lambda t: t["bops"]) if passing else min(r["trials"], key=lambda t: t["score"])
    assert (chosen["bops"], chosen["score"]) == (best["bops"], best["score"])  # cheapest passing, else closest
    assert chosen["bops_reduction_vs_float32"] >= 4.0  # 16 bits or fewer everywhere
    assert all(torch.equal(v, tiny.state_dict()[k]) for k, v in before.items())  # the model is left as it was


def test_too_short_time_budget_is_refused(tmp_path: Path, tiny: Generator) -> None:
    with pytest.raises(InputValueError, match=r"time_budget_s 0\.5 s is too short"):
        search_generator(tiny, tmp_path, time_budget_s=0.5, validation_size=200, threads=1)


def test_cli_lists_the_layers_hls4ml_lacks_and_exits_2(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["autoq", "--target", "generator", "--hls4ml", "-o", str(tmp_path / "g")])
    assert r.exit_code == 2, r.output
    assert "no layer for 6 nodes" in r.output and "ConvTranspose" in r.output
    assert not (tmp_path / "g").exists()  # refused up front, before any search
