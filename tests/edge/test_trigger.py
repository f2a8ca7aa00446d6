"""The trigger model: features, fixed splits, float training, the shipped model and its metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.edge.data import load_dataset
from caloquant.edge.features import FEATURE_NAMES, feature_cost, trigger_features
from caloquant.edge.train import evaluate, load_trigger, paired_difference, predict, save_trigger, train_trigger
from caloquant.errors import CaloquantError
from caloquant.resources import trigger_features_file, trigger_model_file


def test_features_of_simulated_showers(small_showers: tuple[np.ndarray, np.ndarray]) -> None:
    ecal, _ = small_showers
    x = trigger_features(ecal[:8])
    assert x.shape == (8, len(FEATURE_NAMES)) == (8, 32) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, :25].sum(axis=1), 1.0, rtol=1e-5)  # layer fractions
    assert ((x[:, 30] > 0) & (x[:, 30] <= x[:, 31]) & (x[:, 31] <= 1)).all()  # core 1x1 <= 3x3 <= 1
    cost = feature_cost()
    assert cost["adds"] > 25 * 624 and cost["multiplies"] > 0


def test_shipped_features_have_disjoint_stratified_splits() -> None:
    data = load_dataset(trigger_features_file())
    assert len(data) == 6000 and set(np.unique(data.split)) == {0, 1, 2}
    for label in (0, 1):
        counts = np.bincount(data.split[data.label == label])
        assert counts.tolist() == [1800, 600, 600]
    assert ((data.energy >= 100) & (data.energy <= 500)).all()


def test_shipped_model_reproduces_its_metrics() -> None:
    data = load_dataset(trigger_features_file()).part("test")
    model = load_trigger(trigger_model_file())
    assert model.n_parameters() == 2178
    m = evaluate(model, data, n_boot=50)
    assert m["auc"] > 0.7 and m["resolution"] < 0.04


def test_training_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    data = load_dataset(trigger_features_file())
    a, _ = train_trigger(data, seed=3, epochs=3)
    b, _ = train_trigger(data, seed=3, epochs=3)
    test = data.part("test")
    pa, pb = predict(a, test.x), predict(b, test.x)
    np.testing.assert_array_equal(pa[0], pb[0])
    save_trigger(tmp_path / "t.safetensors", a)
    pc = predict(load_trigger(tmp_path / "t.safetensors"), test.x)
    np.testing.assert_array_equal(pa[1], pc[1])
    d = paired_difference(pa, pc, test, n_boot=20)
    assert d["auc_diff"] == 0 and d["resolution_diff_se"] == 0


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    from caloquant.models.shipped import default_generator_path

    with pytest.raises(CaloquantError, match="not a caloquant trigger model"):
        load_trigger(default_generator_path())
    with pytest.raises(CaloquantError, match="not a trigger feature file"):
        load_dataset(default_generator_path())


def test_cli_train(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["trigger", "train", "--epochs", "3", "-o", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["parameters"] == 2178 and 0.5 < m["test"]["auc"] <= 1
