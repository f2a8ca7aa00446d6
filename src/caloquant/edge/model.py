"""The trigger network: a few-thousand-parameter MLP in the spirit of paper B's jet tagger, two heads.

The energy head predicts a correction c to the raw calorimeter estimate, Ep = (sum / sampling fraction)
(1 + c), as a trigger would calibrate its energy sum: the sum itself stays at the precision the front end
forms it with, and the network, however coarsely quantized, only has to learn a few-percent correction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["SAMPLING_FRACTION", "TriggerMLP", "energy_prediction", "one_thread", "trigger_loss"]

SAMPLING_FRACTION = 0.0225  # mean silicon fraction of the Geant4 electrons (shared/data/geant4/README.md)
_LOG_TOTAL = 25  # index of log_total_gev in caloquant.edge.features.FEATURE_NAMES
# The correction is output as 16 c (a shift in hardware), so both outputs span a few units and one
# per-tensor output quantizer serves the logit and the few-percent correction alike.
CORRECTION_SCALE = 1.0 / 16


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Train the trigger MLPs on one thread: a 2 000-parameter network only loses to thread synchronisation."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def energy_prediction(x_raw: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Ep in GeV from the raw features and the network's correction output."""
    return torch.exp(x_raw[:, _LOG_TOTAL]) / SAMPLING_FRACTION * (1.0 + CORRECTION_SCALE * out[:, 1])


def trigger_loss(out: torch.Tensor, x_raw: torch.Tensor, label: torch.Tensor, energy: torch.Tensor,
                 energy_weight: float = 10.0) -> torch.Tensor:
    """BCE on the electron logit + energy_weight * mean squared relative energy error."""
    bce = nn.functional.binary_cross_entropy_with_logits(out[:, 0], label)
    return bce + energy_weight * (((energy_prediction(x_raw, out) - energy) / energy) ** 2).mean()


class TriggerMLP(nn.Module):
    mean: torch.Tensor  # buffers: feature standardisation, fixed from the training split
    std: torch.Tensor

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
        self.head = nn.Linear(width, 2)  # (electron logit, energy correction c)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body((x - self.mean) / self.std))

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
