"""The physics-driven tuner on the tiny model: it always saves a model and says whether it passed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from caloquant.engines.base import generate_batches
from caloquant.errors import InputValueError
from caloquant.models import Generator
from caloquant.physics.tolerances import ZERO
from caloquant.precision import AccuracyControlConfig, AutoConfig, load_engine, quantize
from caloquant.precision.float_layers import float_modules
from caloquant.precision.recipes import DEFAULT_FLOAT_TAIL
from caloquant.precision.tuner import tune


def test_tuner_saves_a_runnable_model_and_logs_every_trial(tmp_path: Path, tiny: Generator) -> None:
    cfg = AutoConfig(validation_size=300, reference_size=300, time_budget_s=1e6, max_trials=3, calibration_size=32,
                     threads=1, fallback="fp32", qat_steps=0)
    quantize(tiny, cfg, engine="openvino", out=tmp_path)
    trials = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    meta = json.loads((tmp_path / "caloquant.json").read_text())
    auto = meta["auto"]
    assert len(trials) == auto["trials"] >= 1
    assert meta["precision"] == "auto" and meta["recipe"]["method"] == "auto"
    assert auto["passed"] == any(t["passed"] for t in trials)
    assert set(meta["layer_precisions"].values()) <= {"int8", "fp32"}
    chosen = [t for t in trials if t["score"] == auto["score"]]
    assert chosen and (not auto["passed"] or (auto["showers_per_s"] and auto["score"] < 1))
    engine = load_engine(tmp_path, threads=1)
    x = np.concatenate([s for s, _ in generate_batches(engine, count=8, seed=1)])
    assert x.shape == (8, 25, 25, 25) and np.isfinite(x).all()


def test_no_int8_at_all_is_always_a_candidate(tmp_path: Path, tiny: Generator) -> None:
    """When int8 fails, the plain fallback model is judged and timed even after the budget ran out, so the
    tuner never returns something slower than no int8 at all."""
    cfg = AutoConfig(validation_size=300, reference_size=300, time_budget_s=1e6, max_trials=1, calibration_size=32,
                     threads=1, fallback="fp32", k=0.5, qat_steps=0, tolerances=dict(ZERO))  # strict: int8 fails
    result = tune(tiny, cfg, tmp_path)
    assert result.stopped_by_budget and not result.trials[0].passed and len(result.trials) == 2
    no_int8 = [t for t in result.trials if set(t.kept) == set(result.layers)]
    assert len(no_int8) == 1 and no_int8[0].passed and no_int8[0].showers_per_s
    assert result.passed and result.chosen.showers_per_s >= no_int8[0].showers_per_s


def test_int8_candidates_come_from_the_closer_of_ptq_and_qat(tmp_path: Path, tiny: Generator) -> None:
    cfg = AutoConfig(validation_size=300, reference_size=300, time_budget_s=1e6, max_trials=4, calibration_size=32,
                     threads=1, fallback="fp32", k=0.5, qat_steps=30, tolerances=dict(ZERO))  # full int8 fails
    quantize(tiny, cfg, engine="openvino", out=tmp_path)
    trials = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    # full int8, then our recipe's layout (its float layers in the fallback), then QAT's int8, fine-tuned in
    # that layout (the trial records the layers the model keeps out of int8)
    assert [t["base"] for t in trials[:3]] == ["ptq", "ptq", "qat"] and trials[0]["kept"] == []
    assert trials[1]["kept"] == trials[2]["kept"] == float_modules(True, DEFAULT_FLOAT_TAIL)
    closer = "qat" if trials[2]["score"] < trials[0]["score"] else "ptq"
    no_int8 = [t for t in trials if len(t["kept"]) == 29]
    assert all(t["base"] == closer for t in trials[3:] if t not in no_int8)
    assert all(set(t["kept"]) >= set(trials[2]["kept"]) for t in trials if t["base"] == "qat")
    meta = json.loads((tmp_path / "caloquant.json").read_text())
    assert meta["qat"]["qat"]["steps"] == 30 and meta["auto"]["int8_from"] in ("ptq", "qat")


def test_time_budget_shorter_than_one_trial_is_refused(tmp_path: Path, tiny: Generator) -> None:
    cfg = AutoConfig(validation_size=300, time_budget_s=1e-3, calibration_size=16, threads=1)
    with pytest.raises(InputValueError, match="shorter than one trial"):
        quantize(tiny, cfg, engine="openvino", out=tmp_path)


def test_auto_config_rejects_bad_values() -> None:
    with pytest.raises(InputValueError, match="fallback 'fp16'"):
        AutoConfig(fallback="fp16")
    with pytest.raises(InputValueError, match="time_budget_s"):
        AutoConfig(time_budget_s=0)
    with pytest.raises(InputValueError, match="qat_steps"):
        AutoConfig(qat_steps=-1)


def test_nncf_accuracy_control_with_the_physics_metric(tmp_path: Path, tiny: Generator) -> None:
    from caloquant.precision.accuracy_control import quantize_with_physics_control

    cfg = AccuracyControlConfig(validation_size=96, reference_size=96, calibration_size=16, threads=1,
                                max_iterations=1)
    info = quantize_with_physics_control(tiny, cfg, tmp_path)
    assert "quantize_with_accuracy_control" in info["calibration"]["tool"]
    assert (tmp_path / "model.xml").is_file() and (tmp_path / "model.bin").is_file()


def test_transposed_convolutions_are_named_after_their_modules(tmp_path: Path, tiny: Generator) -> None:
    import nncf
    import openvino as ov

    from caloquant.engines.export import export_onnx
    from caloquant.precision.calibration import calibration_latents
    from caloquant.precision.layer_map import openvino_layer_nodes, openvino_layer_precisions

    model = ov.convert_model(str(export_onnx(tiny, tmp_path / "t.onnx")))
    nodes = openvino_layer_nodes(model)
    assert {f"paths.{p}.{u}" for p in range(3) for u in ("up1", "up2")} <= set(nodes)
    z = calibration_latents(16, (100.0, 500.0), 1)
    keep = nodes["paths.1.up2"]
    q = nncf.quantize(model, nncf.Dataset([z[i : i + 1] for i in range(16)]), subset_size=16,
                      preset=nncf.QuantizationPreset.PERFORMANCE, ignored_scope=nncf.IgnoredScope(names=[keep]))
    precisions = openvino_layer_precisions(q)
    assert precisions["paths.1.up2"] == "fp32" and precisions["paths.0.up2"] == "int8"


def test_a_tie_in_speed_goes_to_the_larger_physics_margin() -> None:
    from caloquant.precision.tuner import SPEED_NOISE, Trial, pick

    def trial(kept: int, score: float, speed: float | None) -> Trial:
        return Trial(tuple(str(i) for i in range(kept)), "ptq", score < 1, score, "", speed, 1.0)

    close, margin, slow, failing = trial(3, 0.94, 339.0), trial(7, 0.24, 329.0), trial(29, 0.1, 200.0), \
        trial(0, 50.0, None)
    assert margin.showers_per_s >= (1 - SPEED_NOISE) * close.showers_per_s  # type: ignore[operator]
    assert pick([failing, close, margin, slow]) == (margin, True)
    assert pick([failing, trial(2, 0.5, 300.0), slow]) == (trial(2, 0.5, 300.0), True)  # 12 % faster wins
    assert pick([failing, trial(1, 3.0, None)]) == (trial(1, 3.0, None), False)  # none passes: the closest


def test_the_judge_meets_the_classifier_as_validate_does(tiny: Generator) -> None:
    """A whole candidate is also judged by validate --paired's HLF classifier: float32 against itself passes
    it (AUC 0.5), showers made 3 % wider in x fail it though each per-bin quantity allows that much."""
    import dataclasses

    from caloquant.engines.torch_engine import TorchEngine
    from caloquant.physics.tolerances import VALIDATE
    from caloquant.precision.judge import PhysicsJudge, with_classifier

    judge = PhysicsJudge(TorchEngine(tiny, "fp32", threads=1), validation_size=400, reference_size=400,
                         tolerances=dict(VALIDATE))
    same = judge.verdict(judge.reference)
    assert same["classifier_auc"] == pytest.approx(0.5, abs=0.05) and same["passed"]
    assert same["n_quantities"] == judge.verdict(judge.reference, np.arange(400))["n_quantities"] + 1
    wider = dataclasses.replace(judge.reference, layer_wx=judge.reference.layer_wx * 1.03)
    verdict = with_classifier({"score": 0.0, "worst": "", "n_off": 0, "n_quantities": 1, "passed": True}, wider,
                              judge.reference, tolerance=0.02, k=4.0, seed=1)
    assert verdict["classifier_auc"] > 0.6 and not verdict["passed"] and "classifier" in verdict["worst"]
