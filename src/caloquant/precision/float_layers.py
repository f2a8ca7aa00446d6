"""The layers our int8 recipes keep in float, named as each tool names them.

The generator's output layer spans five decades of cell energy, and the last convolutions of its three
paths shape the faint cells: in int8 they lose the 100-200 GeV showers' faintest cells (occupancy 9 % low
on the shipped generator), in float they cost 2 % of the multiply-adds (docs/precision.md). ``float_tail``
counts those path convolutions from the output back.
"""

from __future__ import annotations

import re

__all__ = ["PATH_TAIL", "float_modules", "nncf_torch_patterns", "onnx_patterns"]

PATH_TAIL = ("conv7", "conv6", "conv5", "conv4", "conv3")  # each path's convolutions, from the output back


def _tail(float_tail: int) -> tuple[str, ...]:
    if not 0 <= float_tail <= len(PATH_TAIL):
        raise ValueError(f"float_tail {float_tail}: expected 0 to {len(PATH_TAIL)}")
    return PATH_TAIL[:float_tail]


def float_modules(keep_output_float: bool, float_tail: int, paths: int = 3) -> list[str]:
    """PyTorch module names (the keys of `layer_map`'s precision maps)."""
    return (["final"] if keep_output_float else []) + [f"paths.{i}.{block}.conv" for block in _tail(float_tail)
                                                       for i in range(paths)]


def onnx_patterns(keep_output_float: bool, float_tail: int) -> list[str]:
    """Regular expressions of the exported graph's node names (ONNX and OpenVINO: /paths.0/conv7/conv/Conv)."""
    return ([r"/final/.*"] if keep_output_float else []) + [rf"/paths\.\d+/{re.escape(b)}/.*" for b in
                                                            _tail(float_tail)]


def nncf_torch_patterns(keep_output_float: bool, float_tail: int) -> list[str]:
    """Regular expressions of NNCF's PyTorch node names (conv7/conv/conv2d/0 for path 0, /1, /2)."""
    return ([r"final/.*"] if keep_output_float else []) + [rf"{re.escape(b)}/.*" for b in _tail(float_tail)]
