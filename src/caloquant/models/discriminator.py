"""The 3DGAN Conv2D discriminator with its three heads: real/fake, AUX energy and ECAL sum."""

from __future__ import annotations

import torch
from torch import nn

from caloquant.models.blocks import PERMUTATIONS, ConvBlock
from caloquant.models.config import GANConfig

__all__ = ["Discriminator"]


class DiscriminatorPath(nn.Sequential):
    def __init__(self, cfg: GANConfig) -> None:
        first, mid, last = cfg.d_widths
        super().__init__(
            ConvBlock(25, first, 8, "same", cfg),
            ConvBlock(first, mid, 6, "valid", cfg),  # 25 -> 20
            ConvBlock(mid, mid, 5, "valid", cfg),  # -> 16
            ConvBlock(mid, mid, 4, "valid", cfg),  # -> 13
            ConvBlock(mid, mid, 3, "valid", cfg),  # -> 11
            ConvBlock(mid, last, 3, "valid", cfg),  # -> 9
        )


class Discriminator(nn.Module):
    """Returns (p_real, aux, ecal): probability of being real, Ep / 100 GeV regression, sum of the image."""

    def __init__(self, cfg: GANConfig | None = None, *, input_power: float = 1.0) -> None:
        super().__init__()
        if not 0 < input_power <= 1:
            raise ValueError(f"input_power {input_power}: expected 0 < p <= 1")
        self.cfg = cfg or GANConfig.paper()
        self.input_power = input_power
        self.paths = nn.ModuleList([DiscriminatorPath(self.cfg) for _ in PERMUTATIONS])
        n_flat = 9 * 9 * 3 * self.cfg.d_widths[2]
        self.dense = nn.Linear(n_flat, self.cfg.d_dense)
        self.act = nn.LeakyReLU(self.cfg.leaky_slope)
        self.bn = nn.BatchNorm1d(self.cfg.d_dense, eps=self.cfg.bn_eps, momentum=self.cfg.bn_momentum)
        self.real_fake = nn.Linear(self.cfg.d_dense, 1)
        self.aux = nn.Linear(self.cfg.d_dense, 1)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """image: (batch, x, y, layer) in GeV. The convolutions see it in the generator's working unit
        (GeV / output_scale = 10 MeV), as the 3DGAN code feeds its discriminator images x 100 (xscale):
        in GeV the first BatchNorm's input variance (~2e-5) sits below its eps (1e-3), which flattens the
        cells that carry the shower's shape.

        With ``input_power`` p < 1 (not the paper's recipe; opt-in) the convolutions see (x + d)^p - d^p,
        d = 0.01 units (0.1 MeV): a core cell of 50 GeV weighs 70 instead of 5 000 units against 0.2 for a
        1 MeV cell, so a faint halo or energy in the early layers is no longer invisible next to the core;
        the shift keeps the gradient finite at empty cells."""
        scaled = image / self.cfg.output_scale
        if self.input_power != 1.0:
            shift = 0.01
            scaled = (scaled + shift) ** self.input_power - shift ** self.input_power
        outs = []
        for perm, path in zip(PERMUTATIONS, self.paths, strict=True):
            x = scaled.permute(perm).permute(0, 3, 1, 2)
            outs.append(path(x).permute(0, 2, 3, 1))  # (batch, 9, 9, C) in the path's own axes
        h = torch.cat(outs, dim=3).flatten(1)  # Keras Concatenate + Flatten of (9, 9, 27), channels-last
        h = self.bn(self.act(self.dense(h)))
        p_real = torch.sigmoid(self.real_fake(h)).squeeze(1)
        ecal = image.sum(dim=(1, 2, 3))
        return p_real, self.aux(h).squeeze(1), ecal
