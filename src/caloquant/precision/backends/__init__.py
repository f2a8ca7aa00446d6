"""The built-in engines' registry entries: importing this package registers them."""

from caloquant.precision.backends import onnxruntime_backend, openvino_backend, torch_backend

__all__ = ["onnxruntime_backend", "openvino_backend", "torch_backend"]
