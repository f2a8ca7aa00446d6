"""`caloquant autoq --target trigger`: both strategies, Pareto front, chosen model, budget handling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app


@pytest.mark.slow  # starts the hls4ml C simulation
def test_autoq_writes_front_choice_and_qonnx(tmp_path: Path) -> None:
    out = tmp_path / "aq"
    r = CliRunner().invoke(app, ["autoq", "-o", str(out), "--time-budget", "2", "--seeds", "1", "--qat-epochs", "2",
                                 "--budget", "1e9", "--strategy", "random,gradient", "--final-epochs", "2"])
    res = json.loads((out / "autoq.json").read_text())
    ok = res["met_budget"] and res["chosen"]["test_passed"]  # two QAT epochs may not be enough
    assert r.exit_code == (0 if ok else 1), r.output
    csim = res["hls4ml"]["csim"]  # the chosen model's firmware, checked on every test shower
    assert csim["n_events"] == 1200 and csim["events_bit_exact"] == 1200, csim
    assert (out / "hls4ml" / "project" / "firmware").is_dir()
    assert {run["strategy"] for run in res["runs"]} == {"random", "gradient"}
    assert all(run["trials"] >= 1 for run in res["runs"])
    assert res["pareto"] and (out / "pareto.png").stat().st_size > 0
    assert len((out / "trials.jsonl").read_text().splitlines()) == sum(run["trials"] for run in res["runs"])
    qonnx_ops = {n.op_type for n in onnx.load(str(out / "trigger_qonnx.onnx")).graph.node}
    assert "Quant" in qonnx_ops
    assert res["chosen"]["test"]["bops"] > 0


def test_unreachable_budget_saves_the_closest_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "aq"
    r = CliRunner().invoke(app, ["autoq", "-o", str(out), "--time-budget", "2", "--seeds", "1", "--strategy",
                                 "random", "--qat-epochs", "1", "--budget", "1", "--no-hls4ml", "--final-epochs", "1"])
    assert r.exit_code == 1, r.output
    assert "no candidate passed within 1 BOPs" in r.output
    assert json.loads((out / "autoq.json").read_text())["met_budget"] is False
    assert (out / "trigger_qonnx.onnx").is_file()


def test_bad_options_exit_2(tmp_path: Path) -> None:
    for args, msg in ((["--strategy", "genetic"], "strategies 'genetic'"), (["--seeds", "a,b"], "--seeds"),
                      (["--strategy", "hgq2"], "the HGQ2 peer is compared, not chosen"),
                      (["--target", "calorimeter"], "--target 'calorimeter'"),
                      (["--model", "x.safetensors"], "--model applies to --target generator")):
        r = CliRunner().invoke(app, ["autoq", "-o", str(tmp_path / "x"), *args])
        assert r.exit_code == 2 and msg in r.output, r.output


def test_hgq2_peer_runs_on_the_keras_torch_backend() -> None:
    from caloquant.edge.data import load_dataset
    from caloquant.edge.hgq_peer import _predict, train_hgq
    from caloquant.edge.train import load_trigger
    from caloquant.resources import trigger_features_file, trigger_model_file

    float_model, data = load_trigger(trigger_model_file()), load_dataset(trigger_features_file())
    model, ebops = train_hgq(float_model, data, beta=1e-5, seed=1, epochs=1)
    score, energy = _predict(model, float_model, data.part("test").x)
    assert ebops > 0 and np.isfinite(score).all() and (energy > 0).all()
