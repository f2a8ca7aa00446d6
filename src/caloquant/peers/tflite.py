"""TFLite as paper A made it: the TFLite converter on the Keras generator, float32, float16 weights, or
full integer quantization with a representative dataset, run by the LiteRT interpreter on its default CPU
delegate (XNNPACK).

Full integer keeps float32 input and output (the generator contract's z and showers) with a QUANTIZE and a
DEQUANTIZE at the ends; an operator TFLite cannot run in int8 would fail the conversion, so the int8 model
is int8 throughout (`op_precisions` reads it back from the interpreter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["PRECISIONS", "TFLiteRunner", "convert", "op_precisions"]

PRECISIONS = ("fp32", "fp16", "int8")


def convert(model: Any, precision: str, calibration: np.ndarray | None = None) -> bytes:
    """The .tflite flatbuffer of a Keras model; int8 needs ``calibration`` (latents, one per sample)."""
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: TFLite runs {', '.join(PRECISIONS)}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        if calibration is None or not len(calibration):
            raise ValueError("int8 needs calibration latents")

        def representative() -> Iterator[list[np.ndarray]]:
            for i in range(len(calibration)):
                yield [calibration[i : i + 1].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return bytes(converter.convert())


class TFLiteRunner:
    """One LiteRT interpreter; resized when the batch size changes."""

    def __init__(self, model: bytes, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=model, num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.batch = -1

    def run(self, z: np.ndarray) -> np.ndarray:
        if len(z) != self.batch:
            self.interpreter.resize_tensor_input(self.input, [len(z), z.shape[1]])
            self.interpreter.allocate_tensors()
            self.batch = len(z)
        self.interpreter.set_tensor(self.input, np.ascontiguousarray(z, dtype=np.float32))
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self.output))


def op_precisions(model: bytes) -> dict[str, dict[str, int]]:
    """Operator type -> how many run on int8, float16 or float32 data (the dtypes of their data inputs:
    shape and size inputs, int32, do not count), as the interpreter holds the model before delegation."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    dtypes = {d["index"]: np.dtype(d["dtype"]).name for d in interpreter.get_tensor_details()}
    out: dict[str, Counter[str]] = {}
    for op in interpreter._get_ops_details():  # LiteRT's only per-operator listing
        kinds = {dtypes[i] for i in op["inputs"] if i >= 0} - {"int32"}
        kind = "int8" if "int8" in kinds else "float16" if kinds == {"float16"} else "float32" if kinds else "int32"
        out.setdefault(op["op_name"], Counter())[kind] += 1
    return {name: dict(counts) for name, counts in sorted(out.items())}
