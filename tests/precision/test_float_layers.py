"""The layers our int8 recipes keep in float: one list of module names, each tool's names matched to it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from caloquant.errors import InputValueError
from caloquant.models import Generator
from caloquant.precision import Int8StaticConfig, quantize
from caloquant.precision.float_layers import float_modules, nncf_torch_patterns, onnx_patterns


def test_the_tail_counts_each_paths_convolutions_from_the_output_back() -> None:
    assert float_modules(True, 0) == ["final"]
    assert float_modules(True, 2) == ["final", "paths.0.conv7.conv", "paths.1.conv7.conv", "paths.2.conv7.conv",
                                      "paths.0.conv6.conv", "paths.1.conv6.conv", "paths.2.conv6.conv"]
    assert float_modules(False, 1) == ["paths.0.conv7.conv", "paths.1.conv7.conv", "paths.2.conv7.conv"]
    onnx = onnx_patterns(True, 1)
    assert any(re.fullmatch(p, "/paths.2/conv7/conv/Conv") for p in onnx)
    assert not any(re.fullmatch(p, "/paths.2/conv6/conv/Conv") for p in onnx)
    assert any(re.fullmatch(p, "conv7/conv/conv2d/1") for p in nncf_torch_patterns(False, 1))
    with pytest.raises(InputValueError, match="float_tail"):
        Int8StaticConfig(float_tail=6)


@pytest.mark.parametrize("engine", ["openvino", "onnxruntime"])
def test_each_engine_keeps_exactly_those_layers_in_float(tmp_path: Path, tiny: Generator, engine: str) -> None:
    quantize(tiny, Int8StaticConfig(calibration_size=16, float_tail=2), engine=engine, out=tmp_path)
    layers = json.loads((tmp_path / "caloquant.json").read_text())["layer_precisions"]
    assert {name for name, p in layers.items() if p != "int8"} == set(float_modules(True, 2))
