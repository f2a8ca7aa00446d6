from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from caloquant.training import TrainConfig, Trainer
from caloquant.training.batches import SimulatorBatches


def _losses(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_resumed_run_matches_uninterrupted(tmp_path: Path) -> None:
    def cfg(steps: int) -> TrainConfig:
        return TrainConfig(model="tiny", batch_size=8, steps=steps, ckpt_every=1, threads=1, seed=4)

    data = SimulatorBatches(4)
    full = Trainer(tmp_path / "full", cfg(4), data)
    full.run()
    first = Trainer(tmp_path / "split", cfg(2), data)
    first.run()
    second = Trainer(tmp_path / "split", cfg(4), data)
    assert second.try_resume() and second.step == 2
    second.run()
    assert _losses(tmp_path / "full") == _losses(tmp_path / "split")
    for a, b in zip(full.gen.state_dict().values(), second.gen.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_losses_fall_on_the_ecal_target(tmp_path: Path) -> None:
    trainer = Trainer(tmp_path, TrainConfig(model="tiny", batch_size=16, steps=30, threads=1, seed=2),
                      SimulatorBatches(2))
    trainer.run()
    rows = _losses(tmp_path)
    assert np.mean([r["g_ecal"] for r in rows[-5:]]) < np.mean([r["g_ecal"] for r in rows[:5]])


def test_checkpoint_of_another_model_is_refused(tmp_path: Path) -> None:
    import pytest

    from caloquant.errors import CheckpointError

    Trainer(tmp_path, TrainConfig(model="tiny", batch_size=4, steps=1, threads=1), SimulatorBatches(1)).run()
    paper = Trainer(tmp_path, TrainConfig(model="paper", batch_size=4, steps=2, threads=1), SimulatorBatches(1))
    with pytest.raises(CheckpointError, match="do not match this model"):
        paper.try_resume()
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable training state"):
        paper.try_resume()


def test_discriminator_warmup_leaves_the_generator_untouched(tmp_path: Path) -> None:
    def cfg(steps: int) -> TrainConfig:
        return TrainConfig(model="tiny", batch_size=8, steps=steps, threads=1, seed=3, d_warmup=2)

    def params(module: torch.nn.Module) -> list[np.ndarray]:
        return [v.detach().numpy().copy() for v in module.parameters()]

    init = Trainer(tmp_path / "init", cfg(2), SimulatorBatches(3))  # same seed: same initial weights
    warm = Trainer(tmp_path / "run", cfg(2), SimulatorBatches(3))
    warm.run()
    assert all(np.array_equal(a, b) for a, b in zip(params(warm.gen), params(init.gen), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(params(warm.disc), params(init.disc), strict=True))
    assert all(np.isfinite(r["g_bce"]) and np.isfinite(r["g_ecal"]) for r in _losses(tmp_path / "run"))
    after = Trainer(tmp_path / "run", cfg(3), SimulatorBatches(3))
    assert after.try_resume()
    after.run()  # step 3 is past the warm-up: the generator learns
    assert not all(np.array_equal(a, b) for a, b in zip(params(after.gen), params(init.gen), strict=True))


def test_negative_warmup_is_refused() -> None:
    import pytest

    from caloquant.errors import InputValueError

    with pytest.raises(InputValueError, match="d_warmup -1"):
        TrainConfig(model="tiny", d_warmup=-1)


def test_resume_with_another_discriminator_input_is_refused(tmp_path: Path) -> None:
    import pytest

    from caloquant.errors import CheckpointError, InputValueError

    Trainer(tmp_path, TrainConfig(model="tiny", batch_size=4, steps=1, threads=1, d_input_power=0.5),
            SimulatorBatches(1)).run()
    linear = Trainer(tmp_path, TrainConfig(model="tiny", batch_size=4, steps=2, threads=1), SimulatorBatches(1))
    with pytest.raises(CheckpointError, match=r"d_input_power 0\.5, not 1\.0"):
        linear.try_resume()
    assert Trainer(tmp_path, TrainConfig(model="tiny", batch_size=4, steps=2, threads=1, d_input_power=0.5),
                   SimulatorBatches(1)).try_resume()
    with pytest.raises(InputValueError, match="d_input_power 0"):
        TrainConfig(model="tiny", d_input_power=0.0)
