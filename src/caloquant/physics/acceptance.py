"""A shower source against Geant4, per energy bin, by the CONVENTIONS rule: the acceptance tables.

The source (simulator or generator) is run at the reference's own primary energies (each repeated
``oversample`` times) so the energy distributions inside every bin match exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.data import open_showers
from caloquant.metadata import metadata
from caloquant.physics.compare import compare_features, standard_quantities
from caloquant.physics.features import extract_features
from caloquant.physics.stats import Comparison

__all__ = ["GAN_TOLERANCES", "SIM_TOLERANCES", "check_against_geant4", "check_generator", "check_simulator",
           "render_markdown", "render_table", "summarise"]

# Foundation issue: what the reference simulator must reach.
SIM_TOLERANCES = {"sf_mean": 0.02, "sf_spread": 0.20, "shape_means": 0.01, "shape_stds": 0.05,
                  "profile": 0.10, "containment_tol": 0.03}
# GAN issue: goals of the shipped generator (the paper reached 12.02 vs 12.00 and 4.50 vs 4.62).
GAN_TOLERANCES = {"sf_mean": 0.03, "sf_spread": 0.20, "shape_means": 0.01, "shape_stds": 0.05,
                  "profile": 0.15, "containment_tol": 0.03}

ShowerChunks = Iterable[tuple[np.ndarray, np.ndarray]]


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


def check_against_geant4(
    make_sample: Callable[[np.ndarray, int], ShowerChunks],
    references: Sequence[str | os.PathLike[str]],
    *,
    tolerances: dict[str, float],
    sample_label: str,
    kind: str,
    oversample: int = 4,
    seed: int = 1,
    k: float = 4.0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compare ``make_sample(energies, seed)`` with each Geant4 file; a JSON-ready result with metadata."""
    result: dict[str, Any] = metadata(seed=seed, extra={"kind": kind, "sample_label": sample_label, "k": k,
                                                        "oversample": oversample, "tolerances": tolerances,
                                                        **(extra or {}), "references": []})
    for i, path in enumerate(references):
        src = open_showers(path)
        ref = extract_features(src.iter_chunks(500))
        ep = np.repeat(src.energies(), oversample)
        feats = extract_features(make_sample(ep, seed + i))
        rows = compare_features(feats, ref, standard_quantities(**tolerances), k=k, seed=seed)
        result["references"].append({
            "path": str(path),
            "name": Path(path).name,
            "n_reference": src.n_showers,
            "n_sample": len(ep),
            "compatible": all(r.compatible for r in rows),
            "summary": summarise(rows),
            "comparisons": [r.to_dict() for r in rows],
        })
    return result


def check_simulator(
    references: Sequence[str | os.PathLike[str]],
    *,
    oversample: int = 4,
    seed: int = 1,
    k: float = 4.0,
    params_file: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The simulator against each Geant4 file with the foundation issue's tolerances."""
    from caloquant.simulator import ShowerSimulator, load_params

    sim = ShowerSimulator(load_params(params_file))
    return check_against_geant4(lambda ep, s: sim.iter_showers(ep, s), references, tolerances=SIM_TOLERANCES,
                                sample_label="simulator", kind="compare-sim", oversample=oversample, seed=seed, k=k)


def check_generator(
    model: str | os.PathLike[str] | None,
    references: Sequence[str | os.PathLike[str]],
    *,
    oversample: int = 2,
    seed: int = 1,
    k: float = 4.0,
    batch_size: int = 128,
) -> dict[str, Any]:
    """A trained generator (PyTorch fp32) against each Geant4 file with the GAN issue's goals."""
    from caloquant.engines.base import generate_batches
    from caloquant.engines.torch_engine import TorchEngine
    from caloquant.models.io import load_generator, read_metadata
    from caloquant.models.shipped import file_sha256, resolve_generator_path

    path = resolve_generator_path(model)
    engine = TorchEngine(load_generator(path), "fp32", threads=None)
    info = {"model": str(path), "model_sha256": file_sha256(path), "model_info": read_metadata(path)["info"]}
    return check_against_geant4(lambda ep, s: generate_batches(engine, ep=ep, seed=s, batch_size=batch_size),
                                references, tolerances=GAN_TOLERANCES, sample_label="GAN", kind="compare-gan",
                                oversample=oversample, seed=seed, k=k, extra=info)


def _fmt(entry: dict[str, Any]) -> list[str]:
    q = entry["quantity"]
    detail = entry["detail"].replace("layer profile ", "worst ") if q == "layer profile" else ""
    return [entry["bin"], q + (f" ({detail})" if detail else ""), f"{entry['sample']:.5g}", f"{entry['reference']:.5g}",
            f"{100 * entry['diff']:+.2f} %", f"{100 * entry['allowed']:.2f} %",
            "" if entry["baseline"] is None else f"{100 * entry['baseline']:+.2f} %",
            "yes" if entry["compatible"] else "NO"]


def _header(result: dict[str, Any]) -> list[str]:
    return ["bin (GeV)", "quantity", result.get("sample_label", "sample"), "Geant4", "difference", "allowed",
            "split-half", "compatible"]


def render_table(result: dict[str, Any]) -> list[Any]:
    from rich.table import Table

    tables = []
    for ref in result["references"]:
        label = result.get("sample_label", "sample")
        t = Table(title=f"{label} vs {ref['name']} ({ref['n_reference']} Geant4, {ref['n_sample']} {label})")
        for h in _header(result):
            t.add_column(h, justify="left" if h in ("bin (GeV)", "quantity") else "right")
        for e in ref["summary"]:
            t.add_row(*_fmt(e), style=None if e["compatible"] else "bold red")
        tables.append(t)
    return tables


def render_markdown(result: dict[str, Any]) -> str:
    lines = []
    for ref in result["references"]:
        label = result.get("sample_label", "sample")
        lines.append(f"{label} vs `{ref['name']}` ({ref['n_reference']} Geant4 showers, {ref['n_sample']} "
                     f"from the {label}): **{'compatible' if ref['compatible'] else 'incompatible'}**\n")
        header = _header(result)
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines.extend("| " + " | ".join(_fmt(e)) + " |" for e in ref["summary"])
        lines.append("")
    return "\n".join(lines)
