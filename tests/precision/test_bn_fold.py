"""The exact BatchNorm folds: same outputs, and ONNX Runtime graphs without BatchNormalization nodes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch

from caloquant.models import Generator
from caloquant.precision import quantize, recipe_for
from caloquant.precision.bn_fold import fold_batchnorms


def test_fold_is_exact(tiny: Generator) -> None:
    folded, counts = fold_batchnorms(tiny)
    # 7 blocks per path: conv4 and conv7 are 'valid', so the shifts of conv3 and conv6 fold into them
    assert counts == {"blocks": 21, "scale_into_conv": 21, "shift_into_next_conv": 6, "shift_kept_as_add": 15,
                      "kept_as_batchnorm": 0}
    z = torch.from_numpy(np.random.default_rng(0).standard_normal((6, 200)).astype(np.float32) * 3)
    with torch.no_grad():
        a, b = tiny(z), folded(z)
    assert (a - b).abs().max() <= 1e-5 * a.abs().max()


def test_negative_scale_keeps_the_batchnorm(tiny: Generator) -> None:
    import copy

    gen = copy.deepcopy(tiny)
    with torch.no_grad():
        gen.paths[0].conv1.bn.weight[0] = -1.0
    counts = fold_batchnorms(gen)[1]
    assert counts["kept_as_batchnorm"] == 1 and counts["scale_into_conv"] == 20


def test_onnxruntime_dirs_are_folded(tmp_path: Path, tiny: Generator) -> None:
    out = quantize(tiny, recipe_for("fp32"), engine="onnxruntime", out=tmp_path / "fp32")
    ops = [n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node]
    assert "BatchNormalization" not in ops and ops.count("Add") >= 15
    meta = json.loads((out / "caloquant.json").read_text())
    assert meta["batchnorm_folds"]["shift_into_next_conv"] == 6
