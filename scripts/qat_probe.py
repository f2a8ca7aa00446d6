"""QAT of the shipped generator, probed: the judge's score of the fake-quantized PyTorch student along the
fine-tuning (docs/precision.md; rerunnable, seeded; about 2 s a step and 40 s an evaluation on 2 cores).

    python scripts/qat_probe.py LR STEPS EVERY TAG [const|cosine] [LR_MULT_1D] [BIAS_WEIGHT] [BATCH]

LR_MULT_1D scales the learning rate of biases and 1-D parameters; BIAS_WEIGHT adds a paired-bias term
(the batch-mean student-minus-teacher layer, x, y and total sums over the teacher's, per Ep). Prints one
JSON line per evaluation (1 000 paired showers over 100-500 GeV, errors at 10 000 showers).
"""

import copy
import json
import os
import sys
import time

import numpy as np
import torch

from caloquant.engines.base import generate_batches
from caloquant.engines.torch_engine import TorchEngine
from caloquant.models.io import load_generator
from caloquant.models.shipped import resolve_generator_path
from caloquant.physics.compare import validation_quantity_list
from caloquant.physics.features import extract_features
from caloquant.physics.tolerances import VALIDATE
from caloquant.precision.judge import PhysicsJudge
from caloquant.precision.qat import _latents, physics_distance, student_and_teacher
from caloquant.precision.recipes import Int8QATConfig
from caloquant.precision.source import as_float_model

lr = float(sys.argv[1])
steps = int(sys.argv[2])
every = int(sys.argv[3])
tag = sys.argv[4]
sched = sys.argv[5] if len(sys.argv) > 5 else "const"
bias_mult = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
bias_w = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
bs = int(sys.argv[8]) if len(sys.argv) > 8 else 16
torch.set_num_threads(2)
if os.environ.get("RANGES"):  # activation ranges other than NNCF's default (mean of per-sample min/max)
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    _quantize = nncf.quantize
    nncf.quantize = lambda *a, **k: _quantize(
        *a,
        advanced_parameters=AdvancedQuantizationParameters(
            activations_range_estimator_params=getattr(RangeEstimatorParametersSet, os.environ["RANGES"])
        ),
        **k,
    )
src = as_float_model(load_generator(resolve_generator_path(None)))
recipe = Int8QATConfig(steps=steps, lr=lr, batch_size=bs)
torch.manual_seed(recipe.qat_seed)
t0 = time.time()
student, teacher, _ = student_and_teacher(src, recipe)
print("ptq", round(time.time() - t0), flush=True)
judge = PhysicsJudge(TorchEngine(teacher, threads=None), validation_size=int(os.environ.get("N", 1000)))
judge_validate = copy.copy(judge)
judge_validate.quantities = validation_quantity_list(dict(VALIDATE))


def ev(step):
    f = extract_features(generate_batches(TorchEngine(student, threads=None), ep=judge.ep, seed=judge.seed))
    v, w = judge.verdict(f), judge_validate.verdict(f)
    print(
        json.dumps(
            {
                "tag": tag,
                "step": step,
                **v,
                "validate": {k: w[k] for k in ("score", "worst", "n_off")},
                "t": round(time.time() - t0),
            }
        ),
        flush=True,
    )


student.eval()
scale_lr = float(os.environ.get("SCALE_LR", 0))  # the quantizers' ranges on their own rate


def is_scale(name: str) -> bool:
    return scale_lr > 0 and "_scale_param_storage" in name


w = [p for n, p in student.named_parameters() if p.requires_grad and p.dim() > 1 and not is_scale(n)]
o = [p for n, p in student.named_parameters() if p.requires_grad and p.dim() <= 1 and not is_scale(n)]
sc = [p for n, p in student.named_parameters() if p.requires_grad and is_scale(n)]
print(
    "params",
    len(w),
    len(o),
    [n for n, p in student.named_parameters() if p.requires_grad and p.dim() <= 1][:6],
    flush=True,
)
opt = torch.optim.Adam(
    [{"params": w, "lr": lr}, {"params": o, "lr": lr * bias_mult}] + ([{"params": sc, "lr": scale_lr}] if sc else [])
)
print("scales", len(sc), [round(float(p.detach().abs().max()), 4) for p in sc][:40], flush=True)
base = [g["lr"] for g in opt.param_groups]
ev(0)
losses = []
for step in range(1, steps + 1):
    if sched == "cosine":
        f = min(1.0, step / (0.1 * steps)) * 0.5 * (1 + np.cos(np.pi * step / steps))
        for g, b in zip(opt.param_groups, base, strict=True):
            g["lr"] = b * f
    z, ep = _latents(recipe, step, 200, "latent")
    zt, et = torch.from_numpy(z), torch.from_numpy(ep.astype(np.float32))
    with torch.no_grad():
        tgt = teacher(zt)
    out = student(zt)
    loss, terms = physics_distance(out, tgt, et, recipe.loss_weights)
    if bias_w:
        d = (out.float() - tgt.float()) / et[:, None, None, None]
        t = tgt.float() / et[:, None, None, None]
        bias = sum(
            ((d.sum(dim=dims).mean(0)).abs() / (t.sum(dim=dims).mean(0) + 1e-6)).mean()
            for dims in ((1, 2), (2, 3), (1, 3), (1, 2, 3))
        )
        loss = loss + bias_w * bias
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(float(loss.detach()))
    if step % every == 0:
        print("loss", step, np.mean(losses[-every:]), flush=True)
        ev(step)
