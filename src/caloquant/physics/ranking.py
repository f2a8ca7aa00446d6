"""Which per-shower features give a sample away against its reference, and by how much.

A classifier AUC says that two samples differ, not where. Each feature is ranked three ways: the
CaloChallenge separation power of its histograms, the AUC of a classifier that sees that feature alone
(a gradient-boosted tree, so a wider or bimodal distribution counts as much as a shifted one), and its
permutation importance in the classifier that sees all features (the AUC lost on the test split when the
feature is shuffled: what the full classifier actually relies on, correlated features sharing the credit).
Groups of features are ranked by the AUC of a classifier that sees only them: a sample can match every
feature alone and still be told apart by how two of them go together (a layer's energy and its hit count).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from caloquant.physics.classifier import _fit_hgb, _split, hlf_matrix
from caloquant.physics.distances import separation_power
from caloquant.physics.features import CELL_BINS_LOG10, EventFeatures

__all__ = ["diagnostic_features", "feature_groups", "rank_feature_groups", "rank_features"]

_KINDS = {"layer energies": ("E_layer",), "layer centroids": ("cx_", "cy_"), "layer widths": ("wx_", "wy_"),
          "layer sparsity": ("sparsity_",), "layer energies and sparsity": ("E_layer", "sparsity_"),
          "layer energies and widths": ("E_layer", "wx_", "wy_")}
_DEPTHS = {"layers 0-6": range(7), "layers 7-12": range(7, 13), "layers 13-24": range(13, 25)}


def diagnostic_features(f: EventFeatures) -> tuple[np.ndarray, list[str]]:
    """The classifier's high-level features plus whole-shower ones the simulator is suspected on: core
    fractions, occupancy, the hottest cell, and the cell-energy spectrum per decade (fraction of hit cells)."""
    hlf, names = hlf_matrix(f)
    total = np.where(f.total > 0, f.total, 1.0)
    hits = np.maximum(f.n_hit, 1).astype(np.float64)
    decades = np.floor(CELL_BINS_LOG10[:-1] + 1e-9).astype(int)
    spectrum = [f.cell_hist[:, decades == d].sum(axis=1) / hits for d in np.unique(decades)]
    extra = [f.core[:, 0] / total, f.core[:, 1] / total, f.core[:, 2] / total, f.n_hit.astype(np.float64),
             f.max_cell / f.ep, *spectrum]
    extra_names = ["1x1 fraction", "3x3 fraction", "5x5 fraction", "hit cells", "hottest cell / Ep",
                   *[f"hit cells 1e{d}..1e{d + 1} GeV / hit cells" for d in np.unique(decades)]]
    return np.concatenate([hlf, np.stack(extra, axis=1)], axis=1), names + extra_names


def rank_features(x_sample: np.ndarray, x_reference: np.ndarray, names: list[str], *, seed: int = 0,
                  n_repeats: int = 5) -> dict[str, Any]:
    """Rows sorted by one-feature AUC (highest first) and the full classifier's AUC; features constant in
    both samples are left out."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score

    xtr, ytr, xte, yte = _split(x_sample, x_reference, seed)
    keep = [j for j in range(len(names)) if np.ptp(np.concatenate([x_sample[:, j], x_reference[:, j]])) > 0]

    def classifier() -> Any:
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, early_stopping=True,
                                              validation_fraction=0.2, random_state=seed)

    full = classifier().fit(xtr[:, keep], ytr)
    auc_all = float(roc_auc_score(yte, full.predict_proba(xte[:, keep])[:, 1]))
    perm = permutation_importance(full, xte[:, keep], yte, scoring="roc_auc", n_repeats=n_repeats,
                                  random_state=seed)
    rows: list[dict[str, Any]] = []
    for i, j in enumerate(keep):
        lo, hi = np.percentile(x_reference[:, j], [0.5, 99.5])
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
        one = classifier().fit(xtr[:, [j]], ytr)
        auc = float(roc_auc_score(yte, one.predict_proba(xte[:, [j]])[:, 1]))
        rows.append({"feature": names[j], "separation_power": separation_power(x_sample[:, j], x_reference[:, j],
                                                                               edges),
                     "auc_alone": max(auc, 1.0 - auc), "permutation_importance": float(perm.importances_mean[i]),
                     "permutation_importance_se": float(perm.importances_std[i] / np.sqrt(n_repeats)),
                     "sample_mean": float(x_sample[:, j].mean()), "reference_mean": float(x_reference[:, j].mean()),
                     "sample_std": float(x_sample[:, j].std()), "reference_std": float(x_reference[:, j].std())})
    rows.sort(key=lambda r: -r["auc_alone"])
    return {"auc_all_features": auc_all, "n_train": len(ytr), "n_test": len(yte), "features": rows,
            "left_out_constant": [names[j] for j in range(len(names)) if j not in keep]}


def feature_groups(names: list[str]) -> dict[str, list[int]]:
    """Column indices of the per-layer high-level features (`classifier.hlf_matrix` names) by kind, by depth (every
    kind in those layers), and all of them together."""
    def layer(name: str) -> int | None:
        return int(name.split("layer")[1][:2]) if "layer" in name else None

    groups = {"all high-level features": [j for j, name in enumerate(names) if layer(name) is not None
                                          or name == "Etot/Ep"]}
    groups.update({kind: [j for j, name in enumerate(names) if name.startswith(prefixes)]
                   for kind, prefixes in _KINDS.items()})
    groups.update({depth: [j for j, name in enumerate(names) if layer(name) in layers]
                   for depth, layers in _DEPTHS.items()})
    return {group: columns for group, columns in groups.items() if columns}


def rank_feature_groups(x_sample: np.ndarray, x_reference: np.ndarray, groups: dict[str, list[int]], *,
                        seeds: tuple[int, ...] = (0, 1, 2)) -> list[dict[str, Any]]:
    """Rows sorted by the AUC of a classifier that sees one group alone (the mean over ``seeds``' train/test splits,
    whose spread is given: one split's AUC moves by 0.02-0.03 on a thousand showers a side)."""
    from sklearn.metrics import roc_auc_score

    rows: list[dict[str, Any]] = []
    for group, columns in groups.items():
        aucs = []
        for seed in seeds:
            xtr, ytr, xte, yte = _split(x_sample[:, columns], x_reference[:, columns], seed)
            aucs.append(float(roc_auc_score(yte, _fit_hgb(xtr, ytr, xte, seed))))
        rows.append({"group": group, "features": len(columns), "auc": float(np.mean(aucs)),
                     "auc_spread": float(np.std(aucs)), "aucs": aucs})
    rows.sort(key=lambda r: -r["auc"])
    return rows
