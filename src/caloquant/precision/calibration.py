"""Calibration inputs drawn from the generator's own input distribution: z = (Ep / 100) * n over the range.

Activation ranges and the primary energy: a generator's activations grow with Ep, and NNCF sets each
per-tensor activation range to the mean over calibration items of the item's min and max. Items of one
latent (batch 1) put the range near the typical shower's, about 300 GeV on 100-500 GeV, and clip the 400-500
GeV showers (their energy 10 % low on the shipped generator); the global min and max (NNCF's MINMAX) cover
500 GeV but leave the 100 GeV showers a fifth of the levels (their lateral width 50 % too large). Items of
``batch`` latents set it near the largest of ``batch`` showers: with the paths' last convolutions in float
(`precision.float_layers`), 8 keeps 100, 300 and 500 GeV within the paired check (docs/precision.md).
"""

from __future__ import annotations

import numpy as np

from caloquant.contract import draw_energies, draw_latents, make_latent

__all__ = ["DEFAULT_CALIBRATION_BATCH", "calibration_items", "calibration_latents"]

DEFAULT_CALIBRATION_BATCH = 8


def calibration_latents(size: int, energy: tuple[float, float], seed: int, latent: int = 200,
                        energy_input: str = "latent") -> np.ndarray:
    """(size, latent) float32 inputs by the contract (a seed distinct from any validation seed)."""
    return make_latent(draw_latents(seed, size, latent), draw_energies(seed, size, *energy), energy_input)


def calibration_items(z: np.ndarray, batch: int) -> list[np.ndarray]:
    """``z`` cut into calibration items of ``batch`` latents (the last may be shorter), in order."""
    return [z[i : i + batch] for i in range(0, len(z), batch)]
