"""Calibration inputs drawn from the generator's own input distribution: z = (Ep / 100) * n over the range."""

from __future__ import annotations

import numpy as np

from caloquant.contract import draw_energies, draw_latents, make_latent

__all__ = ["calibration_latents"]


def calibration_latents(size: int, energy: tuple[float, float], seed: int, latent: int = 200,
                        energy_input: str = "latent") -> np.ndarray:
    """(size, latent) float32 inputs by the contract (a seed distinct from any validation seed)."""
    return make_latent(draw_latents(seed, size, latent), draw_energies(seed, size, *energy), energy_input)
