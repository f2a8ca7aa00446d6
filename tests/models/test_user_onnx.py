"""Bring-your-own ONNX generator: a foreign layout (separate energy input in GeV, MeV output with a channel
axis, layer-first) wrapped by its spec must reproduce the same showers as our own generator."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.engines.base import generate_batches
from caloquant.errors import CaloquantError
from caloquant.models import Generator
from caloquant.models.user_onnx import load_user_onnx, read_spec
from caloquant.precision import load_engine

SPEC = """
latent_input = "noise"
latent_size = 200
energy_input = "separate"
energy_input_name = "energy"
energy_scale_gev = 1.0
output = "deposits"
output_shape = [1, 25, 25, 25]
output_axes = "zxy"
output_units = "MeV"
energy_range_gev = [100, 500]
"""


class ForeignLayout(torch.nn.Module):
    """Our tiny generator behind another group's conventions."""

    def __init__(self, gen: Generator) -> None:
        super().__init__()
        self.gen = gen

    def forward(self, noise: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        showers = self.gen(noise * (energy[:, None] / 100.0)) * 1000.0  # MeV
        return showers.permute(0, 3, 1, 2).unsqueeze(1)  # (batch, 1, layer, x, y)


def _export(module: torch.nn.Module, path: Path, args: tuple, names: list[str], output: str) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, str(path), input_names=names, output_names=[output],
                          dynamic_axes={**{n: {0: "batch"} for n in names}, output: {0: "batch"}},
                          opset_version=17, dynamo=False)
    return path


