"""Intel Neural Compressor on TensorFlow (`neural-compressor-tf`, the 3.x line of paper A's iLoT):
post-training static int8 of the Keras generator, run by TensorFlow itself.

INC takes the Keras 3 model as a TensorFlow SavedModel (`model.export`; the Keras object itself is read
as a SavedModel path and refused), calibrates on our latents one at a time, and writes a SavedModel whose
Conv2D and MatMul run as oneDNN int8 kernels; it leaves the transposed convolutions (Conv2DBackpropInput)
in float32 (`op_precisions`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["INCRunner", "op_precisions", "quantize_inc"]


class _Calibration:
    """INC's calibration dataloader protocol: (input, label) pairs and a batch size."""

    def __init__(self, z: np.ndarray) -> None:
        self.z, self.batch_size = z.astype(np.float32), 1

    def __iter__(self) -> Iterator[tuple[np.ndarray, None]]:
        for i in range(len(self.z)):
            yield self.z[i : i + 1], None

    def __len__(self) -> int:
        return len(self.z)


def quantize_inc(model: Any, calibration: np.ndarray, out: Path) -> dict[str, Any]:
    """Write INC's int8 SavedModel of a Keras model into ``out``; returns its operator counts."""
    from neural_compressor.tensorflow import StaticQuantConfig, quantize_model

    with tempfile.TemporaryDirectory() as tmp:
        model.export(str(Path(tmp) / "fp32"), format="tf_saved_model", verbose=False)
        quantized = quantize_model(str(Path(tmp) / "fp32"), StaticQuantConfig(), _Calibration(calibration))
        staging = Path(tmp) / "int8"
        quantized.save(str(staging))
        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(staging), str(out))
    return op_precisions(quantized.graph_def)


def op_precisions(graph_def: Any) -> dict[str, dict[str, int]]:
    """Compute operators of the graph by type: INC's quantized kernels count as int8, the rest float32."""
    counts: dict[str, Counter[str]] = {}
    for node in graph_def.node:
        if node.op in ("Const", "HostConst", "Identity", "Placeholder", "QuantizeV2", "Dequantize", "Shape",
                       "StridedSlice", "Pack", "Reshape", "Transpose"):
            continue
        kind = "int8" if node.op.startswith("Quantized") else "float32"
        counts.setdefault(node.op, Counter())[kind] += 1
    return {name: dict(c) for name, c in sorted(counts.items())}


class INCRunner:
    """INC's int8 SavedModel on TensorFlow with ``threads`` intra-op threads."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        self.tf = tf
        self.function = tf.saved_model.load(str(path)).signatures["serving_default"]
        self.input = next(iter(self.function.structured_input_signature[1]))

    def run(self, z: np.ndarray) -> np.ndarray:
        out = self.function(**{self.input: self.tf.constant(np.ascontiguousarray(z, dtype=np.float32))})
        return np.asarray(next(iter(out.values())))
