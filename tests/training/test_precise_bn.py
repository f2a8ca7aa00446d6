from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from caloquant.models import GANConfig, Generator
from caloquant.models.io import load_generator
from caloquant.simulator import default_simulator
from caloquant.training import TrainConfig, Trainer
from caloquant.training.batches import SimulatorBatches
from caloquant.training.precise_bn import recalibrate_batchnorm


def _stale_generator() -> Generator:
    torch.manual_seed(0)
    gen = Generator(GANConfig.tiny())
    for m in gen.modules():
        if isinstance(m, nn.BatchNorm2d):  # statistics of some other weights
            m.running_mean.fill_(3.0)
            m.running_var.fill_(0.05)
    return gen.eval()


def _standardised_bn_outputs(gen: nn.Module, n: int = 512) -> list[tuple[float, float]]:
    """Per BatchNorm, the mean |mean| and mean std of (output - beta) / gamma on fresh latents, eval mode."""
    found: list[tuple[float, float]] = []

    def hook(bn: nn.BatchNorm2d, _: object, out: torch.Tensor) -> None:
        x = (out - bn.bias[None, :, None, None]) / bn.weight[None, :, None, None]
        found.append((float(x.mean(dim=(0, 2, 3)).abs().mean()), float(x.std(dim=(0, 2, 3)).mean())))

    handles = [m.register_forward_hook(hook) for m in gen.modules() if isinstance(m, nn.BatchNorm2d)]
    rng = np.random.default_rng(11)
    ep = rng.uniform(100, 500, (n, 1))
    with torch.no_grad():
        gen(torch.from_numpy((ep / 100 * rng.standard_normal((n, 200))).astype(np.float32)))
    for h in handles:
        h.remove()
    return found


def test_recalibrated_statistics_standardise_the_activations_inference_sees() -> None:
    stale = _stale_generator()
    before = {k: v.clone() for k, v in stale.state_dict().items()}
    fixed = recalibrate_batchnorm(stale, latent=200, energy_range=(100, 500), n_showers=1024, batch_size=128,
                                  dropout=False)
    # The first BatchNorm sees no dropout in either mode: its outputs are standardised to sampling precision.
    mean0, std0 = _standardised_bn_outputs(fixed)[0]
    assert mean0 < 0.05 and abs(std0 - 1) < 0.05
    assert all(abs(s - 1) < 0.35 for _, s in _standardised_bn_outputs(fixed))
    assert _standardised_bn_outputs(stale)[0][0] > 1.0  # the stale statistics do not
    assert not fixed.training
    for k, v in stale.state_dict().items():  # the original is untouched
        assert torch.equal(v, before[k])
    for (name, a), b in zip(fixed.named_parameters(), stale.parameters(), strict=True):  # weights unchanged
        assert torch.equal(a, b), name


def test_recalibration_is_seeded_and_leaves_the_callers_rng_alone() -> None:
    stale = _stale_generator()
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    a = recalibrate_batchnorm(stale, latent=200, energy_range=(100, 500), n_showers=256, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = recalibrate_batchnorm(stale, latent=200, energy_range=(100, 500), n_showers=256, seed=3)
    c = recalibrate_batchnorm(stale, latent=200, energy_range=(100, 500), n_showers=256, seed=4)
    stats = [{k: v for k, v in m.state_dict().items() if "running" in k} for m in (a, b, c)]
    assert all(torch.equal(stats[0][k], stats[1][k]) for k in stats[0])
    assert not all(torch.equal(stats[0][k], stats[2][k]) for k in stats[0])
    with pytest.raises(ValueError, match="n_showers 0"):
        recalibrate_batchnorm(stale, latent=200, energy_range=(100, 500), n_showers=0)


def test_validation_with_precise_bn_ships_fresh_statistics_without_changing_training(tmp_path: Path) -> None:
    ep = np.repeat([200.0, 300.0], 16)  # two of the selection metric's energy bins
    val = (default_simulator().simulate(ep, 7), ep.astype(np.float32))

    def run(name: str, precise: int) -> Trainer:
        cfg = TrainConfig(model="tiny", batch_size=8, steps=4, val_every=2, threads=1, seed=6, precise_bn=precise)
        trainer = Trainer(tmp_path / name, cfg, SimulatorBatches(6), validation=val)
        trainer.run()
        return trainer

    plain, precise = run("plain", 0), run("precise", 64)
    rows = {name: [json.loads(line) for line in (tmp_path / name / "log.jsonl").read_text().splitlines()]
            for name in ("plain", "precise")}
    losses = [[{k: v for k, v in r.items() if k not in ("val", "wall_s")} for r in rows[n]] for n in rows]
    assert losses[0] == losses[1]  # re-estimating statistics on a copy never perturbs training
    assert rows["plain"][1]["val"] != rows["precise"][1]["val"]
    best = load_generator(tmp_path / "precise" / "best_generator.safetensors").state_dict()
    running = precise.gen.state_dict()
    key = next(k for k in best if k.endswith("running_mean"))
    assert not torch.equal(best[key], running[key])  # shipped with re-estimated statistics
    assert plain.best is not None
