"""The NNCF peer with our physics as its metric: `nncf.quantize_with_accuracy_control`.

NNCF reverts the layers that hurt a metric most until the drop is within ``max_drop``. Its metric here
is minus the physics score (max over quantities of |diff| / allowed against PyTorch fp32 on paired
latents, errors rescaled to ``reference_size`` showers), so "drop <= 1" means "passes the same check as
our tuner". Validation items are batches of 16 latent vectors with their indices, so any subset NNCF
ranks on is compared with the float32 showers of the same events.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["quantize_with_physics_control"]


def quantize_with_physics_control(generator: Any, out: Path, *, validation_size: int = 2000,
                                  reference_size: int = 10000, k: float = 4.0, calibration_size: int = 512,
                                  seed: int = 7, threads: int = 2,
                                  max_iterations: int | None = None) -> dict[str, Any]:
    import nncf
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    from caloquant.engines.base import generate_batches
    from caloquant.engines.contract import draw_energies, draw_latents, make_latent, postprocess
    from caloquant.engines.export import save_ir
    from caloquant.physics.compare import compare_features, standard_quantities
    from caloquant.physics.features import extract_features
    from caloquant.precision.calibration import calibration_latents
    from caloquant.precision.source import as_float_model

    src = as_float_model(generator)

    ep = draw_energies(seed, validation_size, 100.0, 500.0)
    z = make_latent(draw_latents(seed, validation_size, src.latent), ep, src.energy_input)
    ref = np.concatenate([s for s, _ in generate_batches(src.reference_engine(threads), ep=ep, seed=seed)])
    quantities = standard_quantities(sf_mean=0, sf_spread=0, shape_means=0, shape_stds=0, profile=0,
                                     containment_tol=0)
    items = [(np.arange(s, min(s + 16, len(z))), z[s : s + 16]) for s in range(0, len(z), 16)]

    def validation_fn(compiled: Any, data: Iterable[tuple[np.ndarray, np.ndarray]]) -> float:
        idx, showers = [], []
        for index, batch in data:
            idx.append(index)
            showers.append(postprocess(np.asarray(compiled(batch)[0])))
        i = np.concatenate(idx)
        a = extract_features([(np.concatenate(showers), ep[i].astype(np.float32))])
        b = extract_features([(ref[i], ep[i].astype(np.float32))])
        scale = float(np.sqrt(len(i) / reference_size))
        rows = compare_features(a, b, quantities, k=k, n_boot=30, seed=seed, sigma_scale=scale, min_events=10)
        return -max(abs(r.diff) / max(r.k * r.sigma, 1e-12) for r in rows)

    with tempfile.TemporaryDirectory() as tmp:
        model = ov.convert_model(str(src.write_onnx(Path(tmp) / "fp32.onnx")))
    z_cal = calibration_latents(calibration_size, (100.0, 500.0), seed + 1, src.latent, src.energy_input)
    quantized = nncf.quantize_with_accuracy_control(
        model, nncf.Dataset([z_cal[i : i + 1] for i in range(len(z_cal))]),
        nncf.Dataset(items, lambda item: item[1]), validation_fn, max_drop=1.0,
        drop_type=nncf.DropType.ABSOLUTE, subset_size=len(z_cal),
        advanced_accuracy_restorer_parameters=AdvancedAccuracyRestorerParameters(
            max_num_iterations=max_iterations if max_iterations is not None else sys.maxsize))
    save_ir(quantized, out, compress_to_fp16=False)
    return {"files": ["model.xml", "model.bin"],
            "calibration": {"tool": f"nncf.quantize_with_accuracy_control {nncf.__version__}",
                            "metric": f"-max |diff| / ({k:g} sigma at {reference_size} showers), vs PyTorch fp32 on "
                                      f"{validation_size} paired showers", "max_drop": 1.0}}
