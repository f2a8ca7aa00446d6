"""The 3DGAN Conv2D generator: z (batch, 200) -> shower (batch, 25, 25, 25) in GeV, axes (x, y, layer).

Dense 200 -> 125, reshaped to a 5x5x5 cube; three paths see the cube with a different axis as channels;
each upsamples 5 -> 15 -> 30 with transposed convolutions and trims to 25 x 25 x 25; the paths are
permuted back, concatenated to 75 channels, and a 3x3 convolution with ReLU gives the 25 layers.
"""

from __future__ import annotations

import torch
from torch import nn

from caloquant.models.blocks import PERMUTATIONS, ConvBlock, inverse_permutation
from caloquant.models.config import GANConfig

__all__ = ["Generator"]


class GeneratorPath(nn.Sequential):
    def __init__(self, cfg: GANConfig) -> None:
        w1, w2, w3, w4, w5 = cfg.g_widths
        super().__init__()
        self.conv1 = ConvBlock(5, w1, 5, "same", cfg)
        self.up1 = nn.ConvTranspose2d(w1, w2, 5, stride=3, padding=1)  # 5 -> 15
        self.conv2 = ConvBlock(w2, w2, 5, "same", cfg)
        self.up2 = nn.ConvTranspose2d(w2, w3, 5, stride=2, padding=2, output_padding=1)  # 15 -> 30
        self.conv3 = ConvBlock(w3, w3, 8, "same", cfg)
        self.conv4 = ConvBlock(w3, w4, 5, "valid", cfg)  # 30 -> 26
        self.conv5 = ConvBlock(w4, w5, 4, "same", cfg)
        self.conv6 = ConvBlock(w5, w5, 3, "same", cfg)
        self.conv7 = ConvBlock(w5, 25, 2, "valid", cfg)  # 26 -> 25


class Generator(nn.Module):
    """Conditioned through its input: z = (Ep / 100 GeV) * n, n ~ N(0, 1)^200 (the generator contract)."""

    def __init__(self, cfg: GANConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or GANConfig.paper()
        self.dense = nn.Linear(self.cfg.latent, 125)
        self.paths = nn.ModuleList([GeneratorPath(self.cfg) for _ in PERMUTATIONS])
        self.final = nn.Conv2d(75, 25, 3, padding="same", bias=False)
        self.relu = nn.ReLU()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        image = self.relu(self._last_conv(z)) * self.cfg.output_scale  # (batch, layer, x, y) in GeV
        return image.permute(0, 2, 3, 1)  # (batch, x, y, layer)

    def preactivation(self, z: torch.Tensor) -> torch.Tensor:
        """The image before the final ReLU, (batch, x, y, layer) in GeV; ReLU of it is forward(z) exactly.
        The training's shape loss sends its gradient through the ReLU straight: a cell the ReLU zeroes on
        every shower otherwise never learns that Geant4 puts energy there."""
        return (self._last_conv(z) * self.cfg.output_scale).permute(0, 2, 3, 1)

    def _last_conv(self, z: torch.Tensor) -> torch.Tensor:
        cube = self.dense(z).reshape(-1, 5, 5, 5)  # Keras Reshape: (batch, H, W, C)
        outs = []
        for perm, path in zip(PERMUTATIONS, self.paths, strict=True):
            x = cube.permute(perm).permute(0, 3, 1, 2)  # channels-last view -> NCHW
            y = path(x).permute(0, 2, 3, 1)  # NCHW -> (batch, H, W, C)
            outs.append(y.permute(inverse_permutation(perm)))
        joined = torch.cat(outs, dim=3).permute(0, 3, 1, 2)  # (batch, 75, 25, 25)
        return self.final(joined)  # (batch, layer, x, y) in output units, before the ReLU
