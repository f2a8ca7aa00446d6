"""int8 QAT by self-distillation on the tiny generator: closer to float32 than PTQ with the same calibration,
and the OpenVINO model it writes is the fake-quantized PyTorch model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from caloquant.contract import draw_energies, draw_latents, make_latent
from caloquant.errors import InputValueError
from caloquant.models import Generator
from caloquant.precision import Int8StaticConfig, load_engine, quantize
from caloquant.precision.float_layers import float_modules
from caloquant.precision.qat import fine_tune, fold_student_output_scale, physics_distance, student_and_teacher
from caloquant.precision.recipes import Int8QATConfig
from caloquant.precision.source import as_float_model

# kept layers in f32: what is compared is the int8 of the two methods, not bf16's rounding on top of it
QAT = Int8QATConfig(calibration_size=64, steps=100, lr=1e-6, batch_size=16, fallback="fp32")


def _held_out() -> tuple[np.ndarray, np.ndarray]:
    ep = draw_energies(99, 64, 100.0, 500.0)
    return make_latent(draw_latents(99, 64, 200), ep), ep


def _distance(showers: np.ndarray, reference: torch.Tensor, ep: np.ndarray) -> float:
    return float(physics_distance(torch.from_numpy(showers), reference, torch.from_numpy(ep.astype(np.float32)),
                                  QAT.loss_weights)[0])


@pytest.mark.int8_dot
def test_qat_is_closer_to_float32_than_ptq_with_the_same_calibration(tmp_path: Path, tiny: Generator) -> None:
    z, ep = _held_out()
    with torch.no_grad():
        reference = tiny(torch.from_numpy(z))
    quantize(tiny, Int8StaticConfig(calibration_size=QAT.calibration_size, seed=QAT.seed, fallback="fp32"),
             engine="openvino", out=tmp_path / "ptq")
    seen: list[tuple[int, int]] = []
    quantize(tiny, QAT, engine="openvino", out=tmp_path / "qat",
             progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (QAT.steps, QAT.steps) and len(seen) == QAT.steps
    ptq = _distance(load_engine(tmp_path / "ptq", threads=1).run(z), reference, ep)
    qat = _distance(load_engine(tmp_path / "qat", threads=1).run(z), reference, ep)
    assert qat < 0.9 * ptq, (qat, ptq)
    meta = json.loads((tmp_path / "qat" / "caloquant.json").read_text())
    assert meta["recipe"]["method"] == "qat" and meta["qat"]["steps"] == QAT.steps
    assert set(meta["layer_precisions"].values()) == {"int8", "fp32"}  # the last convolution stays float
    ptq_layers = json.loads((tmp_path / "ptq" / "caloquant.json").read_text())["layer_precisions"]
    assert meta["layer_precisions"] == ptq_layers  # same layers, same module names, same precisions


@pytest.mark.int8_dot
def test_the_openvino_model_is_the_fake_quantized_model_within_one_step(tiny: Generator) -> None:
    from caloquant.precision.qat import to_openvino

    recipe = Int8QATConfig(calibration_size=32, steps=5, lr=1e-6, batch_size=8)
    student, teacher, _ = student_and_teacher(as_float_model(tiny), recipe)
    fine_tune(student, teacher, recipe, latent=200)
    fold_student_output_scale(student, recipe.keep_output_float)
    z, _ = _held_out()
    with torch.no_grad():
        fake_quantized = student(torch.from_numpy(z)).numpy()
    import openvino as ov

    compiled = ov.Core().compile_model(to_openvino(student, 200), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    exported = compiled(z)[0]
    step = np.abs(fake_quantized).max() / 127  # one int8 step at the output's range
    assert np.abs(exported - fake_quantized).max() <= step


def test_released_layers_leave_int8_and_a_shared_input_stays_quantized(tiny: Generator) -> None:
    from caloquant.precision.layer_map import openvino_layer_precisions
    from caloquant.precision.qat import qat_openvino, release_layers

    model, info = qat_openvino(as_float_model(tiny), Int8QATConfig(calibration_size=32, steps=2, batch_size=4))
    assert info["qat"]["steps"] == 2
    released = openvino_layer_precisions(release_layers(model.clone(), {"dense", "paths.0.conv3.conv"}))
    recipe_float = set(float_modules(True, Int8QATConfig().float_tail))  # float in QAT's layout already
    assert {k for k, v in released.items() if v == "fp32"} == {"dense", "paths.0.conv3.conv"} | recipe_float
    # the three paths' first convolutions share one FakeQuantize: one alone cannot leave int8
    one = openvino_layer_precisions(release_layers(model.clone(), {"paths.1.conv1.conv"}))
    assert one["paths.1.conv1.conv"] == "int8"
    three = openvino_layer_precisions(release_layers(model.clone(), {f"paths.{i}.conv1.conv" for i in range(3)}))
    assert all(three[f"paths.{i}.conv1.conv"] == "fp32" for i in range(3))


def test_a_user_onnx_model_cannot_be_fine_tuned(tmp_path: Path) -> None:
    from caloquant.precision.source import FloatModel

    with pytest.raises(InputValueError, match="cannot be fine-tuned"):
        quantize(FloatModel(200, user=object()), QAT, engine="openvino", out=tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_qat_recipe_refuses_bad_values() -> None:
    with pytest.raises(InputValueError, match="loss"):
        Int8QATConfig(loss="l2")  # type: ignore[arg-type]
    with pytest.raises(InputValueError, match="loss_weights"):
        Int8QATConfig(loss_weights={"pixels": 1.0})
    with pytest.raises(InputValueError, match="steps"):
        Int8QATConfig(steps=0)
