"""The 3DGAN Conv2D generator and discriminator (Rehm et al., arXiv 2103.10142) in PyTorch."""

from caloquant.models.config import GANConfig
from caloquant.models.discriminator import Discriminator
from caloquant.models.generator import Generator

__all__ = ["Discriminator", "GANConfig", "Generator"]
