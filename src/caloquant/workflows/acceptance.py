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
from caloquant.physics.stats import Comparison, verdict
from caloquant.physics.tolerances import GAN_GOALS, SIMULATOR_ACCEPTANCE

__all__ = ["GAN_TOLERANCES", "SIM_TOLERANCES", "check_against_geant4", "check_generator", "check_required",
           "check_simulator", "render_markdown", "render_required_markdown", "render_table", "summarise"]

SIM_TOLERANCES = SIMULATOR_ACCEPTANCE
GAN_TOLERANCES = GAN_GOALS

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
            "verdict": verdict([r.compatible for r in rows]),
            "compatible": verdict([r.compatible for r in rows]) == "compatible",
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


def check_required(
    model: str | os.PathLike[str] | None,
    references: Sequence[str | os.PathLike[str]],
    *,
    seed: int = 1,
    batch_size: int = 128,
) -> dict[str, Any]:
    """The GAN issue's required list (no artefacts; z mean, y / z std, containment, sampling fraction,
    longitudinal profile within bounds) for a generator against each Geant4 file, per 100 GeV bin, with the
    mean images (summed over y) the artefact check looks at."""
    from caloquant.engines.base import generate_batches
    from caloquant.engines.torch_engine import TorchEngine
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import file_sha256, resolve_generator_path
    from caloquant.physics.gan_requirements import (
        REQUIRED_BOUNDS,
        features_and_bin_means,
        required_checks,
        required_score,
    )

    path = resolve_generator_path(model)
    engine = TorchEngine(load_generator(path), "fp32", threads=None)
    result: dict[str, Any] = metadata(seed=seed, extra={"kind": "gan-required", "model": str(path),
                                                        "model_sha256": file_sha256(path), "bounds": REQUIRED_BOUNDS,
                                                        "references": []})
    for i, ref_path in enumerate(references):
        src = open_showers(ref_path)
        ref_feats, ref_images = features_and_bin_means(src.iter_chunks(500))
        feats, images = features_and_bin_means(generate_batches(engine, ep=src.energies().astype(np.float64),
                                                                 seed=seed + i, batch_size=batch_size))
        checks = required_checks(feats, ref_feats, images, ref_images)
        result["references"].append({
            "path": str(ref_path), "name": Path(ref_path).name, "n_reference": src.n_showers,
            "score": required_score(checks), "n_failed": sum(not c.passed for c in checks),
            "checks": [c.to_dict() for c in checks],
            "mean_images": {label: {"sample": images[label].sum(axis=1).tolist(),
                                    "reference": ref_images[label].sum(axis=1).tolist()} for label in images},
        })
    return result


def render_required_markdown(result: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    """One table per reference file: every check per bin, met or not, beside the previous model's value."""
    lines = []
    prev_refs = {r["name"]: r for r in (previous or {}).get("references", [])}
    for ref in result["references"]:
        prev = {(c["bin"], c["name"]): c for c in prev_refs.get(ref["name"], {}).get("checks", [])}
        lines.append(f"Against `{ref['name']}` ({ref['n_reference']} Geant4 showers): {ref['n_failed']} of "
                     f"{len(ref['checks'])} checks off" + (f" (previous model: {prev_refs[ref['name']]['n_failed']})"
                                                           if ref["name"] in prev_refs else "") + "\n")
        lines.append("| bin (GeV) | check | value | bound | met | previous model | detail |")
        lines.append("|---|---|---|---|---|---|---|")
        for c in ref["checks"]:
            p = prev.get((c["bin"], c["name"]))
            lines.append(f"| {c['bin']} | {c['name']} | {_required_value(c)} | {_required_bound(c)} | "
                         f"{'yes' if c['passed'] else 'NO'} | {_required_value(p) if p else ''} | {c['detail']} |")
        lines.append("")
    return "\n".join(lines)


# how a required check's value and bound read: (value, bound) formatters per check; plain percentages otherwise
_REQUIRED_FORMATS: dict[str, tuple[Callable[[float], str], Callable[[float], str]]] = {
    "bright cells within x2": (lambda v: f"{100 * (1 - v):.1f} % within", lambda b: f">= {100 * (1 - b):.0f} %"),
    "faint-cell energy ratio": (lambda v: f"{v:.2f}x", lambda b: f"<= {b:g}x"),
}
_PERCENT = (lambda v: f"{100 * v:+.1f} %", lambda b: f"{100 * b:.0f} %")


def _required_value(c: dict[str, Any]) -> str:
    return _REQUIRED_FORMATS.get(c["name"], _PERCENT)[0](c["value"])


def _required_bound(c: dict[str, Any]) -> str:
    return _REQUIRED_FORMATS.get(c["name"], _PERCENT)[1](c["bound"])


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
        said = ref.get("verdict", "compatible" if ref["compatible"] else "incompatible")
        lines.append(f"{label} vs `{ref['name']}` ({ref['n_reference']} Geant4 showers, {ref['n_sample']} "
                     f"from the {label}): **{said}**\n")
        header = _header(result)
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines.extend("| " + " | ".join(_fmt(e)) + " |" for e in ref["summary"])
        lines.append("")
    return "\n".join(lines)
