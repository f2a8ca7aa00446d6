"""ONNX Runtime CPU: fp32 and int8 (QDQ) models."""

from __future__ import annotations

import os

import numpy as np

from caloquant.engines.base import EngineBase

__all__ = ["OnnxRuntimeEngine"]


class OnnxRuntimeEngine(EngineBase):
    name = "onnxruntime"

    def __init__(self, path: str | os.PathLike[str] | bytes, precision: str = "fp32", *, threads: int = 2,
                 latent: int = 200, energy_input: str = "latent") -> None:
        """``path``: an .onnx file or its serialized bytes (a wrapped user model held in memory)."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3  # errors only: its coloured graph-optimiser warnings are not the user's
        model = path if isinstance(path, bytes) else str(path)
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.precision = precision
        self.latent = latent
        self.energy_input = energy_input

    def run(self, z: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(z, dtype=np.float32)})[0]
