from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from caloquant.errors import CheckpointError, InputValueError
from caloquant.training import TrainConfig, Trainer
from caloquant.training.batches import ShowerBank


def _cfg(steps: int, **kw) -> TrainConfig:
    return TrainConfig(model="tiny", batch_size=32, steps=steps, ckpt_every=1, threads=1, seed=6, bf16=False,
                       w_shape=1.0, ema_decay=0.9, adversarial=False, **kw)


def _rows(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "wall_s"}
            for line in (run / "log.jsonl").read_text().splitlines()]


def test_shape_only_steps_resume_exactly_and_leave_the_discriminator_alone(tmp_path: Path, shower_file: Path) -> None:
    bank = ShowerBank([(shower_file, None, None)] * 4, seed=6)
    full = Trainer(tmp_path / "full", _cfg(4), bank)
    disc_before = [p.detach().clone() for p in full.disc.parameters()]
    full.run()
    assert all(np.isfinite(r["g_shape"]) and r["g_shape"] > 0 for r in _rows(tmp_path / "full"))
    assert all(bool((a == b).all()) for a, b in zip(disc_before, full.disc.parameters(), strict=True))
    assert full.gen_ema is not None
    assert any(not bool((a == b).all()) for a, b in zip(full.gen_ema.parameters(), full.gen.parameters(), strict=True))
    Trainer(tmp_path / "split", _cfg(2), bank).run()
    second = Trainer(tmp_path / "split", _cfg(4), bank)
    assert second.try_resume() and second.step == 2
    second.run()
    assert _rows(tmp_path / "full") == _rows(tmp_path / "split")
    for a, b in zip(full.gen_ema.state_dict().values(), second.gen_ema.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(CheckpointError, match="ema_decay"):
        Trainer(tmp_path / "split", dataclasses.replace(_cfg(5), ema_decay=0.0), bank).try_resume()


def test_warm_start_is_validated_first_and_the_best_is_chosen_on_the_shape(tmp_path: Path, shower_file: Path,
                                                                           small_showers) -> None:
    from caloquant.models.io import read_metadata, save_generator

    bank = ShowerBank([(shower_file, None, None)] * 4, seed=6)
    seed_run = Trainer(tmp_path / "seed", _cfg(1), bank)
    save_generator(tmp_path / "init.safetensors", seed_run.gen, info={})
    ecal, ep = small_showers
    validation = (np.concatenate([ecal] * 16), np.concatenate([ep] * 16))  # 1 024 showers: every bin filled
    run = Trainer(tmp_path / "run", _cfg(2, val_every=2, select="required", precise_bn=64), bank,
                  validation=validation)
    run.init_generator(tmp_path / "init.safetensors")
    run.run()
    vals = [r for r in _rows(tmp_path / "run") if "val" in r]
    assert [r["step"] for r in vals] == [0, 2]
    assert vals[0]["val"]["required_checks"] == 40 and 0 < vals[0]["val"]["required_score"] <= 5
    info = read_metadata(tmp_path / "run" / "best_generator.safetensors")["info"]
    assert info["selected_by"] == "required_score"
    assert info["required_score"] == min(r["val"]["required_score"] for r in vals)


def test_a_run_without_adversary_needs_a_shape_loss() -> None:
    with pytest.raises(InputValueError, match="needs a shape loss"):
        TrainConfig(model="tiny", adversarial=False)
    with pytest.raises(InputValueError, match="select 'best'"):
        TrainConfig(model="tiny", select="best")


@pytest.mark.parametrize("g_dropout", [True, False])
def test_generator_dropout_can_stay_off_in_training_as_it_is_when_shipped(tmp_path: Path, shower_file: Path,
                                                                          g_dropout: bool) -> None:
    from torch import nn

    bank = ShowerBank([(shower_file, None, None)] * 4, seed=6)
    run = Trainer(tmp_path / "run", _cfg(1, g_dropout=g_dropout), bank)
    run.run()
    drops = [m for m in run.gen.modules() if isinstance(m, nn.Dropout)]
    norms = [m for m in run.gen.modules() if isinstance(m, nn.BatchNorm2d)]
    assert drops and norms and all(m.training for m in norms)  # batch statistics as usual
    assert all(m.training == g_dropout for m in drops)
