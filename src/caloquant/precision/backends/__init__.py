"""The built-in engines' registry entries: importing this package registers them."""

from caloquant.precision.backends import (
    inc_tf_backend,
    onnxruntime_backend,
    openvino_backend,
    tflite_backend,
    torch_backend,
)

__all__ = ["inc_tf_backend", "onnxruntime_backend", "openvino_backend", "tflite_backend", "torch_backend"]
