"""`caloquant train`: adversarial training that resumes from its run directory."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from caloquant.cli.common import console, handle_errors, progress_bar

__all__ = ["register"]

VALIDATION_SEED = 999_983  # simulator validation showers: a seed never used for training


@handle_errors
def train(
    out: Annotated[Path, typer.Option("-o", "--out", help="Run directory (checkpoints, log, best model).")],
    steps: Annotated[int, typer.Option(help="Train until this many steps in total.")] = 1000,
    model_size: Annotated[str, typer.Option(help="paper or tiny.")] = "paper",
    batch_size: Annotated[int, typer.Option(help="Showers per step.")] = 128,
    data: Annotated[Path | None, typer.Option(help="Train on this HDF5 file instead of the simulator.")] = None,
    validation: Annotated[Path | None, typer.Option(help="Fixed validation showers (default: simulator).")] = None,
    val_count: Annotated[int, typer.Option(help="Validation showers.")] = 2000,
    val_every: Annotated[int, typer.Option(help="Validate every this many steps.")] = 100,
    ckpt_every: Annotated[int, typer.Option(help="Checkpoint every this many steps.")] = 25,
    seed: Annotated[int, typer.Option()] = 1,
    threads: Annotated[int, typer.Option()] = 2,
    bf16: Annotated[bool, typer.Option(help="bf16 autocast (fastest on AVX512-BF16 CPUs).")] = True,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    init_generator: Annotated[Path | None, typer.Option(help="Warm-start G from these weights (new runs only).")]
    = None,
    lr_g: Annotated[float, typer.Option(help="Generator Adam learning rate (paper: 5e-4).")] = 5e-4,
    lr_d: Annotated[float, typer.Option(help="Discriminator Adam learning rate (paper: 1e-4).")] = 1e-4,
    d_warmup: Annotated[int, typer.Option(help="Train only the discriminator for the first this many steps "
                                          "(use with --init-generator; pass again when resuming).")] = 0,
    precise_bn: Annotated[int, typer.Option(help="Showers that re-estimate the generator's BatchNorm statistics "
                                            "before each validation and in the saved best model (0: keep the "
                                            "running averages).")] = 2048,
    d_input_power: Annotated[float, typer.Option(help="Discriminator sees cell energies to this power; below 1 "
                                                 "faint cells count (not the paper's recipe; 1 = linear).")] = 1.0,
) -> None:
    """Train the 3DGAN (losses 6 BCE + 0.2 AUX + 0.1 ECAL); rerun the same command to resume."""
    from caloquant.data import open_showers
    from caloquant.training import TrainConfig, Trainer
    from caloquant.training.batches import FileBatches, SimulatorBatches

    cfg = TrainConfig(model=model_size, batch_size=batch_size, steps=steps, seed=seed, bf16=bf16, threads=threads,
                      val_every=val_every, ckpt_every=ckpt_every, device=device, d_warmup=d_warmup,
                      lr_g=lr_g, lr_d=lr_d, precise_bn=precise_bn,
                      d_input_power=d_input_power)
    source = FileBatches(str(data), seed) if data else SimulatorBatches(seed)
    if validation is not None:
        val_src = open_showers(validation)
        val = val_src.read(0, val_count)
    else:
        from caloquant.simulator import default_simulator, draw_energies

        ep = draw_energies(VALIDATION_SEED, val_count, 100.0, 500.0)
        val = (default_simulator().simulate(ep, VALIDATION_SEED), ep.astype(np.float32))
    trainer = Trainer(out, cfg, source, validation=val)
    if trainer.try_resume():
        console.print(f"resuming {out} at step {trainer.step}")
    elif init_generator is not None:
        trainer.init_generator(init_generator)
        console.print(f"new run; generator initialised from {init_generator}")
    if trainer.step >= steps:
        console.print(f"{out} is already at step {trainer.step} >= {steps}")
        return
    t0 = time.perf_counter()
    start = trainer.step
    interactive = sys.stderr.isatty()
    with progress_bar() as bar:
        task = bar.add_task("training", total=steps, completed=start, rate="")

        def on_step(step: int, rec: dict) -> None:
            rate = (step - start) * batch_size / (time.perf_counter() - t0)
            text = f"D {rec['loss_d']:.2f} G {rec['loss_g']:.2f} aux {rec['g_aux']:.1f} ecal {rec['g_ecal']:.1f} " \
                   f"{rate:.1f} samples/s"
            bar.update(task, completed=step, rate=text)
            if "val" in rec:
                bar.console.print(f"step {step}: selection metric {rec['val']['metric']:.4f} "
                                  f"(sampling fraction {rec['val']['sampling_fraction']:.4%})")
            elif not interactive and step % 10 == 0:
                bar.console.print(f"step {step}: {text}")

        reason = trainer.run(on_step=on_step)
    console.print(f"{reason} at step {trainer.step}; checkpoint in {out}"
                  + (f"; best selection metric {trainer.best['metric']:.4f} at step {trainer.best['step']}"
                     if trainer.best else ""))


def register(app: typer.Typer) -> None:
    app.command("train")(train)