@pytest.fixture(scope="module")
def user_model(tiny: Generator, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("user")
    onnx_path = _export(ForeignLayout(tiny), d / "foreign.onnx", (torch.zeros(2, 200), torch.full((2,), 300.0)),
                        ["noise", "energy"], "deposits")
    spec = d / "foreign.toml"
    spec.write_text(SPEC)
    return onnx_path, spec


@pytest.fixture(scope="module")
def reference(tiny: Generator) -> np.ndarray:
    from caloquant.engines.torch_engine import TorchEngine

    return np.concatenate([s for s, _ in generate_batches(TorchEngine(tiny, "fp32", threads=1), count=24, seed=2,
                                                          batch_size=8)])


def test_wrapped_user_model_reproduces_the_generator(user_model: tuple[Path, Path], reference: np.ndarray) -> None:
    onnx_path, spec = user_model
    wrapped = load_user_onnx(onnx_path, spec)
    assert wrapped.spec.energy_input == "separate" and wrapped.latent == 200
    engine = load_engine(onnx_path, threads=1, spec=spec)
    got = np.concatenate([s for s, _ in generate_batches(engine, count=24, seed=2, batch_size=8)])
    assert got.shape == reference.shape
    np.testing.assert_allclose(got, reference, rtol=1e-4, atol=1e-6 * reference.max())


@pytest.mark.parametrize("engine", ["openvino", "onnxruntime"])
def test_quantize_user_model_then_generate(tmp_path: Path, user_model: tuple[Path, Path], reference: np.ndarray,
                                           engine: str) -> None:
    onnx_path, spec = user_model
    out = tmp_path / "int8"
    r = CliRunner().invoke(app, ["quantize", "--model", str(onnx_path), "--spec", str(spec), "--engine", engine,
                                 "--precision", "int8", "--calibration-size", "32", "-o", str(out)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "caloquant.json").read_text())
    assert meta["energy_input"] == "separate" and meta["source_model"]["kind"] == "user onnx"
    got = np.concatenate([s for s, _ in generate_batches(load_engine(out, threads=1), count=24, seed=2,
                                                         batch_size=8)])
    assert np.abs(got - reference).sum() / reference.sum() < 0.1
    r = CliRunner().invoke(app, ["generate", "--model", str(out), "-n", "8", "--seed", "2", "-o",
                                 str(tmp_path / "s.h5")])
    assert r.exit_code == 0, r.output


def test_cli_generate_from_user_onnx(tmp_path: Path, user_model: tuple[Path, Path]) -> None:
    onnx_path, spec = user_model
    r = CliRunner().invoke(app, ["generate", "--model", str(onnx_path), "--spec", str(spec), "-n", "8", "-o",
                                 str(tmp_path / "s.h5")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["generate", "--model", str(onnx_path), "-n", "8", "-o", str(tmp_path / "t.h5")])
    assert r.exit_code == 2 and "needs spec" in r.output and not (tmp_path / "t.h5").exists()


def _cli_error(args: list[str]) -> str:
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    return r.output


def test_bad_user_models_fail_with_one_line(tmp_path: Path, user_model: tuple[Path, Path], tiny: Generator) -> None:
    onnx_path, spec = user_model
    q = ["quantize", "--precision", "int8", "-o", str(tmp_path / "q")]
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf \x00\x01\x02")
    assert "not an ONNX model" in _cli_error([*q, "--model", str(junk), "--spec", str(spec)])
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(SPEC.replace("latent_size = 200", "latent_size = 100"))
    assert "spec says (batch, 100)" in _cli_error([*q, "--model", str(onnx_path), "--spec", str(wrong)])
    typo = tmp_path / "typo.toml"
    typo.write_text(SPEC + 'output_unit = "GeV"\n')
    assert "unknown key 'output_unit'" in _cli_error([*q, "--model", str(onnx_path), "--spec", str(typo)])
    assert "user ONNX model runs on openvino or onnxruntime" in _cli_error(
        [*q, "--model", str(onnx_path), "--spec", str(spec), "--engine", "torch", "--precision", "fp32"])
    # a classifier is not a generator: right input, wrong output
    clf = _export(torch.nn.Sequential(torch.nn.Linear(200, 2)), tmp_path / "clf.onnx", (torch.zeros(2, 200),),
                  ["z"], "logits")
    spec2 = tmp_path / "clf.json"
    spec2.write_text(json.dumps({"latent_input": "z", "latent_size": 200}))
    error = _cli_error([*q, "--model", str(clf), "--spec", str(spec2)])
    assert f"model {clf}: does not run as the spec describes it" in error
    assert not (tmp_path / "q" / "caloquant.json").exists()


def test_spec_validation(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text('latent_input = "z"\nlatent_size = 200\noutput_axes = "xyy"\n')
    with pytest.raises(CaloquantError, match="output_axes"):
        read_spec(p)
    p.write_text('latent_input = "z"\n')
    with pytest.raises(CaloquantError, match="missing required key 'latent_size'"):
        read_spec(p)
    p.write_text('latent_input = "z"\nlatent_size = 200\noutput_shape = [25, 25, 24]\n')
    with pytest.raises(CaloquantError, match="25 x 25 x 25"):
        read_spec(p)


def test_showers_holding_more_than_their_primary_energy_are_warned_about(tmp_path: Path, tiny: Generator) -> None:
    """A user model whose showers held 870 times the primary energy generated without a word (issue 16)."""

    class Kev(torch.nn.Module):  # outputs keV, the spec will say GeV: a million times too much energy
        def __init__(self) -> None:
            super().__init__()
            self.gen = tiny

        def forward(self, noise: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
            return (self.gen(noise * (energy[:, None] / 100.0)) * 1e6).permute(0, 3, 1, 2).unsqueeze(1)

    onnx_path = _export(Kev(), tmp_path / "kev.onnx", (torch.zeros(2, 200), torch.full((2,), 300.0)),
                        ["noise", "energy"], "deposits")
    spec = tmp_path / "kev.toml"
    spec.write_text(SPEC.replace('output_units = "MeV"', 'output_units = "GeV"'))
    r = CliRunner().invoke(app, ["generate", "--model", str(onnx_path), "--spec", str(spec), "-n", "8", "-o",
                                 str(tmp_path / "k.h5")])
    assert r.exit_code == 0 and "times their primary energy" in r.output, r.output
