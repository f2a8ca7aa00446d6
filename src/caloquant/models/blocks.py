"""Building blocks shared by generator and discriminator."""

from __future__ import annotations

import torch
from torch import nn

from caloquant.models.config import GANConfig

__all__ = ["PERMUTATIONS", "ConvBlock", "inverse_permutation"]

# Each path sees the 5x5x5 (or 25x25x25) cube with a different axis as its channel axis, as the Keras
# model does with Permute((3, 1, 2)) and Permute((2, 3, 1)); dims are (batch, H, W, C) channels-last.
PERMUTATIONS: tuple[tuple[int, int, int, int], ...] = ((0, 1, 2, 3), (0, 3, 1, 2), (0, 2, 3, 1))


def inverse_permutation(perm: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


class ConvBlock(nn.Module):
    """Conv2D (no bias) -> LeakyReLU -> BatchNorm -> Dropout: the paper's order, BN after the activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, padding: str, cfg: GANConfig) -> None:
        super().__init__()
        self.pad: nn.Module | None = None
        if padding == "same" and kernel % 2 == 0:
            # Keras 'same' pads the extra row/column at the bottom/right; explicit padding exports cleanly.
            lo, hi = (kernel - 1) // 2, kernel // 2
            self.pad = nn.ZeroPad2d((lo, hi, lo, hi))
            padding = "valid"
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=padding, bias=False)
        self.act = nn.LeakyReLU(cfg.leaky_slope)
        self.bn: nn.Module = nn.BatchNorm2d(c_out, eps=cfg.bn_eps, momentum=cfg.bn_momentum)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(self.act(self.conv(x if self.pad is None else self.pad(x)))))
