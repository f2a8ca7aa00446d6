"""Paper A's Table 3 and MSE-based number, per precision, against Geant4 (docs/precision.md; rerunnable).

    python scripts/paper_table3.py --reference GEANT4.h5 --out docs/results/paper-table3 \\
        [--count 2000] LABEL=MODEL ...        (MODEL: a model directory, or "shipped" for PyTorch float32)

Each model generates --count showers over 100-500 GeV (seed 1) and `validate` compares them with the Geant4
file: the y and z shower-shape means and widths of all energies (Table 3) and the MSE-based number of the
2D projections, beside paper A's values. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from caloquant.paper import PAPER_MSE, PAPER_SHAPES
from caloquant.workflows.generation import generate_to_file
from caloquant.workflows.validation import run_validation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/results/paper-table3"))
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.models:
            label, model = item.split("=", 1)
            samples = Path(tmp) / f"{len(rows)}.h5"
            generate_to_file(None if model == "shipped" else model, samples, count=args.count, energy=(100.0, 500.0),
                             seed=1)
            metrics, _ = run_validation(samples, args.reference, Path(tmp) / f"val{len(rows)}", voxel_classifier=False,
                                        plots=False, n_boot=50)
            shapes = {q["name"]: {"sample": q["sample"], "reference": q["reference"]} for q in metrics["quantities"]
                      if q["bin"] == "all" and q["name"] in PAPER_SHAPES}
            rows[label] = {"model": model, "shapes": shapes, "mse": metrics["mse_projections"]["all"]}
            print(label, json.dumps(rows[label]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"reference": str(args.reference), "count": args.count,
                                                         "rows": rows}, indent=1))
    names = list(PAPER_SHAPES)
    head = "| precision | " + " | ".join(names) + " | MSE-based number |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    first = next(iter(rows.values()))
    lines.append("| Geant4 (this file) | " + " | ".join(f"{first['shapes'][n]['reference']:.2f}" for n in names)
                 + " | - |")
    for label, r in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{r['shapes'][n]['sample']:.2f}" for n in names)
                     + f" | {r['mse']['value']:.4g} |")
    lines.append("| paper: Geant4 / fp32 / iLoT int8 / TFLite fp16 / TFLite int8 | "
                 + " | ".join(" / ".join(f"{v:.2f}" for v in PAPER_SHAPES[n]) for n in names)
                 + " | " + " / ".join(f"{v}" for v in PAPER_MSE.values()) + " |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
