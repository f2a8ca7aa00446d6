"""The machine's matrix-product rate per precision, measured through OpenVINO (the engine the models use).

A model's effective rate (1.16 GMAC per shower times showers/s) compared with this rate tells how much of
the hardware a precision really uses; convolution algorithms can exceed the nominal count.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["GENERATOR_GMAC_PER_SHOWER", "matmul_rates"]

GENERATOR_GMAC_PER_SHOWER = 1.16


def _model(size: int, seed: int) -> Any:
    import openvino as ov
    import openvino.opset13 as ops

    w = (np.random.default_rng(seed).standard_normal((size, size)) / np.sqrt(size)).astype(np.float32)
    x = ops.parameter([size, size], np.float32, name="x")
    return ov.Model([ops.matmul(x, ops.constant(w), False, False)], [x], "matmul")


def matmul_rates(*, size: int = 2048, threads: int = 2, repeats: int = 5, seed: int = 0,
                 precisions: tuple[str, ...] = ("fp32", "bf16", "int8")) -> dict[str, Any]:
    """GMAC/s of a size^3 matrix product per precision (median of ``repeats``)."""
    import nncf
    import openvino as ov

    from caloquant.engines.openvino_engine import inference_hint

    core = ov.Core()
    x = np.random.default_rng(seed + 1).standard_normal((size, size)).astype(np.float32)
    out = {}
    for precision in precisions:
        model = _model(size, seed)
        if precision == "int8":
            model = nncf.quantize(model, nncf.Dataset([x]), subset_size=1,
                                  preset=nncf.QuantizationPreset.PERFORMANCE)
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": inference_hint(precision),
                                                     "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1})
        request = compiled.create_infer_request()
        request.infer({0: x})
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            request.infer({0: x})
            times.append(time.perf_counter() - t0)
        out[precision] = {"gmac_per_s": size**3 / float(np.median(times)) / 1e9, "size": size}
    return out
