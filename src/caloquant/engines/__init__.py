"""Inference engines behind one contract: latent vectors (or energies and a seed) in, showers out."""

from caloquant.engines.contract import (
    LATENT_SIZE,
    ZERO_BELOW_GEV,
    draw_energies,
    draw_latents,
    make_latent,
    postprocess,
)

__all__ = ["LATENT_SIZE", "ZERO_BELOW_GEV", "draw_energies", "draw_latents", "make_latent", "postprocess"]
