"""Simulator against Geant4: the acceptance table of the foundation issue.

The simulator is run at the reference's own primary energies (each repeated ``oversample`` times) so
the energy distributions inside every bin match exactly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.data import open_showers
from caloquant.metadata import metadata
from caloquant.physics.compare import compare_features, standard_quantities
from caloquant.physics.features import extract_features
from caloquant.physics.stats import Comparison

__all__ = ["check_simulator", "render_markdown", "render_table", "summarise"]

SIM_TOLERANCES = {"sf_mean": 0.02, "sf_spread": 0.20, "shape_means": 0.01, "shape_stds": 0.05,
                  "profile": 0.10, "containment_tol": 0.03}


def summarise(rows: Sequence[Comparison]) -> list[dict[str, Any]]:
    """One row per bin and quantity; per-layer quantities collapsed to their worst layer."""
    groups: dict[tuple[str, str], list[Comparison]] = {}
    for r in rows:
        base = r.name.split(" L")[0] if r.name.startswith("layer profile") else r.name
        groups.setdefault((r.bin, base), []).append(r)

    def score(r: Comparison) -> float:
        allowed = max(r.tolerance, r.k * r.sigma)
        return abs(r.diff) / allowed if allowed > 0 else np.inf

    out = []
    for (label, base), members in groups.items():
        w = max(members, key=score)
        out.append({"bin": label, "quantity": base, "detail": w.name, "sample": w.sample, "reference": w.reference,
                    "diff": w.diff, "sigma": w.sigma, "tolerance": w.tolerance,
                    "allowed": max(w.tolerance, w.k * w.sigma), "baseline": w.baseline,
                    "compatible": all(m.compatible for m in members)})
    return out


def check_simulator(
    references: Sequence[str | os.PathLike[str]],
    *,
    oversample: int = 4,
    seed: int = 1,
    k: float = 4.0,
    params_file: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Compare the simulator with each Geant4 file; returns a JSON-ready result with metadata."""
    from caloquant.simulator import ShowerSimulator, load_params

    params = load_params(params_file)
    sim = ShowerSimulator(params)
    result: dict[str, Any] = metadata(seed=seed, extra={"kind": "compare-sim", "k": k, "oversample": oversample,
                                                        "tolerances": SIM_TOLERANCES, "references": []})
    for i, path in enumerate(references):
        src = open_showers(path)
        ref = extract_features(src.iter_chunks(500))
        ep = np.repeat(src.energies(), oversample)
        feats = extract_features(sim.iter_showers(ep, seed + i))
        rows = compare_features(feats, ref, standard_quantities(**SIM_TOLERANCES), k=k, seed=seed)
        result["references"].append({
            "path": str(path),
            "name": Path(path).name,
            "n_reference": src.n_showers,
            "n_simulated": len(ep),
            "compatible": all(r.compatible for r in rows),
            "summary": summarise(rows),
            "comparisons": [r.to_dict() for r in rows],
        })
    return result


def _fmt(entry: dict[str, Any]) -> list[str]:
    q = entry["quantity"]
    detail = entry["detail"].replace("layer profile ", "worst ") if q == "layer profile" else ""
    return [entry["bin"], q + (f" ({detail})" if detail else ""), f"{entry['sample']:.5g}", f"{entry['reference']:.5g}",
            f"{100 * entry['diff']:+.2f} %", f"{100 * entry['allowed']:.2f} %",
            "" if entry["baseline"] is None else f"{100 * entry['baseline']:+.2f} %",
            "yes" if entry["compatible"] else "NO"]


_HEADER = ["bin (GeV)", "quantity", "simulator", "Geant4", "difference", "allowed", "split-half", "compatible"]


def render_table(result: dict[str, Any]) -> list[Any]:
    from rich.table import Table

    tables = []
    for ref in result["references"]:
        t = Table(title=f"simulator vs {ref['name']} ({ref['n_reference']} Geant4, {ref['n_simulated']} simulated)")
        for h in _HEADER:
            t.add_column(h, justify="left" if h in ("bin (GeV)", "quantity") else "right")
        for e in ref["summary"]:
            t.add_row(*_fmt(e), style=None if e["compatible"] else "bold red")
        tables.append(t)
    return tables


def render_markdown(result: dict[str, Any]) -> str:
    lines = []
    for ref in result["references"]:
        lines.append(f"Simulator vs `{ref['name']}` ({ref['n_reference']} Geant4 showers, {ref['n_simulated']} "
                     f"simulated): **{'compatible' if ref['compatible'] else 'incompatible'}**\n")
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("|" + "---|" * len(_HEADER))
        lines.extend("| " + " | ".join(_fmt(e)) + " |" for e in ref["summary"])
        lines.append("")
    return "\n".join(lines)
