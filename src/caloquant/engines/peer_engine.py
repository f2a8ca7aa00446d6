"""The paper's peers as engines: TFLite on LiteRT and INC's int8 on TensorFlow, each in the peers'
environment (`engines.peer_process`).

The model runs in a child process; each batch crosses a pipe as .npy bytes (8 MB of showers for a batch
of 128, a few ms against the model's hundreds), so the timings are the peer's plus that copy.
"""

from __future__ import annotations

import os

import numpy as np

from caloquant.engines.base import EngineBase
from caloquant.engines.peer_process import PeerWorker

__all__ = ["PeerEngine"]


class PeerEngine(EngineBase):
    """``path``: a .tflite file (LiteRT) or an INC int8 SavedModel folder (TensorFlow)."""

    def __init__(self, path: str | os.PathLike[str], name: str, precision: str, *, threads: int = 2,
                 latent: int = 200, energy_input: str = "latent") -> None:
        self.worker = PeerWorker("serve", str(path), str(threads))
        self.name = name
        self.precision = precision
        self.latent = latent
        self.energy_input = energy_input

    def run(self, z: np.ndarray) -> np.ndarray:
        return self.worker.run(z)

    def close(self) -> None:
        """End the peer's process now (it also ends when the engine is collected)."""
        self.worker.close()
