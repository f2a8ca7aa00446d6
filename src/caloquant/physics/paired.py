"""Pixel-wise differences between two samples generated from the same latent vectors (paper A, Table 4).

For events matched by index, the paper's number is mean(sum(|A - B|)) in GeV; we also give it relative
to the total energy of B, per layer, and restricted to the low-energy tail cells (below 1 % of the
shower's hottest cell in B), where reduced precision fails first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from caloquant.errors import DataFormatError

__all__ = ["PairedAccumulator"]

TAIL_FRACTION = 0.01


class PairedAccumulator:
    def __init__(self) -> None:
        self.abs_sum: list[np.ndarray] = []
        self.total_b: list[np.ndarray] = []
        self.per_layer: list[np.ndarray] = []
        self.layer_b: list[np.ndarray] = []
        self.tail: list[np.ndarray] = []
        self.tail_b: list[np.ndarray] = []
        self.n = 0

    def add(self, a: np.ndarray, ep_a: np.ndarray, b: np.ndarray, ep_b: np.ndarray) -> None:
        if a.shape != b.shape:
            raise DataFormatError(f"paired: chunk shapes differ ({a.shape} vs {b.shape})")
        if not np.allclose(ep_a, ep_b, rtol=1e-5):
            i = int(np.flatnonzero(~np.isclose(ep_a, ep_b, rtol=1e-5))[0])
            raise DataFormatError(f"paired: event {self.n + i} has Ep {ep_a[i]:.6g} GeV in the samples and "
                                  f"{ep_b[i]:.6g} GeV in the reference; paired files must match by index")
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        self.abs_sum.append(diff.sum(axis=(1, 2, 3)))
        self.total_b.append(b.sum(axis=(1, 2, 3), dtype=np.float64))
        self.per_layer.append(diff.sum(axis=(1, 2)))
        self.layer_b.append(b.sum(axis=(1, 2), dtype=np.float64))
        hottest = b.reshape(len(b), -1).max(axis=1)
        tail = b < (TAIL_FRACTION * hottest)[:, None, None, None]
        self.tail.append((diff * tail).sum(axis=(1, 2, 3)))
        self.tail_b.append((b * tail).sum(axis=(1, 2, 3), dtype=np.float64))
        self.n += len(a)

    def result(self) -> dict[str, Any]:
        def mean_se(x: np.ndarray) -> dict[str, float]:
            return {"value": float(x.mean()), "se": float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0}

        s, t = np.concatenate(self.abs_sum), np.concatenate(self.total_b)
        layers = np.concatenate(self.per_layer)
        tail, tail_b = np.concatenate(self.tail), np.concatenate(self.tail_b)
        return {
            "n_pairs": self.n,
            "pixelwise_abs_sum_gev": mean_se(s),
            "pixelwise_relative": mean_se(s / np.maximum(t, 1e-12)),
            "per_layer_abs_sum_gev": layers.mean(axis=0).tolist(),
            "per_layer_relative": (layers.sum(axis=0) / np.maximum(np.concatenate(self.layer_b).sum(axis=0),
                                                                   1e-30)).tolist(),
            "tail_abs_sum_gev": mean_se(tail),
            "tail_relative_to_tail_energy": mean_se(tail / np.maximum(tail_b, 1e-12)),
            "tail_definition": f"cells of the reference below {TAIL_FRACTION:.0%} of that shower's hottest cell",
        }

