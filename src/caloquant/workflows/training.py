"""A training run's inputs wired to the trainer: the batch source (simulator, a streamed file or a bank of
Geant4 showers in memory), the fixed validation showers and how the run starts (resume, warm start, new)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from caloquant.training import TrainConfig, Trainer

__all__ = ["VALIDATION_SEED", "prepare_training", "validation_showers"]

VALIDATION_SEED = 999_983  # simulator validation showers: a seed never used for training


def validation_showers(validation: str | os.PathLike[str] | None, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` showers of ``validation`` (FILE or FILE[START:STOP]), or ``count`` simulated
    showers on a seed training never uses."""
    if validation is not None:
        from caloquant.data.slices import read_file_slice

        return read_file_slice(str(validation), count)
    from caloquant.simulator import default_simulator, draw_energies

    ep = draw_energies(VALIDATION_SEED, count, 100.0, 500.0)
    return default_simulator().simulate(ep, VALIDATION_SEED), ep.astype(np.float32)


def prepare_training(out: str | os.PathLike[str], cfg: TrainConfig, *, data: Sequence[str] = (), symmetries: int = 8,
                     validation: str | os.PathLike[str] | None = None, val_count: int = 2000,
                     init_generator: str | os.PathLike[str] | None = None) -> tuple[Trainer, str]:
    """A trainer ready to run and one line saying how it starts: resumed from ``out``, a new run warm-started
    from ``init_generator`` ("" for a plain new run). ``data`` entries are FILE or FILE[START:STOP]; none means the
    simulator."""
    from caloquant.data.slices import parse_file_slice
    from caloquant.training.batches import BatchSource, FileBatches, ShowerBank, SimulatorBatches

    source: BatchSource
    if len(data) == 1 and parse_file_slice(data[0])[1:] == (None, None) and symmetries == 1:
        source = FileBatches(data[0], cfg.seed)  # streamed from disk: any file size
    elif data:
        source = ShowerBank([parse_file_slice(d) for d in data], cfg.seed, symmetries=symmetries)
    else:
        source = SimulatorBatches(cfg.seed)
    trainer = Trainer(Path(out), cfg, source, validation=validation_showers(validation, val_count))
    if trainer.try_resume():
        return trainer, f"resuming {out} at step {trainer.step}"
    if init_generator is not None:
        trainer.init_generator(Path(init_generator))
        return trainer, f"new run; generator initialised from {init_generator}"
    return trainer, ""
