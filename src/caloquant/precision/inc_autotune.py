"""The INC peer with our physics as its metric: Intel Neural Compressor's `autotune` on TensorFlow.

INC tries the configurations of its own TensorFlow tuning space in its order (per-tensor or per-channel,
symmetric or not, min-max or KL ranges, int8 or float32 weights and activations) until one meets the
accuracy goal. It runs in the peers' environment (`make peers`); each candidate's showers of the judge's
latents come back over the worker's pipe and are scored here by the tuner's own objective
(`precision.judge.PhysicsJudge`); INC's metric is 1 / (1 + score) and its goal half the float32 port's,
so a candidate passes when its score is at most 1 (+ twice the port's own, a few 1e-3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.precision.recipes import AccuracyControlConfig

__all__ = ["INC_DEFAULT_TRIALS", "autotune_inc_with_physics"]

INC_DEFAULT_TRIALS = 100  # INC's TuningConfig default


def autotune_inc_with_physics(generator: Any, cfg: AccuracyControlConfig, out: Path,
                              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the TensorFlow SavedModel INC's autotune returns into ``out``; returns what caloquant.json records."""
    from caloquant.contract import postprocess
    from caloquant.engines.peer_process import PeerWorker
    from caloquant.physics.features import extract_features
    from caloquant.precision.backends.peer_inputs import peer_inputs
    from caloquant.precision.judge import PhysicsJudge
    from caloquant.precision.source import as_float_model

    say = log or (lambda _s: None)
    src = as_float_model(generator)
    with peer_inputs(src, cfg, "inc-tf") as (weights, calibration):  # refuses a missing peer first
        judge = PhysicsJudge(src.reference_engine(cfg.threads), validation_size=cfg.validation_size,
                             reference_size=cfg.reference_size, k=cfg.k, tolerances=cfg.tolerances, seed=cfg.seed,
                             n_boot=30)
        verdicts: list[dict[str, Any]] = []
        trials = cfg.max_iterations if cfg.max_iterations is not None else INC_DEFAULT_TRIALS
        worker = PeerWorker("autotune", weights, str(out), str(calibration), str(trials))
        try:
            worker.send(judge.latents.astype(np.float32))
            while (showers := worker.receive()) is not None:
                verdict = judge.verdict(extract_features([(postprocess(showers), judge.ep.astype(np.float32))]))
                verdicts.append({k: verdict[k] for k in ("score", "worst", "n_off", "passed")})
                say(f"{'float32 port' if len(verdicts) == 1 else f'trial {len(verdicts) - 1}'}: score "
                    f"{verdict['score']:.2f} ({verdict['worst']}, {verdict['n_off']} off)")
                worker.send(np.array([1.0 / (1.0 + verdict["score"])]))
        finally:
            worker.close()
    info = json.loads((out / "inc_autotune.json").read_text())
    for trial, verdict in zip(info["trials"], verdicts[1:], strict=False):
        trial.update(verdict)
    info["float32_port"] = verdicts[0]
    info["rule"] = judge.rule()
    (out / "inc_autotune.json").write_text(json.dumps(info, indent=1))
    files = sorted(str(p.relative_to(out)) for p in (out / "saved_model").rglob("*") if p.is_file())
    return {"files": [*files, "inc_autotune.json"], "layer_precisions": {}, "tf_ops": info.pop("ops", {}),
            "calibration": {"tool": info["tool"], "metric": "1 / (1 + score of the tuner's objective)",
                            "goal": "half the float32 port's metric (INC tolerable_loss 0.5)"},
            "inc_autotune": {k: info[k] for k in ("chosen_trial", "met_goal", "tuning_space")}
                            | {"trials": len(info["trials"])}}
