from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.data import open_showers
from caloquant.models import GANConfig, Generator
from caloquant.models.io import save_generator

runner = CliRunner()


@pytest.fixture()
def tiny_weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    save_generator(path, Generator(GANConfig.tiny()).eval(), info={"energy_range_gev": [100.0, 500.0]})
    return path


def test_generate_is_reproducible(tmp_path: Path, tiny_weights: Path) -> None:
    for name in ("a.h5", "b.h5"):
        res = runner.invoke(app, ["generate", "-n", "20", "--seed", "3", "--model", str(tiny_weights),
                                  "--batch-size", "8", "-o", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    a, b = open_showers(tmp_path / "a.h5"), open_showers(tmp_path / "b.h5")
    assert (a.read(0, 20)[0] == b.read(0, 20)[0]).all()


def test_energy_outside_trained_range_warns_or_fails_with_strict(tmp_path: Path, tiny_weights: Path) -> None:
    args = ["generate", "-n", "4", "--model", str(tiny_weights), "--energy", "50:500"]
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "w.h5")])
    assert res.exit_code == 0 and "outside the trained range" in res.output
    res = runner.invoke(app, [*args, "--strict", "-o", str(tmp_path / "s.h5")])
    assert res.exit_code == 2 and "outside the trained range 100:500" in res.output
    assert not (tmp_path / "s.h5").exists()


@pytest.mark.parametrize("option", [["-n", "0"], ["--batch-size", "-1"], ["--threads", "0"]])
def test_non_positive_counts_exit_2(tmp_path: Path, tiny_weights: Path, option: list[str]) -> None:
    res = runner.invoke(app, ["generate", *option, "--model", str(tiny_weights), "-o", str(tmp_path / "x.h5")])
    assert res.exit_code == 2 and "must be a positive integer" in res.output
    assert list(tmp_path.glob("x.h5*")) == []


def test_corrupt_or_foreign_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    res = runner.invoke(app, ["generate", "-n", "2", "--model", str(bad), "-o", str(tmp_path / "x.h5")])
    assert res.exit_code == 2 and "not a safetensors file" in res.output
    res = runner.invoke(app, ["generate", "-n", "2", "--model", str(tmp_path / "none"), "-o", str(tmp_path / "x.h5")])
    assert res.exit_code == 2 and "no such file" in res.output


def test_compare_gan_writes_a_verdict(tmp_path: Path, tiny_weights: Path, shower_file: Path) -> None:
    import json

    out = tmp_path / "gan.json"
    res = runner.invoke(app, ["compare-gan", "--model", str(tiny_weights), "-r", str(shower_file), "--oversample",
                              "1", "-o", str(out), "--check"])
    assert res.exit_code == 1  # an untrained generator is (rightly) incompatible with the reference
    result = json.loads(out.read_text())
    assert result["kind"] == "compare-gan" and result["sample_label"] == "GAN"
    assert result["model_sha256"] and not result["references"][0]["compatible"]
