"""The NNCF peer with our physics as its metric: `nncf.quantize_with_accuracy_control`.

NNCF reverts the layers that hurt a metric most until the drop is within ``max_drop``. Its metric here is
minus the tuner's own objective (`precision.judge.PhysicsJudge`: every quantity of `validate`, max over
quantities of |diff| / allowed against float32 on paired latents, errors rescaled to ``reference_size``
showers), so "drop <= 1" means "passes the same check as our tuner". Validation items are batches of 16
latent vectors with their indices, so any subset NNCF ranks on is compared with the float32 showers of
the same events.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.precision.recipes import AccuracyControlConfig

__all__ = ["quantize_with_physics_control"]


def quantize_with_physics_control(generator: Any, cfg: AccuracyControlConfig, out: Path) -> dict[str, Any]:
    """Write the OpenVINO int8 model NNCF settles on into ``out``; returns what caloquant.json records."""
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    from caloquant.contract import postprocess
    from caloquant.engines.export import save_ir
    from caloquant.physics.features import extract_features
    from caloquant.precision.calibration import calibration_items, calibration_latents
    from caloquant.precision.judge import PhysicsJudge
    from caloquant.precision.layer_map import openvino_layer_precisions
    from caloquant.precision.source import as_float_model

    src = as_float_model(generator)
    judge = PhysicsJudge(src.reference_engine(cfg.threads), validation_size=cfg.validation_size,
                         reference_size=cfg.reference_size, k=cfg.k, tolerances=cfg.tolerances, seed=cfg.seed,
                         n_boot=30)
    z = judge.latents
    items = [(np.arange(s, min(s + 16, len(z))), z[s : s + 16]) for s in range(0, len(z), 16)]

    def validation_fn(compiled: Any, data: Iterable[tuple[np.ndarray, np.ndarray]]) -> float:
        idx, showers = [], []
        for index, batch in data:
            idx.append(index)
            showers.append(postprocess(np.asarray(compiled(batch)[0])))
        i = np.concatenate(idx)
        features = extract_features([(np.concatenate(showers), judge.ep[i].astype(np.float32))])
        return -judge.score_features(features, i)[0]

    with tempfile.TemporaryDirectory() as tmp:
        model = ov.convert_model(str(src.write_onnx(Path(tmp) / "fp32.onnx")))
    z_cal = calibration_latents(cfg.calibration_size, (100.0, 500.0), cfg.seed + 1, src.latent, src.energy_input)
    calibration = calibration_items(z_cal, cfg.calibration_batch)
    quantized = nncf.quantize_with_accuracy_control(
        model, nncf.Dataset(calibration), nncf.Dataset(items, lambda item: item[1]), validation_fn, max_drop=1.0,
        drop_type=nncf.DropType.ABSOLUTE, subset_size=len(calibration),
        advanced_accuracy_restorer_parameters=AdvancedAccuracyRestorerParameters(
            max_num_iterations=cfg.max_iterations if cfg.max_iterations is not None else sys.maxsize))
    save_ir(quantized, out, compress_to_fp16=False)
    return {"files": ["model.xml", "model.bin"], "layer_precisions": openvino_layer_precisions(quantized),
            "calibration": {"tool": f"nncf.quantize_with_accuracy_control {nncf.__version__}",
                            "metric": f"-score of the tuner's objective ({judge.rule()})", "max_drop": 1.0}}
