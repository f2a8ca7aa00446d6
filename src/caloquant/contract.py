"""The generator contract (CONVENTIONS): one seed gives the same latents and energies in every engine.

``rng_n, rng_e = (default_rng(s) for s in SeedSequence(seed).spawn(2))``; n = rng_n.standard_normal
((count, 200)), Ep = rng_e.uniform(lo, hi, count), z = (Ep / 100 GeV) * n; outputs in GeV with cells
below 1e-6 GeV set to 0 by the same post-processing for every engine. Showers are paired by index.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LATENT_SIZE", "ZERO_BELOW_GEV", "draw_energies", "draw_latents", "make_latent", "postprocess"]

LATENT_SIZE = 200
ZERO_BELOW_GEV = 1e-6


Seed = int | np.random.SeedSequence


def _streams(seed: Seed) -> tuple[np.random.Generator, np.random.Generator]:
    """A SeedSequence (a production shard's ``SeedSequence(S).spawn(n)[i]``) is copied first: spawning
    mutates it, and the same shard must give the same streams every time."""
    if isinstance(seed, np.random.SeedSequence):
        seq = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    else:
        seq = np.random.SeedSequence(seed)
    rng_n, rng_e = (np.random.default_rng(s) for s in seq.spawn(2))
    return rng_n, rng_e


def draw_energies(seed: Seed, count: int, lo: float, hi: float) -> np.ndarray:
    """Primary energies in GeV (float64), uniform in [lo, hi): the second stream of the seed."""
    return _streams(seed)[1].uniform(lo, hi, count)


def draw_latents(seed: Seed, count: int, latent: int = LATENT_SIZE) -> np.ndarray:
    """Standard-normal latent vectors n (float64, (count, latent)): the first stream of the seed."""
    return _streams(seed)[0].standard_normal((count, latent))


def make_latent(n: np.ndarray, ep: np.ndarray, energy_input: str = "latent") -> np.ndarray:
    """The generator's float32 input: z = (Ep / 100 GeV) * n, or for a user model whose energy is a separate
    input (``energy_input="separate"``), the columns [n, Ep / 100 GeV]."""
    e = np.asarray(ep, dtype=np.float64)[:, None] / 100.0
    if energy_input == "separate":
        return np.concatenate([np.asarray(n, dtype=np.float64), e], axis=1).astype(np.float32)
    return (np.asarray(n) * e).astype(np.float32)


def postprocess(showers: np.ndarray) -> np.ndarray:
    """Set cells below 1e-6 GeV to 0 (in place for float32 input) and return float32 showers."""
    out = np.asarray(showers, dtype=np.float32)
    out[out < ZERO_BELOW_GEV] = 0.0
    return out
