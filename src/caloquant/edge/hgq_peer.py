"""The peer of our gradient search: HGQ2 (high-granularity quantization, learnable per-weight bit widths with
an EBOPs penalty) on the Keras 3 torch backend, on the same features, splits, loss and acceptance rule.

Its cost is HGQ2's own EBOPs (effective BOPs from the learned per-weight widths after tracing the
activation ranges), which is not computed the same way as QONNX's BOPs of our models: the table labels it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from caloquant.edge.search import Trial, accept
from caloquant.errors import InputValueError

__all__ = ["hgq_search", "train_hgq"]


def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise InputValueError(f"HGQ2 peer: Keras runs the {keras.backend.backend()!r} backend; set KERAS_BACKEND=torch")
    return keras


def train_hgq(float_model: Any, data: Any, *, beta: float, seed: int, epochs: int = 40) -> tuple[Any, float]:
    """A 32-32-2 HGQ2 network trained with the trigger loss plus beta * EBOPs; returns (model, EBOPs)."""
    keras = _keras()
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense
    from hgq.utils import trace_minmax
    from keras import ops

    from caloquant.edge.model import CORRECTION_SCALE, SAMPLING_FRACTION, one_thread

    keras.utils.set_random_seed(seed)
    mean, std = float_model.mean.numpy(), float_model.std.numpy()
    train = data.part("train")
    x = (train.x - mean) / std
    raw = np.exp(train.x[:, 25]) / SAMPLING_FRACTION
    y = np.stack([train.label.astype(np.float32), train.energy, raw], axis=1).astype(np.float32)

    def loss(y_true: Any, y_pred: Any) -> Any:
        bce = keras.losses.binary_crossentropy(y_true[:, 0:1], y_pred[:, 0:1], from_logits=True)
        e_pred = y_true[:, 2] * (1.0 + CORRECTION_SCALE * y_pred[:, 1])
        return ops.mean(bce) + 10.0 * ops.mean(ops.square((e_pred - y_true[:, 1]) / y_true[:, 1]))

    with QuantizerConfigScope(place="all", default_q_type="kbi", overflow_mode="SAT_SYM"), \
            LayerConfigScope(enable_ebops=True, beta0=beta):
        model = keras.Sequential([keras.layers.Input((x.shape[1],)), QDense(32, activation="relu"),
                                  QDense(32, activation="relu"), QDense(2)])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss)
    with one_thread():  # as for our searches
        model.fit(x, y, epochs=epochs, batch_size=256, verbose=0, shuffle=True)
        trace_minmax(model, x, batch_size=1024, verbose=0)
    ebops = float(sum(float(layer.ebops) for layer in model.layers if hasattr(layer, "ebops")))
    return model, ebops


def _predict(model: Any, float_model: Any, x_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from caloquant.edge.model import CORRECTION_SCALE, SAMPLING_FRACTION

    x = (x_raw - float_model.mean.numpy()) / float_model.std.numpy()
    out = np.asarray(model.predict(x, batch_size=1024, verbose=0), dtype=np.float64)
    energy = np.exp(x_raw[:, 25].astype(np.float64)) / SAMPLING_FRACTION * (1.0 + CORRECTION_SCALE * out[:, 1])
    return out[:, 0], energy


def hgq_search(float_model: Any, data: Any, *, budget_s: float, seed: int, qat_epochs: int = 15,
               max_trials: int | None = None, on_trial: Callable[[Trial], None] | None = None) -> list[Trial]:
    """Sweep HGQ2's beta until the budget is spent; each result judged on the validation split."""
    from caloquant.edge.search import _float_metrics
    from caloquant.edge.train import paired_difference
    from caloquant.precision.search import SearchBudget

    rng = np.random.default_rng(seed)
    trials: list[Trial] = []
    part = data.part("validation")
    pf, mf = _float_metrics(float_model, part)
    budget = SearchBudget(budget_s, max_trials)
    while not budget.spent(len(trials)):
        t1 = time.perf_counter()
        beta = float(10 ** rng.uniform(-7, -4))
        model, ebops = train_hgq(float_model, data, beta=beta, seed=seed + len(trials), epochs=max(qat_epochs, 1) * 2)
        diff = paired_difference(_predict(model, float_model, part.x), pf, part, n_boot=100, seed=seed)
        passed, score, allowed = accept(diff, mf)
        trial = Trial("hgq2", seed, {"beta": beta, "cost": "HGQ2 EBOPs"}, ebops, float("nan"), float("nan"),
                      diff["auc_diff"], allowed["auc_allowed"], diff["resolution_diff"], allowed["resolution_allowed"],
                      passed, score, time.perf_counter() - t1)
        trials.append(trial)
        if on_trial:
            on_trial(trial)
    return trials
