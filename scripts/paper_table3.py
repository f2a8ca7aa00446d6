"""Paper A's Table 3 and MSE-based number, per precision, against Geant4 (docs/precision.md; rerunnable).

    python scripts/paper_table3.py --reference GEANT4.h5 --out docs/results/paper-table3 \\
        [--count 2000] LABEL=MODEL ...        (MODEL: a model directory, or "shipped" for PyTorch float32)

Each model generates --count showers over 100-500 GeV (seed 1) and `validate` compares them with the Geant4
file: the y and z shower-shape means and widths of all energies (Table 3) and the MSE-based number of the
2D projections, beside paper A's values. Writes OUT.json (which `caloquant report` shows) and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from caloquant._atomic import write_json_atomic, write_text_atomic
from caloquant.paper import PAPER_SHAPES
from caloquant.report.paper_ratios import TABLE3_KIND, table3_markdown
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
    result = {"kind": TABLE3_KIND, "reference": str(args.reference), "count": args.count, "rows": rows}
    write_json_atomic(args.out.with_suffix(".json"), result)
    write_text_atomic(args.out.with_suffix(".md"), table3_markdown(result))


if __name__ == "__main__":
    main()
