"""PyTorch eager: fp32, or bf16 autocast (AVX512-BF16 / AMX kernels through oneDNN)."""

from __future__ import annotations

from typing import Any

import numpy as np

from caloquant.engines.base import EngineBase

__all__ = ["TorchEngine"]


class TorchEngine(EngineBase):
    name = "torch"

    def __init__(self, generator: Any, precision: str = "fp32", *, threads: int | None = 2) -> None:
        """``threads=None`` keeps the process's current torch thread count (e.g. inside training)."""
        import torch

        self._torch = torch
        if threads is not None:
            torch.set_num_threads(threads)
        self.gen = generator.eval()
        self.precision = precision
        self.latent = generator.cfg.latent

    def run(self, z: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return self.gen(torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))).float().numpy()
