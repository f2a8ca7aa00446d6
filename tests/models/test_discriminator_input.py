from __future__ import annotations

import pytest
import torch

from caloquant.models import Discriminator, GANConfig


def _shower(seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    image = torch.zeros(4, 25, 25, 25)
    image[:, 10:15, 10:15, 3:20] = torch.rand(4, 5, 5, 17) * 5.0  # GeV, empty cells around
    return image


def test_power_input_has_finite_gradients_at_empty_cells() -> None:
    disc = Discriminator(GANConfig.tiny(), input_power=0.5).train()
    image = _shower(0).requires_grad_(True)
    p, aux, ecal = disc(image)
    (p.sum() + aux.sum()).backward()
    assert image.grad is not None and torch.isfinite(image.grad).all()
    assert image.grad[:, 0, 0, 0].abs().sum() > 0  # empty cells do steer the discriminator
    assert torch.allclose(ecal, image.detach().sum(dim=(1, 2, 3)))  # the ECAL head still sums GeV


def test_linear_input_is_the_papers_and_other_powers_are_refused() -> None:
    torch.manual_seed(1)
    a = Discriminator(GANConfig.tiny()).eval()
    torch.manual_seed(1)
    b = Discriminator(GANConfig.tiny(), input_power=1.0).eval()
    torch.manual_seed(1)
    c = Discriminator(GANConfig.tiny(), input_power=0.5).eval()
    image = _shower(2)
    with torch.no_grad():
        assert torch.equal(a(image)[0], b(image)[0])
        assert not torch.equal(a(image)[0], c(image)[0])
    for bad in (0.0, 1.5, -0.5):
        with pytest.raises(ValueError, match="input_power"):
            Discriminator(GANConfig.tiny(), input_power=bad)
