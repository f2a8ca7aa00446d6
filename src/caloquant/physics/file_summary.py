"""What a shower file holds, in physics terms: count, primary energies, deposited energy and the sampling
fraction with its robust spread, energy per layer or cell occupancy (`caloquant info`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from caloquant.physics.quantities import robust_spread

__all__ = ["FileSummary", "summarize_file"]


@dataclass
class FileSummary:
    rows: list[tuple[str, str]] = field(default_factory=list)  # (name, value) in reading order
    warnings: list[str] = field(default_factory=list)


def summarize_file(path: str | os.PathLike[str], *, binning: str | os.PathLike[str] | None = None,
                   particle: str | None = None) -> FileSummary:
    """Read the file once; ``binning`` (CaloChallenge XML, with ``particle``) lets a foreign CaloChallenge
    layout be summed per layer."""
    from caloquant.data import CaloChallengeBinning, open_showers
    from caloquant.data.calochallenge import CaloChallengeSource

    src = open_showers(path)
    ep = src.energies()
    out = FileSummary()
    totals: list[np.ndarray] = []
    layer_sums = None
    hits = 0
    if isinstance(src, CaloChallengeSource) and not src.is_caloquant_layout:
        xml = CaloChallengeBinning.from_xml(binning, particle) if binning else None
        if xml is None:
            out.warnings.append("foreign CaloChallenge layout: give the binning XML to sum energy per layer")
        else:
            layer_sums = np.concatenate([p for p, _ in src.iter_layer_energies(xml)])
            totals = [layer_sums.sum(axis=1)]
    else:
        for ecal, _ in src.iter_chunks():
            totals.append(ecal.sum(axis=(1, 2, 3), dtype=np.float64))
            hits += np.count_nonzero(ecal)
    out.rows += [(key, str(value)) for key, value in src.describe().items() if value is not None]
    out.rows.append(("showers", f"{src.n_showers}"))
    out.rows.append(("primary energy", f"{ep.min():.4g} to {ep.max():.4g} GeV (mean {ep.mean():.4g})"))
    if totals:
        tot = np.concatenate(totals)
        sf = tot / ep
        out.rows.append(("total deposited", f"mean {tot.mean():.4g} GeV, min {tot.min():.4g}, max {tot.max():.4g}"))
        out.rows.append(("sum / Ep", f"mean {sf.mean():.4%}, median {np.median(sf):.4%}, IQR/1.349/median "
                                     f"{robust_spread(sf):.2%}"))
    if layer_sums is not None:
        frac = layer_sums.mean(axis=0) / layer_sums.mean(axis=0).sum()
        out.rows.append(("layers", f"{layer_sums.shape[1]}; energy fraction per layer: "
                                   + " ".join(f"{f:.3f}" for f in frac)))
    elif totals:
        out.rows.append(("non-zero cells", f"{hits / (src.n_showers * 15625):.2%}"))
    out.rows += [(f"attr {key}", str(value)) for key, value in getattr(src, "attrs", {}).items()]
    return out
