"""Rank what gives the simulator away against Geant4 (docs/simulator.md, issue 17; rerunnable, seeded).

    python scripts/rank_simulator_features.py [-r GEANT4.h5[START:STOP]] [-n 1500] [--particle e-|gamma]
        [-o docs/results/simulator-ranking]

Geant4 showers the fit never saw (default: geant4_electrons_100-500GeV_part3.h5; for photons the 1 250 the shipped
fit left out, geant4_photons_100-500GeV.h5[1750:3000]) against simulated showers at the same primary energies;
every per-shower feature of `physics.ranking.diagnostic_features` ranked by a one-feature classifier's AUC, with
separation power and permutation importance in the full classifier, then groups of features by the AUC of a
classifier that sees only them (`physics.ranking.feature_groups`). Writes OUT.json, OUT.md (the tables) and
OUT.png (the most separating feature, simulator against Geant4).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from caloquant._atomic import atomic_path, write_json_atomic, write_text_atomic
from caloquant.data.slices import read_file_slice
from caloquant.metadata import metadata
from caloquant.physics.features import extract_features
from caloquant.physics.ranking import diagnostic_features, feature_groups, rank_feature_groups, rank_features
from caloquant.report.style import hep_style
from caloquant.simulator import ShowerSimulator, load_params

ROOT = Path(__file__).resolve().parents[1]
GEANT4 = ROOT.parent / "shared" / "data" / "geant4"
DEFAULT_REFERENCE = {"e-": f"{GEANT4 / 'geant4_electrons_100-500GeV_part3.h5'}",
                     "gamma": f"{GEANT4 / 'geant4_photons_100-500GeV.h5'}[1750:3000]"}


def _group_table(groups: list[dict]) -> str:
    lines = ["", "Groups of high-level features, by the AUC of a classifier that sees only them (mean of three "
             "train/test splits, their spread):", "", "| group | features | AUC | spread |", "|---|---|---|---|"]
    lines += [f"| {g['group']} | {g['features']} | {g['auc']:.3f} | {g['auc_spread']:.3f} |" for g in groups]
    return "\n".join(lines) + "\n"


def _table(result: dict, top: int) -> str:
    lines = [f"Classifier on all {len(result['features'])} features: AUC {result['auc_all_features']:.3f} "
             f"({result['n_train']} showers to train, {result['n_test']} to test).", "",
             "| rank | feature | AUC alone | separation power | permutation importance (AUC lost) | simulator "
             "mean +- std | Geant4 mean +- std |", "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(result["features"][:top], 1):
        lines.append(f"| {i} | {r['feature']} | {r['auc_alone']:.3f} | {r['separation_power']:.3f} | "
                     f"{r['permutation_importance']:.4f} +- {r['permutation_importance_se']:.4f} | "
                     f"{r['sample_mean']:.4g} +- {r['sample_std']:.3g} | "
                     f"{r['reference_mean']:.4g} +- {r['reference_std']:.3g} |")
    by_perm = sorted(result["features"], key=lambda r: -r["permutation_importance"])[:10]
    lines += ["", "What the full classifier relies on (permutation importance, top 10): "
              + ", ".join(f"{r['feature']} ({r['permutation_importance']:.3f})" for r in by_perm) + "."]
    return "\n".join(lines) + "\n"


def _figure(x_sim: np.ndarray, x_g4: np.ndarray, name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = np.percentile(np.concatenate([x_sim, x_g4]), [0.5, 99.5])
    bins = np.linspace(lo, hi, 41)
    with hep_style():
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(x_g4, bins=bins, histtype="stepfilled", alpha=0.35, density=True, label="Geant4")
        ax.hist(x_sim, bins=bins, histtype="step", lw=1.6, density=True, label="caloquant simulator")
        ax.set_xlabel(name)
        ax.set_ylabel("showers (normalised)")
        ax.legend()
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
        plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-r", "--reference", default=None, help="Geant4 showers, FILE.h5 or FILE.h5[START:STOP] "
                    "(default: the held-out showers of --particle).")
    ap.add_argument("--particle", choices=sorted(DEFAULT_REFERENCE), default="e-")
    ap.add_argument("-n", "--count", type=int, default=1500)
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "results" / "simulator-ranking")
    ap.add_argument("--params", type=Path, default=None, help="Simulator parameters (default: the shipped fit).")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    reference = args.reference or DEFAULT_REFERENCE[args.particle]
    g4 = extract_features([read_file_slice(reference, args.count)])
    n = len(g4)
    sim = ShowerSimulator(load_params(args.params, args.particle))
    simulated = extract_features(sim.iter_showers(g4.ep.copy(), args.seed, threads=1))  # same primary energies
    x_sim, names = diagnostic_features(simulated)
    x_g4, _ = diagnostic_features(g4)
    result = rank_features(x_sim, x_g4, names, seed=args.seed)
    groups = rank_feature_groups(x_sim, x_g4, feature_groups(names))
    write_json_atomic(args.out.with_suffix(".json"), metadata(seed=args.seed, extra={
        "kind": "simulator ranking", "reference": reference, "particle": args.particle, "showers": n,
        "params": str(args.params or "shipped fit"), **result, "groups": groups}))
    write_text_atomic(args.out.with_suffix(".md"), _table(result, args.top) + _group_table(groups))
    top = result["features"][0]["feature"]
    j = names.index(top)
    _figure(x_sim[:, j], x_g4[:, j], top, args.out.with_suffix(".png"))
    print(f"AUC all features {result['auc_all_features']:.3f}; most separating alone: {top} "
          f"(AUC {result['features'][0]['auc_alone']:.3f}) -> {args.out}.md/.json/.png")


if __name__ == "__main__":
    main()
