"""The trigger network: a few-thousand-parameter MLP in the spirit of paper B's jet tagger, two heads.

Input standardisation is part of the model (buffers), so the exported network takes raw features and a
quantizer sees the real input ranges; the energy head predicts Ep / 100 GeV.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TriggerMLP"]


class TriggerMLP(nn.Module):
    def __init__(self, n_features: int = 32, hidden: tuple[int, ...] = (32, 32)) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 2)  # (electron logit, Ep / 100 GeV)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body((x - self.mean) / self.std))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
