"""Intel Neural Compressor on TensorFlow (`neural-compressor-tf`, the 3.x line of paper A's iLoT):
post-training static int8 of the Keras generator, run by TensorFlow itself.

INC takes the Keras 3 model as a TensorFlow SavedModel (`model.export`; the Keras object itself is read
as a SavedModel path and refused), calibrates on our latents one at a time, and writes a SavedModel whose
Conv2D and MatMul run as oneDNN int8 kernels; it leaves the transposed convolutions (Conv2DBackpropInput)
in float32 (`op_precisions`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["INCRunner", "autotune_inc", "op_precisions", "quantize_inc"]


class _Calibration:
    """INC's calibration dataloader protocol: (input, label) pairs and a batch size."""

    def __init__(self, z: np.ndarray) -> None:
        self.z, self.batch_size = z.astype(np.float32), 1

    def __iter__(self) -> Iterator[tuple[np.ndarray, None]]:
        for i in range(len(self.z)):
            yield self.z[i : i + 1], None

    def __len__(self) -> int:
        return len(self.z)


@contextlib.contextmanager
def _inside(folder: str) -> Iterator[None]:
    """Run with ``folder`` as the working folder (contextlib.chdir is Python 3.11+)."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def quantize_inc(model: Any, calibration: np.ndarray, out: Path) -> dict[str, Any]:
    """Write INC's int8 SavedModel of a Keras model into ``out``; returns its operator counts."""
    from neural_compressor.tensorflow import StaticQuantConfig, quantize_model

    out = out.resolve()
    with tempfile.TemporaryDirectory() as tmp, _inside(tmp):  # INC writes logs into the working folder
        model.export(str(Path(tmp) / "fp32"), format="tf_saved_model", verbose=False)
        quantized = quantize_model(str(Path(tmp) / "fp32"), StaticQuantConfig(), _Calibration(calibration))
        _save(quantized, out, tmp)
    return op_precisions(quantized.graph_def)


def _save(quantized: Any, out: Path, tmp: str) -> None:
    staging = Path(tmp) / "int8"
    quantized.save(str(staging))
    if out.exists():
        shutil.rmtree(out)
    shutil.move(str(staging), str(out))


def autotune_inc(model: Any, calibration: np.ndarray, out: Path, z: np.ndarray,
                 evaluate: Callable[[np.ndarray], float], max_trials: int) -> dict[str, Any]:
    """INC's accuracy-driven `autotune` over its own TensorFlow tuning space
    (``StaticQuantConfig.get_config_set_for_tuning``), tried in INC's order until a candidate passes.

    ``evaluate(showers of z) -> metric``: higher is better; a candidate passes when its metric is at least
    half the float32 model's (the caller's metric 1 / (1 + score) makes that score <= 1 + 2 x float32's).
    Writes the model INC returns into ``out`` and returns the trials (config, metric), INC's pick (None when
    it returns none: nothing is written), whether the pick met the goal, and its operator counts.
    """
    from neural_compressor.common.base_tuning import ConfigLoader, TuningConfig
    from neural_compressor.tensorflow import StaticQuantConfig, autotune

    config_set = StaticQuantConfig.get_config_set_for_tuning()
    order = [c.to_dict() for c in ConfigLoader(config_set)]  # the order autotune tries them in
    metrics: list[float] = []

    def eval_fn(candidate: Any) -> float:
        outputs = [candidate.sess.run(candidate.output_tensor, feed_dict={candidate.input_tensor[0]: z[s : s + 128]})[0]
                   for s in range(0, len(z), 128)]
        metrics.append(evaluate(np.concatenate(outputs)))
        return metrics[-1]

    out = out.resolve()
    with tempfile.TemporaryDirectory() as tmp, _inside(tmp):  # INC writes logs into the working folder
        model.export(str(Path(tmp) / "fp32"), format="tf_saved_model", verbose=False)
        best = autotune(str(Path(tmp) / "fp32"),
                        TuningConfig(config_set=config_set, max_trials=max_trials, tolerable_loss=0.5),
                        eval_fn=eval_fn, calib_dataloader=_Calibration(calibration))
        trials = [{"trial": i + 1, "config": order[i], "metric": m} for i, m in enumerate(metrics[1:])]
        if best is not None:
            _save(best, out, tmp)
    # INC returns its best trial once the goal is met or max_trials is reached (met or not), None when its
    # space ran out first
    chosen = max(trials, key=lambda t: t["metric"]) if best is not None and trials else None
    return {"baseline_metric": metrics[0], "trials": trials, "chosen_trial": chosen and chosen["trial"],
            "met_goal": bool(chosen and chosen["metric"] >= 0.5 * metrics[0]),
            "ops": op_precisions(best.graph_def) if best is not None else {},
            "tuning_space": f"StaticQuantConfig.get_config_set_for_tuning(): {len(order)} configurations"}


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
