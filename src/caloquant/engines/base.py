"""One interface for every inference engine: latent vectors in, showers out.

Engines import their framework lazily (``import caloquant`` loads no OpenVINO or ONNX Runtime). Which
engine can run which precision is a table, not a chain of ifs; asking for a pair that does not exist
fails with the list of engines that can.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

from caloquant.engines.contract import draw_energies, draw_latents, make_latent, postprocess
from caloquant.errors import InputValueError

__all__ = ["ENGINE_PRECISIONS", "Engine", "check_supported", "generate_batches"]

# fp16 on a CPU without native fp16 arithmetic: fp16-stored weights computed in fp32 (as TFLite fp16 ran).
ENGINE_PRECISIONS: dict[str, tuple[str, ...]] = {
    "torch": ("fp32", "bf16"),
    "onnxruntime": ("fp32", "int8"),
    "openvino": ("fp32", "bf16", "fp16", "int8"),
}


class Engine(Protocol):
    """A loaded model ready to run: ``run`` maps z (batch, latent) float32 to raw showers (batch, 25, 25, 25)."""

    name: str
    precision: str
    latent: int  # width of n; z has one more column when energy_input == "separate"

    def run(self, z: np.ndarray) -> np.ndarray: ...


def check_supported(engine: str, precision: str) -> None:
    if engine not in ENGINE_PRECISIONS:
        raise InputValueError(f"--engine {engine!r}: expected one of {', '.join(ENGINE_PRECISIONS)}")
    if precision not in ENGINE_PRECISIONS[engine]:
        able = [e for e, ps in ENGINE_PRECISIONS.items() if precision in ps]
        raise InputValueError(f"--precision {precision} is not available in {engine}; engines that run it: "
                              f"{', '.join(able) or 'none'}")


def generate_batches(engine: Engine, *, ep: np.ndarray | None = None, count: int | None = None,
                     energy: tuple[float, float] = (100.0, 500.0), seed: int | np.random.SeedSequence = 1,
                     batch_size: int = 128) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Showers by the generator contract: energies from ``seed`` (or given), latents from ``seed``."""
    if ep is None:
        if count is None:
            raise ValueError("give either ep or count")
        ep = draw_energies(seed, count, *energy)
    n = draw_latents(seed, len(ep), engine.latent)
    mode = getattr(engine, "energy_input", "latent")  # user ONNX models may take the energy separately
    group = max(getattr(engine, "streams", 1), 1)  # batches in flight at once (OpenVINO streams)
    starts = list(range(0, len(ep), batch_size))
    for g in range(0, len(starts), group):
        chunk = starts[g : g + group]
        zs = [make_latent(n[s : s + batch_size], ep[s : s + batch_size], mode) for s in chunk]
        outs = engine.run_many(zs) if group > 1 and hasattr(engine, "run_many") else [engine.run(z) for z in zs]
        for s, out in zip(chunk, outs, strict=True):
            yield postprocess(out), ep[s : s + batch_size].astype(np.float32)
