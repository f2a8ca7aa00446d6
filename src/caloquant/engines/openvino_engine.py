"""OpenVINO CPU: fp32, bf16 (inference precision hint), fp16 (compressed weights, f32 compute), int8 (NNCF)."""

from __future__ import annotations

import os

import numpy as np

from caloquant.engines.base import EngineBase

__all__ = ["OpenVINOEngine", "inference_hint"]


def inference_hint(precision: str) -> str:
    """OpenVINO picks bf16 by default on AVX512-BF16 CPUs: every precision but bf16 asks for f32 explicitly."""
    return "bf16" if precision == "bf16" else "f32"


class OpenVINOEngine(EngineBase):
    name = "openvino"

    def __init__(self, xml: str | os.PathLike[str], precision: str = "fp32", *, threads: int = 2, streams: int = 1,
                 latent: int = 200, energy_input: str = "latent") -> None:
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": inference_hint(precision), "INFERENCE_NUM_THREADS": threads,
                  "NUM_STREAMS": streams, "PERFORMANCE_HINT": "LATENCY" if streams == 1 else "THROUGHPUT"}
        self.compiled = core.compile_model(str(xml), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.streams = streams
        self._queue = ov.AsyncInferQueue(self.compiled, streams) if streams > 1 else None
        self.precision = precision
        self.latent = latent
        self.energy_input = energy_input

    def run(self, z: np.ndarray) -> np.ndarray:
        result = self.request.infer({0: np.ascontiguousarray(z, dtype=np.float32)})
        return np.asarray(next(iter(result.values())))

    def run_many(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Several batches at once over the streams (asynchronous queue); outputs in input order."""
        if self._queue is None:
            return [self.run(z) for z in batches]
        results: list[np.ndarray | None] = [None] * len(batches)

        def done(request: object, index: int) -> None:
            results[index] = np.array(request.get_output_tensor(0).data)  # type: ignore[attr-defined]

        self._queue.set_callback(done)
        for i, z in enumerate(batches):
            self._queue.start_async({0: np.ascontiguousarray(z, dtype=np.float32)}, i)
        self._queue.wait_all()
        return results  # type: ignore[return-value]
