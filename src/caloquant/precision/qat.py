"""int8 quantization-aware fine-tuning by self-distillation (`quantize --precision int8 --method qat`).

A generator needs no data to be fine-tuned toward its own float32 behaviour: latents are free. The
float32 generator is the teacher; the student is the same generator after NNCF's post-training int8
(`nncf.quantize` on the PyTorch module, the calibration of `ptq-static` exactly), whose FakeQuantize
layers pass gradients straight through and learn their ranges. The student is trained on fresh contract
latents to reproduce the teacher's showers, then converted to OpenVINO: the FakeQuantize nodes sit where
PTQ puts them (same layout, same speed), with the fine-tuned weights and ranges.

The loss (`physics_distance`) sees what the physics check sees: cell energies span six decades and the
failing quantities of plain int8 are sums and shapes (sampling fraction, first-layer profile), so it
combines a per-cell distance in log space with the layer sums, the x and y profiles and the total energy,
all per shower divided by its primary energy so 100 and 500 GeV count alike. BatchNorm statistics stay
frozen and dropout off (the student runs in eval mode), as the model runs when shipped.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from caloquant._logs import hide_tool_progress
from caloquant.contract import draw_energies, draw_latents, make_latent
from caloquant.errors import InputValueError
from caloquant.precision.calibration import calibration_items, calibration_latents
from caloquant.precision.float_layers import nncf_torch_patterns
from caloquant.precision.recipes import Int8QATConfig, openvino_fallback

__all__ = ["physics_distance", "qat_openvino", "quantize_qat", "release_layers", "student_and_teacher"]

LOG_EPS = 1e-8  # per GeV of Ep: 1e-6 GeV, the contract's zero threshold, at 100 GeV
Log = Callable[[str], None]


def physics_distance(student: Any, teacher: Any, ep: Any, weights: dict[str, float]) -> tuple[Any, dict[str, Any]]:
    """Per-shower distance between two batches of showers (B, x, y, layer) in GeV, each divided by Ep:
    mean |log| differences of the cells, the layer sums, the x and y profiles and the total."""
    import torch

    s = student.float() / ep[:, None, None, None]
    t = teacher.float() / ep[:, None, None, None]

    def log_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a + LOG_EPS).log() - (b + LOG_EPS).log()).abs().mean()

    terms = {"cell": log_l1(s, t), "layer": log_l1(s.sum(dim=(1, 2)), t.sum(dim=(1, 2))),
             "lateral": 0.5 * (log_l1(s.sum(dim=(2, 3)), t.sum(dim=(2, 3))) + log_l1(s.sum(dim=(1, 3)),
                                                                                   t.sum(dim=(1, 3)))),
             "total": log_l1(s.sum(dim=(1, 2, 3)), t.sum(dim=(1, 2, 3)))}
    total = sum(weights.get(k, 0.0) * v for k, v in terms.items())
    return total, terms


def _mse(student: Any, teacher: Any, ep: Any, weights: dict[str, float]) -> tuple[Any, dict[str, Any]]:
    mse = ((student.float() - teacher.float()) ** 2).mean()
    return mse, {"mse": mse}


def _require_torch(src: Any) -> Any:
    if src.module is None:
        raise InputValueError("--method qat fine-tunes a PyTorch generator; a user ONNX model cannot be fine-tuned "
                              "(use --method ptq, or quantize the PyTorch model it came from)")
    return src.module


def student_and_teacher(src: Any, recipe: Int8QATConfig) -> tuple[Any, Any, dict[str, Any]]:
    """(student, teacher, calibration record): the teacher is the float32 generator, the student NNCF's int8
    of it, calibrated as `ptq-static` calibrates. The output scale stays out of the last convolution while
    training (Adam moves every weight by about lr a step: folded, the last layer's weights are 100x smaller
    and a step of 1e-4 wrecked them) and is folded in before export (`fold_student_output_scale`)."""
    import nncf
    import torch

    os.environ.setdefault("NNCF_EXTENSION_LOAD_TIMEOUT", "0")  # the first call builds NNCF's C++ extension
    teacher = copy.deepcopy(_require_torch(src)).eval()
    z = calibration_latents(recipe.calibration_size, recipe.energy, recipe.seed, src.latent, src.energy_input)
    items = [torch.from_numpy(item) for item in calibration_items(z, recipe.calibration_batch)]
    patterns = nncf_torch_patterns(recipe.keep_output_float, recipe.float_tail)
    ignored = nncf.IgnoredScope(patterns=patterns, validate=False) if patterns else None
    with hide_tool_progress():
        student = nncf.quantize(copy.deepcopy(teacher), nncf.Dataset(items), subset_size=len(items),
                                preset=(nncf.QuantizationPreset.PERFORMANCE if recipe.symmetric
                                        else nncf.QuantizationPreset.MIXED), ignored_scope=ignored)
    for p in teacher.parameters():
        p.requires_grad_(False)
    calibration = {"tool": f"nncf.quantize {nncf.__version__} (PyTorch)",
                   "preset": "PERFORMANCE (symmetric)" if recipe.symmetric else "MIXED",
                   "items": f"{len(items)} of {recipe.calibration_batch} latents",
                   "ignored": patterns}
    return student.eval(), teacher, calibration


def _latents(recipe: Int8QATConfig, step: int, latent: int, energy_input: str) -> tuple[np.ndarray, np.ndarray]:
    """Fresh contract latents for one step (their own seed stream, never the calibration's)."""
    seed = int(np.random.SeedSequence((recipe.qat_seed, step)).generate_state(1)[0])
    ep = draw_energies(seed, recipe.batch_size, *recipe.energy)
    return make_latent(draw_latents(seed, recipe.batch_size, latent), ep, energy_input), ep


def fine_tune(student: Any, teacher: Any, recipe: Int8QATConfig, *, latent: int, energy_input: str = "latent",
              progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Train the student toward the teacher for `recipe.steps` steps or `recipe.time_budget_s` seconds;
    returns what caloquant.json records (steps, loss at the start and the end, seconds)."""
    import torch

    distance = physics_distance if recipe.loss == "physics" else _mse
    student.eval()  # BatchNorm frozen, dropout off: the network as it ships
    params = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=recipe.lr)
    losses: list[float] = []
    t0 = time.perf_counter()
    step = 0
    for step in range(1, recipe.steps + 1):
        z, ep = _latents(recipe, step, latent, energy_input)
        z_t, ep_t = torch.from_numpy(z), torch.from_numpy(ep.astype(np.float32))
        with torch.no_grad():
            target = teacher(z_t)
        loss, _ = distance(student(z_t), target, ep_t, recipe.loss_weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if progress:
            progress(step, recipe.steps)
        if recipe.time_budget_s is not None and time.perf_counter() - t0 > recipe.time_budget_s:
            break
    head, tail = losses[:min(10, len(losses))], losses[-min(10, len(losses)):]
    return {"steps": step, "loss": recipe.loss, "loss_first_steps": float(np.mean(head)),
            "loss_last_steps": float(np.mean(tail)), "seconds": round(time.perf_counter() - t0, 1)}


def fold_student_output_scale(student: Any, keep_output_float: bool) -> None:
    """Fold the generator's output scale into its last convolution, as PTQ's export does, so both graphs
    end alike; only when that convolution is float (a quantized one would need its weight range rescaled
    too; its graph keeps the scale as one multiply after it)."""
    import dataclasses

    import torch

    if not keep_output_float or student.cfg.output_scale == 1.0:
        return
    with torch.no_grad():
        student.final.weight.mul_(student.cfg.output_scale)
    student.cfg = dataclasses.replace(student.cfg, output_scale=1.0)


def to_openvino(student: Any, latent: int) -> Any:
    """The fine-tuned student as an OpenVINO model with input 'z' and output 'showers'."""
    import warnings

    import openvino as ov
    import torch

    from caloquant.engines.export import INPUT_NAME, OUTPUT_NAME

    student.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on NNCF's quantizer levels
        model = ov.convert_model(student, example_input=torch.zeros(2, latent))
    model.inputs[0].get_tensor().set_names({INPUT_NAME})
    model.outputs[0].get_tensor().set_names({OUTPUT_NAME})
    return model


def qat_openvino(src: Any, recipe: Int8QATConfig, *, log: Log | None = None,
                 progress: Callable[[int, int], None] | None = None) -> tuple[Any, dict[str, Any]]:
    """(the fine-tuned student as an OpenVINO model, what caloquant.json records about it)."""
    import torch

    torch.manual_seed(recipe.qat_seed)
    student, teacher, calibration = student_and_teacher(src, recipe)
    if log:
        log(f"QAT: {recipe.steps} steps of {recipe.batch_size} latents, {recipe.loss} loss, lr {recipe.lr:g}")
    record = fine_tune(student, teacher, recipe, latent=src.latent, energy_input=src.energy_input,
                       progress=progress)
    fold_student_output_scale(student, recipe.keep_output_float)
    return to_openvino(student, src.latent), {"calibration": calibration, "qat": record}


def release_layers(model: Any, modules: set[str]) -> Any:
    """`model` (OpenVINO, modified in place) with the FakeQuantize nodes in front of `modules`' layers
    bypassed, so those layers run in the inference precision while the rest keep QAT's int8. A
    FakeQuantize shared with a layer not released stays (the three paths' first convolutions share one):
    read the layers' precisions back (`openvino_layer_precisions`) for what was released."""
    from caloquant.precision.layer_map import layer_ops

    layer_of = {op.get_friendly_name(): name for name, op in layer_ops(model)}  # type: ignore[attr-defined]
    for fq in [op for op in model.get_ordered_ops() if op.get_type_name() == "FakeQuantize"]:
        reached, todo = set(), [t.get_node() for t in fq.output(0).get_target_inputs()]
        while todo:  # the layers this FakeQuantize feeds, through shape-only nodes
            node = todo.pop()
            if node.get_friendly_name() in layer_of:
                reached.add(layer_of[node.get_friendly_name()])
            elif node.get_type_name() in ("Reshape", "Convert", "Transpose"):
                todo += [t.get_node() for out in node.outputs() for t in out.get_target_inputs()]
            else:
                reached.add("")  # feeds something else: keep it
        if reached and reached <= modules:
            fq.output(0).replace(fq.input_value(0))
    model.validate_nodes_and_infer_types()
    return model


def quantize_qat(src: Any, recipe: Int8QATConfig, out: Path, *, log: Log | None = None,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write out/model.xml (+ .bin): PTQ int8, fine-tuned against float32; returns caloquant.json's info."""
    from caloquant.engines.export import save_ir
    from caloquant.precision.layer_map import openvino_layer_precisions

    model, info = qat_openvino(src, recipe, log=log, progress=progress)
    save_ir(model, out)
    fallback = openvino_fallback(recipe)
    return {"files": ["model.xml", "model.bin"], **info, "runtime_precision": fallback,
            "layer_precisions": openvino_layer_precisions(model, fallback)}
