"""How much does a run's discriminator care about the physics the generator gets wrong? (seeded, rerunnable)

    python scripts/probe_discriminator.py runs/paper5 [runs/paper6 ...]

Takes 256 simulator showers (100-500 GeV, seed 77) and moves part of their energy the way our generator
errs (total energy kept): from the central 3 x 3 column into a flat halo outside the 5 x 5 core, or from
layers 10-24 into layers 2-7. Prints the discriminator's mean p(real) and its energy head's error on
each set, and on the run's own generator (last weights) for scale, in inference mode: BatchNorm on the
running statistics of its training batches (half real, half generated), so no set shifts the others'
normalisation. A discriminator that sees the difference scores the moved showers lower.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from caloquant.models import Discriminator, GANConfig
from caloquant.models.io import load_generator
from caloquant.simulator import default_simulator
from caloquant.training.checkpoint import load_checkpoint


def halo(x: torch.Tensor, frac: float) -> torch.Tensor:
    y = x.clone()
    moved = y[:, 11:14, 11:14, :] * frac
    y[:, 11:14, 11:14, :] -= moved
    outside = torch.ones(25, 25)
    outside[10:15, 10:15] = 0
    per_cell = moved.sum(dim=(1, 2, 3)) / (outside.sum() * 25)
    return y + per_cell[:, None, None, None] * outside[None, :, :, None]


def early(x: torch.Tensor, frac: float) -> torch.Tensor:
    y = x.clone()
    moved = y[:, :, :, 10:] * frac
    y[:, :, :, 10:] -= moved
    y[:, :, :, 2:8] += moved.sum(dim=3, keepdim=True) / 6
    return y


def load_discriminator(run: Path) -> Discriminator:
    state = json.loads((run / "state.json").read_text())
    power = float(state["train_config"].get("d_input_power", 1.0))
    disc = Discriminator(GANConfig.from_json(state["gan_config"]), input_power=power)
    load_checkpoint(run, modules={"discriminator": disc}, optimizers={})
    return disc.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=Path, nargs="+")
    args = ap.parse_args()
    ep = np.random.default_rng(1).uniform(100, 500, 256)
    real = torch.from_numpy(default_simulator().simulate(ep, 77).astype(np.float32))
    target = torch.from_numpy(ep.astype(np.float32)) / 100
    sets = {"simulator": real, "halo 10 %": halo(real, 0.1), "halo 30 %": halo(real, 0.3),
            "early 5 %": early(real, 0.05), "early 20 %": early(real, 0.2)}
    z = torch.from_numpy((ep[:, None] / 100 * np.random.default_rng(2).standard_normal((len(ep), 200)))
                         .astype(np.float32))
    for run in args.runs:
        disc = load_discriminator(run)
        print(f"{run} (input power {disc.input_power:g})")
        with torch.no_grad():
            sets["its generator"] = load_generator(run / "last_generator.safetensors")(z)
            for name, showers in sets.items():
                p, aux, _ = disc(showers)
                err = float(((aux - target).abs() / target).mean())
                print(f"  {name:13s} p(real) {float(p.mean()):.3f}   energy head error {100 * err:5.1f} %")


if __name__ == "__main__":
    main()
