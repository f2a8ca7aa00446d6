"""Adversarial training of the 3DGAN with exact, resumable checkpoints."""

from caloquant.training.trainer import TrainConfig, Trainer

__all__ = ["TrainConfig", "Trainer"]
