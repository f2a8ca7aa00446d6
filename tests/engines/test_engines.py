"""One contract for every engine and precision: quantize the tiny model, load it, generate by the contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.engines.base import generate_batches
from caloquant.errors import InputValueError
from caloquant.models import Generator
from caloquant.models.io import save_generator
from caloquant.precision import ToolDefaultsConfig, check_supported, engine_names, load_engine, quantize, recipe_for
from caloquant.precision.float_layers import float_modules
from caloquant.precision.recipes import DEFAULT_FLOAT_TAIL
from caloquant.precision.registry import engine_entry

PAIRS = [pytest.param(e, p, marks=pytest.mark.int8_dot) if (e, p) == ("inc-tf", "int8") else (e, p)
         for e in engine_names() for p in engine_entry(e).precisions]
# relative L1 distance to fp32 allowed on the untrained tiny model (outputs hug the ReLU threshold)
LIMIT = {"fp32": 1e-5, "fp16": 5e-3, "int8": 0.1, "bf16": 0.3}


@pytest.fixture(scope="module")
def reference(tiny: Generator) -> np.ndarray:
    from caloquant.engines.torch_engine import TorchEngine

    return np.concatenate([s for s, _ in generate_batches(TorchEngine(tiny, "fp32", threads=1), count=24, seed=2,
                                                          batch_size=8)])


@pytest.mark.parametrize(("engine", "precision"), PAIRS)
def test_engine_contract(tmp_path: Path, tiny: Generator, reference: np.ndarray, engine: str, precision: str,
                         request: pytest.FixtureRequest) -> None:
    peer = engine in ("tflite", "inc-tf")  # paper A's peers: int8 is their tool's own (tests/peers has more)
    if peer:
        request.getfixturevalue("peers_installed")
    options = {"calibration_size": 32} if precision == "int8" else {}
    recipe = ToolDefaultsConfig(**options) if peer and precision == "int8" else recipe_for(precision, **options)
    out = quantize(tiny, recipe, engine=engine, out=tmp_path / "m")
    meta = json.loads((out / "caloquant.json").read_text())
    assert meta["engine"] == engine and meta["precision"] == precision and meta["schema_version"] == 1
    assert all(len(h) == 64 for h in meta["sha256"].values())
    runner = load_engine(out, threads=1)
    a = np.concatenate([s for s, _ in generate_batches(runner, count=24, seed=2, batch_size=8)])
    b = np.concatenate([s for s, _ in generate_batches(runner, count=24, seed=2, batch_size=8)])
    assert a.shape == (24, 25, 25, 25) and a.dtype == np.float32
    assert np.isfinite(a).all() and (a > 0).mean() > 0.01  # showers, not an empty or broken output
    np.testing.assert_array_equal(a, b)  # deterministic for one seed
    if not peer:  # full-integer peers quantize the output layer too: far from float32 on the tiny model
        assert np.abs(a - reference).sum() / reference.sum() <= LIMIT[precision]
    if precision == "int8" and not peer:  # the five-decade output layer and the paths' conv6-7 stay in float
        layers = meta["layer_precisions"]
        assert {k for k, v in layers.items() if v != "int8"} == set(float_modules(True, DEFAULT_FLOAT_TAIL))


def test_unsupported_precision_names_the_engines_that_can() -> None:
    with pytest.raises(InputValueError, match="engines that run it: openvino"):
        check_supported("torch", "fp16")
    with pytest.raises(InputValueError, match="engine 'tensorrt': expected one of"):
        check_supported("tensorrt", "fp32")


def test_cli_quantize_then_generate(tmp_path: Path, tiny: Generator) -> None:
    weights = tmp_path / "tiny.safetensors"
    save_generator(weights, tiny, info={"energy_range_gev": [100.0, 500.0]})
    runner = CliRunner()
    res = runner.invoke(app, ["quantize", "--model", str(weights), "--precision", "fp16", "--engine", "onnxruntime",
                              "-o", str(tmp_path / "q")])
    assert res.exit_code == 2 and "engines that run it: openvino" in res.output
    res = runner.invoke(app, ["quantize", "--model", str(weights), "--precision", "int8", "--engine", "openvino",
                              "--calibration-size", "16", "-o", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["generate", "--model", str(tmp_path / "q"), "-n", "10", "-o", str(tmp_path / "g.h5")])
    assert res.exit_code == 0, res.output
    from caloquant.data import open_showers

    src = open_showers(tmp_path / "g.h5")
    assert src.n_showers == 10 and "openvino int8" in src.attrs["engine"]


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
def test_peer_quantizers_with_their_defaults(tmp_path: Path, tiny: Generator, engine: str) -> None:
    out = quantize(tiny, ToolDefaultsConfig(calibration_size=16), engine=engine, out=tmp_path)
    meta = json.loads((out / "caloquant.json").read_text())
    assert "defaults" in meta["calibration"]["tool"]
    x = np.concatenate([s for s, _ in generate_batches(load_engine(out, threads=1), count=8, seed=2)])
    assert np.isfinite(x).all() and (x > 0).mean() > 0.01


def test_openvino_streams_give_the_same_showers(tmp_path: Path, tiny: Generator) -> None:
    out = quantize(tiny, recipe_for("fp32"), engine="openvino", out=tmp_path)
    one = np.concatenate([s for s, _ in generate_batches(load_engine(out, threads=1), count=20, seed=3, batch_size=4)])
    two = np.concatenate([s for s, _ in generate_batches(load_engine(out, threads=2, streams=2), count=20, seed=3,
                                                         batch_size=4)])
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-9)


def test_a_recipe_option_the_engine_lacks_is_refused_not_ignored(tmp_path: Path, tiny: Generator) -> None:
    recipe = recipe_for("int8", calibration_size=16, calibration_method="entropy")
    with pytest.raises(InputValueError, match="entropy calibration is ONNX Runtime's"):
        quantize(tiny, recipe, engine="openvino", out=tmp_path / "ov")
    out = quantize(tiny, recipe, engine="onnxruntime", out=tmp_path / "ort")
    meta = json.loads((out / "caloquant.json").read_text())
    assert meta["recipe"]["calibration_method"] == "entropy" and meta["recipe"]["method"] == "ptq-static"


def test_searches_run_on_openvino_only(tmp_path: Path, tiny: Generator) -> None:
    from caloquant.precision import AutoConfig

    with pytest.raises(InputValueError, match="runs on openvino, not onnxruntime"):
        quantize(tiny, AutoConfig(), engine="onnxruntime", out=tmp_path / "q")
    assert not (tmp_path / "q").exists()  # refused before any work
