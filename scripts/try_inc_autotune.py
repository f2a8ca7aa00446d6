"""INC 3.10's accuracy-driven `autotune` on TensorFlow, tried on a generator (issue 19, item 3; runs in
.venv-peers, see docs/precision.md):

    PYTHONPATH=src .venv-peers/bin/python scripts/try_inc_autotune.py GENERATOR.safetensors [TRIALS]

The evaluation function here is the pixel-wise distance to the float32 Keras model on 64 contract
latents (metric 1 / (1 + 100 d), tolerable loss 1 %), not yet our physics judge: that lives in the main
environment, so wiring it means streaming each candidate's showers back to it (as `peers.worker` serve
does). What this shows: autotune runs on TensorFlow 2.21 (INC warns it verified up to 2.16), with
TuningConfig from neural_compressor.common.base_tuning (not exported by neural_compressor.tensorflow) and
the candidate evaluated through its wrapper's session.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from caloquant.contract import draw_energies, draw_latents, make_latent
from caloquant.peers.inc_tf import _Calibration
from caloquant.peers.keras_generator import build_keras_generator, read_generator_file


def main() -> None:
    from neural_compressor.common.base_tuning import TuningConfig
    from neural_compressor.tensorflow import StaticQuantConfig, autotune

    weights, trials = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    model = build_keras_generator(*read_generator_file(weights))
    z = make_latent(draw_latents(3, 64, 200), draw_energies(3, 64, 100.0, 500.0))
    reference = model.predict(z, verbose=0)
    distances: list[float] = []

    def eval_fn(candidate: object) -> float:
        out = candidate.sess.run(candidate.output_tensor, feed_dict={candidate.input_tensor[0]: z})[0]  # type: ignore[attr-defined]
        distances.append(float(np.abs(out - reference).sum() / reference.sum()))
        return 1.0 / (1.0 + 100 * distances[-1])

    tmp = Path(tempfile.mkdtemp())
    try:
        model.export(str(tmp / "fp32"), format="tf_saved_model", verbose=False)
        t0 = time.perf_counter()
        best = autotune(str(tmp / "fp32"), TuningConfig(config_set=StaticQuantConfig.get_config_set_for_tuning(),
                                                         max_trials=trials, tolerable_loss=0.01),
                        eval_fn=eval_fn, calib_dataloader=_Calibration(z))
        print(f"autotune returned {type(best).__name__} in {time.perf_counter() - t0:.0f} s; pixel-wise "
              f"distances (float32 first, then each trial): {[round(d, 5) for d in distances]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
