from __future__ import annotations

from pathlib import Path

import pytest
import torch

from caloquant.errors import CheckpointError
from caloquant.models import Discriminator, GANConfig, Generator
from caloquant.models.io import load_generator, save_generator


def _counts(module: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    stats = sum(b.numel() for n, b in module.named_buffers() if "running" in n)
    return trainable, trainable + stats


def test_parameter_counts_match_the_paper() -> None:
    assert _counts(Generator()) == (2_053_446, 2_055_324)
    assert _counts(Discriminator()) == (712_888, 714_114)


def test_shapes_and_heads() -> None:
    torch.manual_seed(0)
    gen, disc = Generator(GANConfig.tiny()).eval(), Discriminator(GANConfig.tiny()).eval()
    z = torch.randn(3, 200)
    x = gen(z)
    assert x.shape == (3, 25, 25, 25)
    p, aux, ecal = disc(x)
    assert p.shape == aux.shape == ecal.shape == (3,)
    torch.testing.assert_close(ecal, x.sum(dim=(1, 2, 3)))


def test_weights_round_trip_and_bad_files(tmp_path: Path) -> None:
    gen = Generator(GANConfig.tiny()).eval()
    path = tmp_path / "g.safetensors"
    save_generator(path, gen, info={"step": 3})
    again = load_generator(path)
    z = torch.randn(2, 200)
    torch.testing.assert_close(again(z), gen(z))
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_generator(tmp_path / "junk.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="not a caloquant generator"):
        load_generator(tmp_path / "foreign.safetensors")
