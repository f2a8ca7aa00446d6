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


@pytest.mark.parametrize(("fallback", "runs_at"), [(None, "bf16"), ("fp32", "fp32"), ("bf16", "bf16")])
def test_openvino_runs_the_float_layers_at_the_recipes_fallback(tmp_path: Path, tiny: Generator,
                                                                fallback: str | None, runs_at: str) -> None:
    """OpenVINO's own default for the layers kept out of int8 is bf16 (where the CPU has it); fp32 on request."""
    from caloquant.precision import load_engine

    quantize(tiny, Int8StaticConfig(calibration_size=16, fallback=fallback), engine="openvino", out=tmp_path)
    meta = json.loads((tmp_path / "caloquant.json").read_text())
    assert meta["runtime_precision"] == runs_at
    assert {p for p in meta["layer_precisions"].values() if p != "int8"} == {runs_at}
    engine = load_engine(tmp_path, threads=1)
    assert engine.precision == "int8"
    hint = engine.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # type: ignore[attr-defined]
    assert hint == "f32" if runs_at == "fp32" else hint in ("bf16", "f32")  # CPUs without bf16 run f32


def test_onnxruntime_refuses_a_bf16_fallback(tmp_path: Path, tiny: Generator) -> None:
    with pytest.raises(InputValueError, match="ONNX Runtime runs the layers kept out of int8 in fp32"):
        quantize(tiny, Int8StaticConfig(calibration_size=16, fallback="bf16"), engine="onnxruntime", out=tmp_path)
    assert not tmp_path.joinpath("caloquant.json").exists()
    with pytest.raises(InputValueError, match="fallback"):
        Int8StaticConfig(fallback="fp16")  # type: ignore[arg-type]
