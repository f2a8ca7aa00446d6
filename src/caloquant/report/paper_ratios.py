"""Paper A's comparisons recomputed from our runs: its pixel-wise ratios from one `bench precision` run (its
peers, TFLite and INC, and ours on the same generator, latents and judge), and its Table 3 with the
MSE-based number per precision against Geant4 (`scripts/paper_table3.py`). Paper A's numbers are in its own
units, so only ratios between precisions compare."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from caloquant.paper import PAPER_MSE, PAPER_PIXELWISE, PAPER_SHAPES

__all__ = ["TABLE3_KIND", "paper_ratio_rows", "table3_markdown", "table3_rows"]

TABLE3_KIND = "paper table3"

Row = dict[str, Any]
_ROLES: dict[str, Callable[[Row], bool]] = {
    "TFLite fp16": lambda r: r["engine"] == "tflite" and r["precision"] == "fp16",
    "TFLite int8": lambda r: r["engine"] == "tflite" and r["precision"] == "int8",
    "INC int8 (defaults)": lambda r: r["engine"] == "inc-tf" and "defaults" in r["tool"],
    "INC autotune (physics)": lambda r: r["engine"] == "inc-tf" and "autotune" in r["tool"],
    "caloquant int8 (PTQ)": lambda r: r["engine"] == "openvino" and r["precision"] == "int8"
    and r["tool"].startswith("caloquant (NNCF"),
    "caloquant int8 (QAT)": lambda r: r["engine"] == "openvino" and "QAT" in r["tool"],
    "caloquant auto": lambda r: r["engine"] == "openvino" and r["precision"] == "auto",
}
_TFLITE_INT8_VS_FP16 = PAPER_PIXELWISE["TFLite int8"] / PAPER_PIXELWISE["TFLite fp16"]
_ILOT_VS_FP16 = PAPER_PIXELWISE["iLoT int8"] / PAPER_PIXELWISE["TFLite fp16"]
_TFLITE_VS_ILOT = PAPER_PIXELWISE["TFLite int8"] / PAPER_PIXELWISE["iLoT int8"]
# (numerator, denominator, paper A's counterpart)
_RATIOS: tuple[tuple[str, str, str], ...] = (
    ("TFLite int8", "TFLite fp16", f"{_TFLITE_INT8_VS_FP16:.3g} (TFLite int8 / TFLite fp16)"),
    *((role, "TFLite fp16", f"{_ILOT_VS_FP16:.3g} (iLoT int8 / TFLite fp16)")
      for role in ("INC int8 (defaults)", "INC autotune (physics)", "caloquant int8 (PTQ)", "caloquant int8 (QAT)",
                   "caloquant auto")),
    ("TFLite int8", "caloquant int8 (PTQ)", f"{_TFLITE_VS_ILOT:.3g} (TFLite int8 / iLoT int8)"),
    ("TFLite int8", "INC int8 (defaults)", f"{_TFLITE_VS_ILOT:.3g} (TFLite int8 / iLoT int8)"),
)


def paper_ratio_rows(results: list[Row]) -> list[list[str]]:
    """[ratio, paper A, this run, the numerator's speed vs OpenVINO fp32, its paired check] for each ratio
    whose two sides the run holds (none without the peers)."""
    rows = {}
    for role, match in _ROLES.items():
        found = [r for r in results if "physics" in r and match(r)]
        if found:
            rows[role] = found[0]
    out = []
    for top, bottom, paper in _RATIOS:
        if top in rows and bottom in rows:
            a, b = rows[top], rows[bottom]
            ratio = a["physics"]["pixelwise_abs_sum_gev"] / b["physics"]["pixelwise_abs_sum_gev"]
            speed = a.get("speedup_vs_openvino_fp32")
            check = a["physics"].get("paired_at_reference_size")
            out.append([f"{top} / {bottom}", paper, f"{ratio:.3g}", "-" if speed is None else f"{speed:.2f}x",
                        "-" if not check else ("pass" if check["passed"] else "fail")])
    return out


def table3_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of Table 3 and the MSE-based number per precision, Geant4 first and paper A last, from
    the JSON `scripts/paper_table3.py` writes."""
    names = list(PAPER_SHAPES)
    rows = result["rows"]
    first = next(iter(rows.values()))
    out = [["Geant4 (this file)", *(f"{first['shapes'][n]['reference']:.2f}" for n in names), "-"]]
    out += [[label, *(f"{r['shapes'][n]['sample']:.2f}" for n in names), f"{r['mse']['value']:.4g}"]
            for label, r in rows.items()]
    out.append(["paper: Geant4 / fp32 / iLoT int8 / TFLite fp16 / TFLite int8",
                *(" / ".join(f"{v:.2f}" for v in PAPER_SHAPES[n]) for n in names),
                " / ".join(f"{v}" for v in PAPER_MSE.values())])
    return ["precision", *names, "MSE-based number"], out


def table3_markdown(result: dict[str, Any]) -> str:
    header, rows = table3_rows(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)]) + "\n"
