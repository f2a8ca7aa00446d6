"""Train and evaluate the float trigger model; the metrics every quantized candidate is held against.

Metrics on the test split: ROC AUC (electron vs photon) and the energy resolution IQR/1.349 of
(E_pred - E) / E, each with a bootstrap error; `paired_difference` gives the paired-bootstrap error of a
candidate's difference from the float model on the same showers (the issue's acceptance rule).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from caloquant.edge.data import TriggerData
from caloquant.edge.model import TriggerMLP, energy_prediction, one_thread, trigger_loss
from caloquant.errors import CheckpointError
from caloquant.physics.quantities import robust_width

__all__ = ["evaluate", "load_trigger", "paired_difference", "predict", "save_trigger", "train_trigger"]

_FORMAT = "caloquant-trigger-v1"


def _tensors(d: TriggerData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(d.x), torch.from_numpy(d.label.astype(np.float32)),
            torch.from_numpy(d.energy.astype(np.float32)))


def train_trigger(data: TriggerData, *, seed: int = 1, epochs: int = 100, lr: float = 3e-3, batch_size: int = 256,
                  hidden: tuple[int, ...] = (32, 32), energy_weight: float = 10.0) -> tuple[TriggerMLP, dict]:
    """Adam on trigger_loss; keeps the best validation loss."""
    with one_thread():
        return _train(data, seed, epochs, lr, batch_size, hidden, energy_weight)


def _train(data: TriggerData, seed: int, epochs: int, lr: float, batch_size: int, hidden: tuple[int, ...],
           energy_weight: float) -> tuple[TriggerMLP, dict]:
    torch.manual_seed(seed)
    train, val = data.part("train"), data.part("validation")
    model = TriggerMLP(data.x.shape[1], hidden)
    model.mean.copy_(torch.from_numpy(train.x.mean(axis=0)))
    model.std.copy_(torch.from_numpy(np.maximum(train.x.std(axis=0), 1e-6)))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y, e = _tensors(train)
    xv, yv, ev = _tensors(val)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, history = float("inf"), None, []
    for _epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            opt.zero_grad()
            trigger_loss(model(x[idx]), x[idx], y[idx], e[idx], energy_weight).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = float(trigger_loss(model(xv), xv, yv, ev, energy_weight))
        history.append(v)
        if v < best:
            best, best_state = v, {k: t.clone() for k, t in model.state_dict().items()}
    assert best_state is not None  # the first epoch always improves on inf
    model.load_state_dict(best_state)
    return model.eval(), {"best_validation_loss": best, "epochs": epochs, "best_epoch": int(np.argmin(history))}


def predict(model: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(electron score, predicted Ep in GeV)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.no_grad():
        out = model(xt)
        return out[:, 0].double().numpy(), energy_prediction(xt, out).double().numpy()


def _metrics(score: np.ndarray, e_pred: np.ndarray, label: np.ndarray, energy: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    r = (e_pred - energy) / energy
    return float(roc_auc_score(label, score)), robust_width(r)


def evaluate(model: torch.nn.Module, data: TriggerData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    score, e_pred = predict(model, data.x)
    auc, res = _metrics(score, e_pred, data.label, data.energy)
    rng = np.random.default_rng(seed)
    boots = [_metrics(score[i], e_pred[i], data.label[i], data.energy[i])
             for i in (rng.integers(0, len(score), len(score)) for _ in range(n_boot))]
    b = np.array(boots)
    return {"n": len(score), "auc": auc, "auc_se": float(b[:, 0].std(ddof=1)), "resolution": res,
            "resolution_se": float(b[:, 1].std(ddof=1))}


def paired_difference(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], data: TriggerData, *,
                      n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """Differences (a - b) of AUC and resolution on the same showers, with paired-bootstrap errors."""
    ma, mb = _metrics(*a, data.label, data.energy), _metrics(*b, data.label, data.energy)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, len(data), len(data))
        ra = _metrics(a[0][i], a[1][i], data.label[i], data.energy[i])
        rb = _metrics(b[0][i], b[1][i], data.label[i], data.energy[i])
        diffs.append((ra[0] - rb[0], ra[1] - rb[1]))
    d = np.array(diffs)
    return {"auc_diff": ma[0] - mb[0], "auc_diff_se": float(d[:, 0].std(ddof=1)),
            "resolution_diff": ma[1] - mb[1], "resolution_diff_se": float(d[:, 1].std(ddof=1))}


def save_trigger(path: str | os.PathLike[str], model: TriggerMLP, info: dict[str, Any] | None = None) -> None:
    import json

    from caloquant.edge.weights_file import write_tagged

    write_tagged(path, model.state_dict(), {"format": _FORMAT, "hidden": json.dumps(list(model.hidden)),
                                            "info": json.dumps(info or {})})


def load_trigger(path: str | os.PathLike[str]) -> TriggerMLP:
    import json

    from caloquant.edge.weights_file import read_tagged

    state, meta = read_tagged(path, _FORMAT, "trigger model")
    model = TriggerMLP(int(state["mean"].numel()), tuple(json.loads(meta["hidden"])))
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise CheckpointError(f"{path}: weights do not match the trigger architecture") from None
    return model.eval()
