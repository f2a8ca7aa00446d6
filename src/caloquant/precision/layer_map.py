"""Per-layer precision maps keyed by PyTorch module names (CONVENTIONS), read back from exported graphs.

The ONNX exporter names nodes after the module path ("/paths.0/conv2/conv/Conv"); OpenVINO keeps those
names, so each convolution of a quantized graph can be traced to the module it came from.
"""

from __future__ import annotations

import os
import re

__all__ = ["layer_ops", "module_name", "onnx_layer_precisions", "openvino_layer_nodes", "openvino_layer_precisions"]

TORCH_PREFIX = "__module."  # OpenVINO's PyTorch frontend names nodes after the module path with this prefix
_CONV_TYPES = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def module_name(node_name: str) -> str:
    """'/paths.0/conv2/conv/Conv' -> 'paths.0.conv2.conv'; '/dense/Gemm' -> 'dense'; a graph converted from
    PyTorch directly (QAT): '__module.paths.0.conv2.conv/aten::_convolution_mode/Convolution' -> the same."""
    if node_name.startswith(TORCH_PREFIX):
        return node_name[len(TORCH_PREFIX):].split("/")[0]
    parts = [p for p in node_name.strip("/").split("/") if p]
    if len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def onnx_layer_precisions(path: str | os.PathLike[str]) -> dict[str, str]:
    """For each conv/dense node of an ONNX file: 'int8' when fed by DequantizeLinear (QDQ), else 'fp32'."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    producers = {out: node for node in model.graph.node for out in node.output}
    result = {}
    for node in model.graph.node:
        if node.op_type not in _CONV_TYPES:
            continue
        feeders = [producers.get(i) for i in node.input[:2]]
        int8 = all(f is not None and f.op_type == "DequantizeLinear" for f in feeders)
        result[module_name(node.name)] = "int8" if int8 else "fp32"
    return result


def layer_ops(model: object) -> list[tuple[str, object]]:
    """(module name, op) for each Convolution / ConvolutionBackpropData / MatMul. OpenVINO renames a
    transposed convolution ('ConvolutionBackpropData_28') and gives its ONNX name to the bias Add after it."""
    found = []
    for op in model.get_ordered_ops():  # type: ignore[attr-defined]
        if op.get_type_name() not in ("Convolution", "ConvolutionBackpropData", "MatMul"):
            continue
        name = op.get_friendly_name()
        if "/" not in name:
            users = [t.get_node() for out in op.outputs() for t in out.get_target_inputs()]
            name = next((u.get_friendly_name() for u in users if "/" in u.get_friendly_name()), name)
        found.append((module_name(re.sub(r"/WithoutBiases$", "", name)), op))
    return found


def openvino_layer_nodes(model: object) -> dict[str, str]:
    """Module name -> the OpenVINO node name of its convolution or matmul (what NNCF's IgnoredScope takes)."""
    return {module: op.get_friendly_name() for module, op in layer_ops(model)}  # type: ignore[attr-defined]


def openvino_layer_precisions(model: object, fallback: str = "fp32") -> dict[str, str]:
    """For each Convolution / ConvolutionBackpropData / MatMul of an OpenVINO model: 'int8' when its data
    input comes from a FakeQuantize, else ``fallback`` (the inference precision the rest runs at)."""
    result = {}
    for module, op in layer_ops(model):
        src = op.input_value(0).get_node()  # type: ignore[attr-defined]
        while src.get_type_name() in ("Convert", "Reshape", "Transpose") and src.get_input_size():
            src = src.input_value(0).get_node()
        result[module] = "int8" if src.get_type_name() == "FakeQuantize" else fallback
    return result
