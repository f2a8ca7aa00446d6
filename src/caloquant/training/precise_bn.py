"""Re-estimate a generator's BatchNorm running statistics for its current weights ("precise BN").

During training the running statistics are an exponential average (momentum 0.01, Keras' 0.99) over
the last ~100 steps, so while the weights move they describe older weights: the step-2200 generator
went from selection metric 0.98 to 0.52 with nothing changed but its statistics. Averaging the batch
statistics of a few thousand training-distribution latents through the *current* weights removes that
lag (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021). The weights are never touched.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
from torch import nn

from caloquant.contract import draw_energies, draw_latents, make_latent

__all__ = ["recalibrate_batchnorm"]

M = TypeVar("M", bound=nn.Module)


def recalibrate_batchnorm(model: M, *, latent: int, energy_range: tuple[float, float],
                          n_showers: int = 4096, batch_size: int = 128, seed: int = 0,
                          dropout: bool = True) -> M:
    """A copy of `model` in eval mode whose BatchNorm statistics are the mean of its batch statistics on
    `n_showers` latents of the generator contract for `seed` (z = (Ep / 100 GeV) n, Ep uniform in
    `energy_range`).

    `dropout=True` keeps dropout active while measuring, as the running averages of training are;
    `dropout=False` measures the activations inference sees (no dropout variance shift).
    """
    if n_showers <= 0 or batch_size <= 0:
        raise ValueError(f"n_showers {n_showers} and batch_size {batch_size} must be positive")
    lo, hi = energy_range
    copy_ = copy.deepcopy(model)
    bns = [m for m in copy_.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over all batches
    copy_.train()
    if not dropout:
        for m in copy_.modules():
            if isinstance(m, nn.modules.dropout._DropoutNd):
                m.eval()
    z = make_latent(draw_latents(seed, n_showers, latent), draw_energies(seed, n_showers, lo, hi))
    device = next(copy_.parameters()).device
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # own dropout masks; the caller's RNG untouched
        torch.manual_seed(seed)
        for start in range(0, n_showers, batch_size):
            copy_(torch.from_numpy(z[start:start + batch_size]).to(device))
    for bn, momentum in zip(bns, momenta, strict=True):
        bn.momentum = momentum
    return copy_.eval()
