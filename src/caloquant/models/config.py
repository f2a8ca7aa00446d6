"""Architecture settings: the paper's widths, and a tiny variant of the same topology for tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from caloquant.errors import CheckpointError

__all__ = ["GANConfig"]


@dataclass(frozen=True)
class GANConfig:
    """Channel widths of the 3DGAN Conv2D model; only widths change between variants, never the topology.

    Keras defaults are mirrored: LeakyReLU slope 0.3, BatchNorm eps 1e-3 and momentum 0.99 (PyTorch 0.01),
    Dropout 0.2. ``output_scale`` plays the role of the 3DGAN code's image scaling (the network learns cell
    energies in units of 10 MeV); it is a constant, exactly foldable into the last convolution (ReLU is
    positively homogeneous), so exported models return GeV with no extra operation.
    """

    name: str = "paper"
    latent: int = 200
    g_widths: tuple[int, int, int, int, int] = (32, 64, 64, 64, 32)  # conv1, up1, up2, valid5, conv4/conv3
    d_widths: tuple[int, int, int] = (64, 32, 9)  # first conv, middle convs, last conv
    d_dense: int = 10
    leaky_slope: float = 0.3
    bn_eps: float = 1e-3
    bn_momentum: float = 0.01
    dropout: float = 0.2
    output_scale: float = 0.01  # GeV per unit of the final ReLU: the network works on images x 100

    @classmethod
    def paper(cls) -> GANConfig:
        return cls()

    @classmethod
    def tiny(cls) -> GANConfig:
        return cls(name="tiny", g_widths=(4, 8, 8, 8, 4), d_widths=(8, 4, 3), d_dense=4)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GANConfig:
        try:
            kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
            return cls(**kwargs)
        except TypeError as exc:
            raise CheckpointError(f"model configuration not understood: {exc}") from None
