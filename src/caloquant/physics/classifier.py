"""Classifier two-sample test (CaloChallenge): can a classifier tell the sample from the reference?

Trained on one split and evaluated on a disjoint one (60 / 40, classes balanced). AUC 0.5 means
indistinguishable. With p = P(reference | x) from a calibrated classifier, the Jensen-Shannon divergence
in bits is JSD = 1 + (E_ref[log2 p] + E_sample[log2(1 - p)]) / 2 (0 identical, 1 disjoint).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["classifier_test", "hlf_matrix"]


def _split(x_s: np.ndarray, x_r: np.ndarray, seed: int, paired: bool = False) -> tuple[np.ndarray, ...]:
    """60/40 train/test split of both classes. Paired samples (shower i of one made from the same latent
    vector as shower i of the other) are split by event index, so a shower and its twin always land on the
    same side: otherwise the classifier learns the twins of its test showers and near-identical samples
    look separable."""
    n = min(len(x_s), len(x_r))
    rng = np.random.default_rng(seed)
    if paired:
        if len(x_s) != len(x_r):
            raise ValueError("paired classifier test: samples of different sizes")
        events = rng.permutation(n)
        cut = int(0.6 * n)
        tr, te = events[:cut], events[cut:]
        xtr, xte = np.concatenate([x_r[tr], x_s[tr]]), np.concatenate([x_r[te], x_s[te]])
        ytr = np.concatenate([np.ones(len(tr)), np.zeros(len(tr))])
        yte = np.concatenate([np.ones(len(te)), np.zeros(len(te))])
        order = rng.permutation(len(ytr))
        return xtr[order], ytr[order], xte, yte
    xs, xr = x_s[rng.permutation(len(x_s))[:n]], x_r[rng.permutation(len(x_r))[:n]]
    x = np.concatenate([xr, xs])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    idx = rng.permutation(2 * n)
    cut = int(0.6 * len(idx))
    return x[idx[:cut]], y[idx[:cut]], x[idx[cut:]], y[idx[cut:]]


def _scores(p: np.ndarray, y: np.ndarray, seed: int, n_boot: int = 100) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    p = np.clip(p, 1e-6, 1 - 1e-6)

    def jsd(pp: np.ndarray, yy: np.ndarray) -> float:
        return float(1 + 0.5 * (np.log2(pp[yy == 1]).mean() + np.log2(1 - pp[yy == 0]).mean()))

    auc = float(roc_auc_score(y, p))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            boots.append((roc_auc_score(y[i], p[i]), jsd(p[i], y[i])))
    b = np.array(boots)
    return {"auc": auc, "auc_se": float(b[:, 0].std(ddof=1)), "jsd": max(jsd(p, y), 0.0),
            "jsd_se": float(b[:, 1].std(ddof=1)), "n_test": len(y)}


def _fit_hgb(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, early_stopping=True,
                                         validation_fraction=0.2, random_state=seed)
    clf.fit(xtr, ytr)
    return clf.predict_proba(xte)[:, 1]


def _fit_mlp(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, seed: int, epochs: int = 30) -> np.ndarray:
    """A small MLP on voxels (log-scaled), early-stopped on a slice of the training split."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    mu, sd = xtr.mean(axis=0), xtr.std(axis=0) + 1e-3
    xtr_t = torch.from_numpy(((xtr - mu) / sd).astype(np.float32))
    xte_t = torch.from_numpy(((xte - mu) / sd).astype(np.float32))
    ytr_t = torch.from_numpy(ytr.astype(np.float32))
    n_val = max(len(xtr_t) // 5, 1)
    xv, yv, xt, yt = xtr_t[:n_val], ytr_t[:n_val], xtr_t[n_val:], ytr_t[n_val:]
    model = nn.Sequential(nn.Linear(xtr.shape[1], 128), nn.LeakyReLU(0.2), nn.Dropout(0.2), nn.Linear(128, 64),
                          nn.LeakyReLU(0.2), nn.Linear(64, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    best, best_state, patience = np.inf, None, 0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt))
        for s in range(0, len(xt), 256):
            i = perm[s : s + 256]
            opt.zero_grad()
            loss_fn(model(xt[i]).squeeze(1), yt[i]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            v = float(loss_fn(model(xv).squeeze(1), yv))
        if v < best - 1e-4:
            best, best_state, patience = v, {k: t.clone() for k, t in model.state_dict().items()}, 0
        else:
            patience += 1
            if patience >= 4:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    with torch.no_grad():
        return torch.sigmoid(model(xte_t).squeeze(1)).numpy().astype(np.float64)


def classifier_test(x_sample: np.ndarray, x_reference: np.ndarray, *, kind: str = "hlf",
                    seed: int = 0, paired: bool = False) -> dict[str, Any]:
    """AUC and JSD (with bootstrap errors on the test split) of a sample-vs-reference classifier;
    ``paired``: the samples match by index (same latents), split them by event."""
    t0 = time.perf_counter()
    xtr, ytr, xte, yte = _split(x_sample, x_reference, seed, paired)
    p = _fit_hgb(xtr, ytr, xte, seed) if kind == "hlf" else _fit_mlp(xtr, ytr, xte, seed)
    out: dict[str, Any] = _scores(p, yte, seed)
    out.update(kind=kind, model="HistGradientBoosting" if kind == "hlf" else "MLP 128-64 (torch)",
               n_train=len(ytr), split="by event (paired)" if paired else "random", seconds=time.perf_counter() - t0)
    return out


def hlf_matrix(f: Any) -> tuple[np.ndarray, list[str]]:
    """CaloChallenge-style high-level features: energy per layer / Ep, centre and width in x and y per
    layer, total energy / Ep, sparsity per layer."""
    n_layers = f.z_profile.shape[1]
    cols = [f.z_profile / f.ep[:, None], f.layer_cx, f.layer_cy, f.layer_wx, f.layer_wy,
            (f.total / f.ep)[:, None], f.layer_hits / 625.0]
    names = ([f"E_layer{i:02d}/Ep" for i in range(n_layers)] + [f"cx_layer{i:02d}" for i in range(n_layers)]
             + [f"cy_layer{i:02d}" for i in range(n_layers)] + [f"wx_layer{i:02d}" for i in range(n_layers)]
             + [f"wy_layer{i:02d}" for i in range(n_layers)] + ["Etot/Ep"]
             + [f"sparsity_layer{i:02d}" for i in range(n_layers)])
    return np.concatenate([np.asarray(c, dtype=np.float64) for c in cols], axis=1), names
