"""The README's results table, written by the demo from its own JSON so the README matches a rerun.

`caloquant demo --readme README.md` replaces the text between the two markers below; without markers
the README is left alone and the command says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from caloquant.errors import InputValueError

__all__ = ["BEGIN", "END", "demo_results_markdown", "update_readme"]

BEGIN = "<!-- demo-results:begin (written by `caloquant demo --readme README.md`) -->"
END = "<!-- demo-results:end -->"


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def demo_results_markdown(out: str | os.PathLike[str]) -> str:
    out = Path(out)
    lines = []
    verdicts = []
    for name, label in (("validate-simulator", "parametric simulator"), ("validate-gan", "shipped 3DGAN, fp32")):
        m = _load(out / name / "metrics.json")
        if m:
            n = len(m["quantities"])
            verdicts.append(f"{label}: **{'compatible' if m['compatible'] else 'incompatible'}** "
                            f"({n - m['n_incompatible']} of {n} quantities agree)")
    if verdicts:
        lines.append("Against the shipped Geant4 sample (800 showers): " + "; ".join(verdicts) + ".")
        lines.append("")
    bench = _load(out / "bench-precision.json")
    pairs = _load(out / "precision-pairs.json")
    paired = {r["precision"]: r for r in (pairs or {}).get("rows", [])}
    if bench:
        c = bench["conditions"]
        lines.append(f"| engine | precision | showers/s | vs OpenVINO fp32 | vs PyTorch fp32 | weights MB | "
                     f"pixel-wise vs fp32 | physics vs fp32 ({next(iter(paired.values()))['n'] if paired else 0}"
                     " paired showers) |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in bench["results"]:
            label = r["precision"] if r["engine"] == "openvino" else f"{r['engine']}-{r['precision']}"
            p = paired.get(label)
            pix = (f"{p['pixelwise_abs_sum_gev']['value']:.3g} GeV ({100 * p['pixelwise_relative']['value']:.2g} %)"
                   if p else "-")
            phys = "-" if not p else ("compatible" if p["compatible"] else
                                      f"{p['n_incompatible']} of {p['n_quantities']} off")
            lines.append(f"| {r['engine']} | {r['precision']} | {r['showers_per_s']:.0f} | "
                         f"{r.get('speedup_vs_openvino_fp32', float('nan')):.2f}x | "
                         f"{r.get('speedup_vs_torch_fp32', float('nan')):.2f}x | {r['model_bytes'] / 1e6:.2f} | "
                         f"{pix} | {phys} |")
        lines.append("")
        m = bench["machine"]
        rounds = c.get("rounds", 1)
        timing = (f"median of {c['repeats']} batches in each of {rounds} rounds interleaved over the engines, the "
                  "median round" if rounds > 1 else f"median of {c['repeats']}")
        lines.append(f"Batch {c['batch_size']}, {c['threads']} threads, {timing}, each engine in a fresh process; "
                     f"absolute rates on {m['cpu']} ({m['logical_cpus']} logical CPUs).")
    if pairs and pairs.get("ratios"):
        ratios = ", ".join(f"{k} = {v['value']:.3g} +- {v['se']:.2g}" for k, v in pairs["ratios"].items())
        lines.append(f"Pixel-wise ratios: {ratios} (paper A: TFLite int8 / fp16 = 30, iLoT int8 / TFLite fp16 = 12).")
    return "\n".join(lines) + "\n"


def update_readme(readme: str | os.PathLike[str], text: str) -> None:
    from caloquant._atomic import write_text_atomic

    path = Path(readme)
    try:
        content = path.read_text()
    except FileNotFoundError:
        raise InputValueError(f"readme {path}: no such file") from None
    if BEGIN not in content or END not in content:
        raise InputValueError(f"readme {path}: no results markers ({BEGIN} ... {END})")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    write_text_atomic(path, f"{head}{BEGIN}\n{text}{END}{tail}")
