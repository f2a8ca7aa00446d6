"""The short text summary a physicist reads first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["summary_text"]


def summary_text(m: dict[str, Any]) -> str:
    rows = m["quantities"]
    bad = [r for r in rows if not r["compatible"]]
    s = Path(m["samples"]["path"]).name
    r = Path(m["reference"]["path"]).name
    if m.get("verdict") == "insufficient statistics" and not rows:
        return (f"caloquant validate: {s} ({m['samples']['n']} showers) against {r} ({m['reference']['n']} "
                f"showers)\nverdict: INSUFFICIENT STATISTICS ({m['reason']})\n")
    lines = [
        f"caloquant validate: {s} ({m['samples']['n']} showers) against {r} ({m['reference']['n']} showers)",
        f"verdict: {m.get('verdict', 'compatible' if m['compatible'] else 'incompatible').upper()} "
        f"({len(rows) - len(bad)} of {len(rows)} quantities agree; "
        f"rule |diff| <= max(tol, {m['settings']['k']:g} sigma))",
        "",
        f"MSE-based number (2D projections, all energies): {m['mse_projections']['all']['value']:.4g} "
        f"+- {m['mse_projections']['all']['se']:.2g}",
        "3DGAN selection metric: " + (f"{m['selection_metric']['value']:.4g}" if m["selection_metric"]["value"]
                                      is not None else f"not computed ({m['selection_metric']['bins']})"),
        _distance("FPD", m["hlf"]["fpd"]) + "; " + _distance("KPD", m["hlf"]["kpd"]),
    ]
    for name, c in m["classifier"].items():
        lines.append(f"classifier ({name}): AUC {c['auc']:.3f} +- {c['auc_se']:.3f}, JSD {c['jsd']:.3f} bits, "
                     f"{c['seconds']:.1f} s")
    if "paired" in m:
        p = m["paired"]
        lines.append(f"paired ({p['n_pairs']} pairs): mean sum|A-B| = {p['pixelwise_abs_sum_gev']['value']:.4g} GeV "
                     f"({100 * p['pixelwise_relative']['value']:.3g} % of the shower energy); tail cells "
                     f"{p['tail_abs_sum_gev']['value']:.3g} GeV "
                     f"({100 * p['tail_relative_to_tail_energy']['value']:.3g} % of their energy)")
    if bad:
        lines += ["", "incompatible:"]
        for b in bad[:40]:
            unit = "%" if b["relative"] else ""
            scale = 100 if b["relative"] else 1
            lines.append(f"  {b['bin']:>9} {b['name']:<40} diff {scale * b['diff']:+.3g}{unit} "
                         f"allowed {scale * max(b['tolerance'], b['k'] * b['sigma']):.3g}{unit}")
        if len(bad) > 40:
            lines.append(f"  ... and {len(bad) - 40} more (metrics.json)")
    t = m["timing_s"]
    lines.append(f"\ntime: {t['total']:.1f} s (voxel classifier {t['voxel_classifier'] or 0:.1f} s)")
    return "\n".join(lines) + "\n"


def _distance(name: str, d: dict[str, Any]) -> str:
    if d["value"] is None:
        return f"{name} not computed: {d.get('reason', 'too few showers')}"
    base = "n/a" if d["baseline"] is None else f"{d['baseline']:.3g}"
    return f"{name} {d['value']:.3g} +- {d['se']:.2g} (split-half {base})"
