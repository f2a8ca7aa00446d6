"""The GAN issue's required list, per 100 GeV bin: no artefacts, and the main shape numbers within bounds.

Plain relative differences against fixed bounds (no statistical allowance): used to select training
checkpoints on the shape (the 3DGAN selection metric's moment term once hid a mode collapse) and printed
in the model card beside `compare-gan`'s CONVENTIONS verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from caloquant.physics.features import EventFeatures, extract_features
from caloquant.physics.images import ImageAccumulator
from caloquant.physics.quantities import ENERGY_BINS, shape_numbers

__all__ = ["BRIGHT_GEV", "REQUIRED_BOUNDS", "RequiredCheck", "features_and_bin_means", "required_checks",
           "required_score"]

# cells whose mean Geant4 energy exceeds BRIGHT_GEV must hold a mean GAN energy within a factor 2 (99 % of
# them); cells below FAINT_GEV may hold at most twice Geant4's energy in all.
BRIGHT_GEV, FAINT_GEV = 1e-4, 1e-5
REQUIRED_BOUNDS = {"bright cells within x2": 0.01, "faint-cell energy ratio": 2.0, "z mean": 0.03, "y std": 0.10,
                   "z std": 0.10, "1x1 containment": 0.10, "3x3 containment": 0.10, "5x5 containment": 0.10,
                   "sampling fraction": 0.03, "layer profile": 0.30}
SIGNIFICANT_LAYER = 0.01  # the profile bound applies to layers holding more than this fraction of the energy


@dataclass(frozen=True)
class RequiredCheck:
    bin: str
    name: str
    value: float  # fraction failing (bright cells), energy ratio (faint cells), else relative difference
    bound: float
    detail: str = ""

    @property
    def normalised(self) -> float:
        """0 is perfect, at most 1 passes: |value| / bound, or for the faint-cell energy ratio (a bound on
        excess only) how far above 1 it lies, max(ratio - 1, 0) / (bound - 1)."""
        if self.name == "faint-cell energy ratio":
            return max(self.value - 1.0, 0.0) / (self.bound - 1.0)
        return abs(self.value) / self.bound

    @property
    def passed(self) -> bool:
        return self.normalised <= 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "normalised": self.normalised, "passed": self.passed}


def _rel(a: float, b: float) -> float:
    return float(a / b - 1.0) if b != 0 else float("inf")


def _bin_checks(label: str, s: EventFeatures, r: EventFeatures, s_img: np.ndarray, r_img: np.ndarray
                ) -> list[RequiredCheck]:
    out = []
    bright = r_img > BRIGHT_GEV
    ratio = s_img[bright] / r_img[bright]
    off = float(np.mean((ratio < 0.5) | (ratio > 2.0))) if bright.any() else 0.0
    out.append(RequiredCheck(label, "bright cells within x2", off, REQUIRED_BOUNDS["bright cells within x2"],
                             f"{bright.sum()} cells above {BRIGHT_GEV:g} GeV, {100 * (1 - off):.1f} % within x2"))
    faint = r_img < FAINT_GEV
    r_faint = float(r_img[faint].sum())
    faint_ratio = float(s_img[faint].sum()) / r_faint if r_faint > 0 else (0.0 if s_img[faint].sum() == 0 else np.inf)
    out.append(RequiredCheck(label, "faint-cell energy ratio", faint_ratio, REQUIRED_BOUNDS["faint-cell energy ratio"],
                             f"{faint.sum()} cells below {FAINT_GEV:g} GeV"))
    s_zm, s_zs = shape_numbers(s.z_profile.mean(axis=0))
    r_zm, r_zs = shape_numbers(r.z_profile.mean(axis=0))
    _, s_ys = shape_numbers(s.y_profile.mean(axis=0))
    _, r_ys = shape_numbers(r.y_profile.mean(axis=0))
    out += [RequiredCheck(label, "z mean", _rel(s_zm, r_zm), REQUIRED_BOUNDS["z mean"], f"{s_zm:.3f} vs {r_zm:.3f}"),
            RequiredCheck(label, "y std", _rel(s_ys, r_ys), REQUIRED_BOUNDS["y std"], f"{s_ys:.3f} vs {r_ys:.3f}"),
            RequiredCheck(label, "z std", _rel(s_zs, r_zs), REQUIRED_BOUNDS["z std"], f"{s_zs:.3f} vs {r_zs:.3f}")]
    for j, name in enumerate(("1x1 containment", "3x3 containment", "5x5 containment")):
        sc, rc = float((s.core[:, j] / s.total).mean()), float((r.core[:, j] / r.total).mean())
        out.append(RequiredCheck(label, name, _rel(sc, rc), REQUIRED_BOUNDS[name], f"{sc:.4f} vs {rc:.4f}"))
    s_sf, r_sf = float((s.total / s.ep).mean()), float((r.total / r.ep).mean())
    out.append(RequiredCheck(label, "sampling fraction", _rel(s_sf, r_sf), REQUIRED_BOUNDS["sampling fraction"],
                             f"{100 * s_sf:.3f} % vs {100 * r_sf:.3f} %"))
    s_prof = (s.z_profile / s.ep[:, None]).mean(axis=0)
    r_prof = (r.z_profile / r.ep[:, None]).mean(axis=0)
    layers = np.flatnonzero(r_prof / r_prof.sum() > SIGNIFICANT_LAYER)
    rel = s_prof[layers] / r_prof[layers] - 1.0
    worst = int(np.argmax(np.abs(rel)))
    out.append(RequiredCheck(label, "layer profile", float(rel[worst]), REQUIRED_BOUNDS["layer profile"],
                             f"worst of layers {layers[0]}-{layers[-1]}: layer {layers[worst]}"))
    return out


def features_and_bin_means(chunks: Iterable[tuple[np.ndarray, np.ndarray]]
                           ) -> tuple[EventFeatures, dict[str, np.ndarray]]:
    """Per-event features and the mean image per 100 GeV bin (labels 'LO-HI GeV'), in one pass over the
    showers: what required_checks takes for each side."""
    acc = ImageAccumulator({f"{lo}-{hi} GeV": (lo, hi) for lo, hi in ENERGY_BINS}, groups=1)

    def tee() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for ecal, ep in chunks:
            acc.add(ecal, ep)
            yield ecal, ep

    feats = extract_features(tee())
    return feats, {label: acc.mean(label) for label in acc.bins if acc.count(label)}


def required_checks(sample: EventFeatures, reference: EventFeatures, sample_images: dict[str, np.ndarray],
                    reference_images: dict[str, np.ndarray], min_showers: int = 20) -> list[RequiredCheck]:
    """Every check of the required list for every 100 GeV bin both samples fill (keys of the image dicts
    are the bin labels 'LO-HI GeV'); a bin with fewer than ``min_showers`` on either side is skipped."""
    out = []
    for lo, hi in ENERGY_BINS:
        label = f"{lo}-{hi} GeV"
        ms, mr = (sample.ep >= lo) & (sample.ep < hi), (reference.ep >= lo) & (reference.ep < hi)
        if ms.sum() < min_showers or mr.sum() < min_showers or label not in sample_images:
            continue
        out += _bin_checks(label, sample.select(ms), reference.select(mr), sample_images[label],
                           reference_images[label])
    return out


def required_score(checks: list[RequiredCheck], cap: float = 5.0) -> float:
    """Mean of min(|value| / bound, cap) over the checks: 0 is perfect, at most 1 on every check passes
    all; the cap keeps one broken quantity from hiding progress on the rest."""
    if not checks:
        return float("inf")
    return float(np.mean([min(c.normalised, cap) for c in checks]))
