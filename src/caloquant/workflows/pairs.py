"""Reduced precision against float32 on paired showers, summarised the way paper A compares precisions.

Paper A's pixel-wise numbers (Table 4) and MSE-based numbers are in its own units, so what carries over
is their ratios between precisions: TFLite int8 / fp16 = 4.054 / 0.133 = 30, iLoT int8 / TFLite fp16 =
1.550 / 0.133 = 12. This reads the `validate --paired` results of each precision and computes the same
ratios for ours, with errors propagated from the bootstrap errors of each number.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from caloquant.paper import PAPER_PIXELWISE

__all__ = ["PAPER_RATIOS", "summarize_pairs"]

PAPER_RATIOS = {
    "int8 / fp16 (TFLite)": PAPER_PIXELWISE["TFLite int8"] / PAPER_PIXELWISE["TFLite fp16"],
    "int8 / fp16 (iLoT int8 vs TFLite fp16)": PAPER_PIXELWISE["iLoT int8"] / PAPER_PIXELWISE["TFLite fp16"],
}


def _ratio(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    value = a["value"] / b["value"] if b["value"] else math.inf
    rel = math.hypot(a["se"] / a["value"] if a["value"] else 0.0, b["se"] / b["value"] if b["value"] else 0.0)
    return {"value": value, "se": abs(value) * rel}


def summarize_pairs(validations: Mapping[str, str | os.PathLike[str]], *, seed: int | None = None) -> dict[str, Any]:
    """``validations``: precision label -> `validate --paired` output directory (candidate vs float32)."""
    from caloquant.metadata import metadata

    rows = []
    for label, d in validations.items():
        m = json.loads((Path(d) / "metrics.json").read_text())
        p = m["paired"]
        rows.append({"precision": label, "n": m["samples"]["n"], "compatible": m["compatible"],
                     "n_incompatible": m["n_incompatible"], "n_quantities": len(m["quantities"]),
                     "pixelwise_abs_sum_gev": p["pixelwise_abs_sum_gev"],
                     "pixelwise_relative": p["pixelwise_relative"],
                     "tail_relative": p["tail_relative_to_tail_energy"],
                     "mse_projections": m["mse_projections"]["all"]})
    by = {r["precision"]: r["pixelwise_abs_sum_gev"] for r in rows}
    ratios = {}
    floats = ("fp16", "bf16", "tflite-fp16")  # paper A divides by TFLite's fp16; TFLite's int8 only by it
    for num in by:
        for den in floats:
            peer_to_ours = num.startswith("tflite") and den != "tflite-fp16"
            if num != den and den in by and num not in floats and not peer_to_ours:
                ratios[f"{num} / {den}"] = _ratio(by[num], by[den])
    return metadata(seed=seed, extra={"kind": "precision pairs", "reference": "float32 (same latents)",
                                      "rows": rows, "ratios": ratios, "paper_ratios": PAPER_RATIOS,
                                      "paper_pixelwise_gev": PAPER_PIXELWISE})
