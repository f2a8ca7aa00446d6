"""`caloquant train`: adversarial training that resumes from its run directory."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors, progress_bar

__all__ = ["register"]


@handle_errors
def train(
    out: Annotated[Path, typer.Option("-o", "--out", help="Run directory (checkpoints, log, best model).")],
    steps: Annotated[int, typer.Option(help="Train until this many steps in total.")] = 1000,
    model_size: Annotated[str, typer.Option(help="paper or tiny.")] = "paper",
    batch_size: Annotated[int, typer.Option(help="Showers per step.")] = 128,
    data: Annotated[list[str] | None, typer.Option(help="Train on these HDF5 files instead of the simulator; "
                                                   "repeatable; FILE[START:STOP] takes a slice.")] = None,
    symmetries: Annotated[int, typer.Option(help="With --data: show each shower as one of its 8 mirror/swap "
                                            "images (8) or as it is (1).")] = 8,
    validation: Annotated[Path | None, typer.Option(help="Fixed validation showers (default: simulator).")] = None,
    val_count: Annotated[int, typer.Option(help="Validation showers.")] = 2000,
    val_every: Annotated[int, typer.Option(help="Validate every this many steps.")] = 100,
    ckpt_every: Annotated[int, typer.Option(help="Checkpoint every this many steps.")] = 25,
    seed: Annotated[int, typer.Option()] = 1,
    threads: Annotated[int, typer.Option()] = 2,
    bf16: Annotated[bool | None, typer.Option(help="bf16 autocast (default: where the hardware has bf16: CUDA, "
                                             "AVX512-BF16 or AMX; emulated bf16 is far slower than fp32).")] = None,
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
    w_shape: Annotated[float, typer.Option(help="Weight of the shape loss against the training data's profiles "
                                           "and feature moments (0: the paper's recipe).")] = 0.0,
    ema_decay: Annotated[float, typer.Option(help="Validate and ship an exponential moving average of the "
                                             "generator's weights with this decay (0: off).")] = 0.0,
    select: Annotated[str, typer.Option(help="Keep the best generator by the 3DGAN selection 'metric' or by "
                                        "the 'required' shape score.")] = "metric",
    shape_straight_through: Annotated[bool, typer.Option(help="Experimental: the shape loss's cell term sends "
                                                         "its gradient through the final ReLU in cells Geant4 "
                                                         "fills (docs/training.md, run E).")]
    = False,
    w_core: Annotated[float, typer.Option(help="Shape loss: weight of the beam cell's energy per layer, the "
                                          "shower's core (0: off; docs/training.md, run F3).")] = 0.0,
    w_faint_layers: Annotated[float, typer.Option(help="Shape loss: weight of the faint-cell excess per layer "
                                                  "(a stripe costs where it is; 0: off).")] = 0.0,
    w_cell: Annotated[float, typer.Option(help="Shape loss: weight of the term on cells Geant4 fills brightly "
                                          "(mean above 1e-4 GeV).")] = 1.0,
    w_response: Annotated[float, typer.Option(help="Shape loss: weight of the mean sampling fraction per 100 GeV "
                                              "bin against Geant4's (log ratio; 0: off).")] = 0.0,
    cell_means: Annotated[str, typer.Option(help="Shape loss: the bright-cell term on each batch's mean images "
                                            "or on running means over batches, unbiased for sparsely filled "
                                            "cells (batch or running; docs/training.md, run F8).")] = "batch",
    g_dropout: Annotated[bool, typer.Option(help="--no-g-dropout: the generator trains with its dropout off, as "
                                            "it runs when shipped (docs/training.md, run F7).")] = True,
    minutes: Annotated[float | None, typer.Option(help="Stop cleanly (checkpoint written) after this many minutes "
                                                  "of this call, e.g. a leased GPU's time.")] = None,
    adversarial: Annotated[bool, typer.Option(help="--no-adversarial: generator steps on the shape and ECAL "
                                              "losses only, no discriminator (fine-tuning; needs --w-shape).")]
    = True,
) -> None:
    """Train the 3DGAN (losses 6 BCE + 0.2 AUX + 0.1 ECAL); rerun the same command to resume."""
    from caloquant.errors import InputValueError
    from caloquant.metadata import native_bf16
    from caloquant.training import TrainConfig
    from caloquant.workflows.training import prepare_training

    if minutes is not None and not minutes > 0:
        raise InputValueError(f"--minutes {minutes}: must be positive")

    bf16 = native_bf16(device) if bf16 is None else bf16
    cfg = TrainConfig(model=model_size, batch_size=batch_size, steps=steps, seed=seed, bf16=bf16, threads=threads,
                      val_every=val_every, ckpt_every=ckpt_every, device=device, d_warmup=d_warmup,
                      lr_g=lr_g, lr_d=lr_d, precise_bn=precise_bn,
                      d_input_power=d_input_power, w_shape=w_shape, ema_decay=ema_decay, select=select,
                      adversarial=adversarial, shape_straight_through=shape_straight_through,
                      w_core=w_core, w_faint_layers=w_faint_layers, w_cell=w_cell, w_response=w_response,
                      g_dropout=g_dropout, cell_means=cell_means)
    trainer, how = prepare_training(out, cfg, data=data or (), symmetries=symmetries, validation=validation,
                                    val_count=val_count, init_generator=init_generator)
    if how:
        console.print(how)
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
            if step == start:  # the warm start's own validation, before any step
                rate = 0.0
            losses = " ".join(f"{name} {rec[key]:.2f}" for name, key in (("D", "loss_d"), ("G", "loss_g"),
                              ("aux", "g_aux"), ("ecal", "g_ecal"), ("shape", "g_shape")) if key in rec)
            text = f"{losses} {rate:.1f} samples/s"
            bar.update(task, completed=step, rate=text)
            if "val" in rec:
                v = rec["val"]
                bar.console.print(f"step {step}: selection metric {v['metric']:.4f}, required score "
                                  f"{v['required_score']:.3f} ({v['required_failed']} of {v['required_checks']} "
                                  f"checks off; sampling fraction {v['sampling_fraction']:.4%})")
            elif not interactive and step % 10 == 0:
                bar.console.print(f"step {step}: {text}")

        reason = trainer.run(on_step=on_step, time_budget_s=None if minutes is None else 60.0 * minutes)
    console.print(f"{reason} at step {trainer.step}; checkpoint in {out}"
                  + (f"; best at step {trainer.best['step']}: selection metric {trainer.best['metric']:.4f}"
                     + (f", required score {trainer.best['required_score']:.3f}" if "required_score" in trainer.best
                        else "") if trainer.best else ""))


def register(app: typer.Typer) -> None:
    app.command("train")(train)
