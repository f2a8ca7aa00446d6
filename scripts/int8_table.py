"""int8 of the shipped generator, every method on the same footing (docs/precision.md; rerunnable).

    python scripts/int8_table.py --work runs/int8 --out docs/results/int8-table [--only NAME,...]
        [--qat-steps 300] [--validation-size 2000]

Each variant's model directory is made once under --work (kept: rerun to add variants), then judged by the
tuner's rule (`precision.judge`: PhysicsJudge, 2 000 paired showers over 100-500 GeV against PyTorch
float32, errors at the resolution of 10 000 showers) and at the fixed energies 100, 300 and 500 GeV
(narrow 1 GeV bins, 700 showers each), by the paired physics check (`validate`'s tolerances, errors
at 10 000 showers) as well, with the pixel-wise relative difference sum|s - t| / sum t and a
quick speed (median of 7 batches of 128, OpenVINO, 2 threads; `caloquant bench precision` times the chosen
ones in isolated processes). Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.engines.base import generate_batches, quick_throughput
from caloquant.models.io import load_generator
from caloquant.models.shipped import resolve_generator_path
from caloquant.physics.compare import validation_quantity_list
from caloquant.physics.features import extract_features
from caloquant.physics.tolerances import VALIDATE
from caloquant.precision import BF16Config, Int8QATConfig, Int8StaticConfig, ToolDefaultsConfig, load_engine, quantize
from caloquant.precision.judge import PhysicsJudge, paired_verdict
from caloquant.precision.source import as_float_model

FIXED = np.concatenate([np.linspace(lo, lo + 1, 700, endpoint=False) for lo in (100.0, 299.5, 499.0)])


def variants(qat_steps: int) -> dict[str, tuple[str, Any]]:
    """name -> (what it is, recipe)."""
    qat = {"steps": qat_steps}
    return {
        "bf16": ("OpenVINO bf16 (no int8)", BF16Config()),
        "nncf-defaults": ("NNCF quantize, its defaults (MIXED preset, every layer)", ToolDefaultsConfig()),
        "ptq": ("PTQ min-max, symmetric, items of 8 latents, output layer and paths' conv6-7 float, NNCF fast "
                "bias correction (ours)", Int8StaticConfig()),
        "ptq-session25": ("PTQ as session 25: items of 1 latent, only the output layer float",
                          Int8StaticConfig(calibration_batch=1, float_tail=0)),
        "ptq-items4": ("PTQ, items of 4 latents, only the output layer float",
                       Int8StaticConfig(calibration_batch=4, float_tail=0)),
        "ptq-items4-tail2": ("PTQ, items of 4 latents, output layer and conv6-7 float",
                             Int8StaticConfig(calibration_batch=4)),
        "ptq-items16-tail2": ("PTQ, items of 16 latents, output layer and conv6-7 float",
                              Int8StaticConfig(calibration_batch=16)),
        "ptq-no-bc": ("PTQ as ours, bias correction off", Int8StaticConfig(bias_correction="off")),
        "ptq-full-bc": ("PTQ as ours, NNCF full bias correction", Int8StaticConfig(bias_correction="full")),
        "ptq-percentile": ("PTQ as ours, activation ranges by mean quantiles",
                           Int8StaticConfig(calibration_method="percentile")),
        "ptq-last-int8": ("PTQ as ours, last conv int8 too", Int8StaticConfig(keep_output_float=False)),
        "qat-mse": (f"QAT {qat_steps} steps, plain MSE loss", Int8QATConfig(loss="mse", **qat)),
        "qat": (f"QAT {qat_steps} steps, physics loss (ours)", Int8QATConfig(**qat)),
        "qat-last-int8": (f"QAT {qat_steps} steps, physics loss, last conv int8",
                          Int8QATConfig(keep_output_float=False, **qat)),
    }


def _showers(engine: Any, judge: PhysicsJudge) -> np.ndarray:
    return np.concatenate([s for s, _ in generate_batches(engine, ep=judge.ep, seed=judge.seed, batch_size=128)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("runs/int8"))
    ap.add_argument("--out", type=Path, default=Path("docs/results/int8-table"))
    ap.add_argument("--only", default="")
    ap.add_argument("--qat-steps", type=int, default=300)
    ap.add_argument("--validation-size", type=int, default=2000)
    args = ap.parse_args()

    path = resolve_generator_path(None)
    gen = load_generator(path)
    table = variants(args.qat_steps)
    names = [n for n in args.only.split(",") if n] or list(table)
    args.work.mkdir(parents=True, exist_ok=True)
    reference = as_float_model(gen).reference_engine(2)
    judges = {"100-500": PhysicsJudge(reference, validation_size=args.validation_size),
              "100/300/500": PhysicsJudge(reference, energies=FIXED)}
    paired_quantities = validation_quantity_list(dict(VALIDATE))  # the paired physics check's tolerances
    truth = {k: _showers(reference, j) for k, j in judges.items()}
    results_path = args.out.with_suffix(".json")
    results = json.loads(results_path.read_text())["rows"] if results_path.exists() else {}
    for name in names:
        what, recipe = table[name]
        model_dir = args.work / name
        t0 = time.perf_counter()
        if not (model_dir / "caloquant.json").exists():
            quantize(gen, recipe, engine="openvino", out=model_dir)
        made_s = time.perf_counter() - t0
        meta = json.loads((model_dir / "caloquant.json").read_text())
        engine = load_engine(model_dir, threads=2)
        row: dict[str, Any] = {"what": what, "recipe": meta["recipe"], "qat": meta.get("qat"),
                               "made_s": round(made_s, 1), "showers_per_s": quick_throughput(engine, repeats=7)}
        for key, judge in judges.items():
            showers = _showers(engine, judge)
            features = extract_features(iter([(showers, judge.ep.astype(np.float32))]))
            verdict = judge.verdict(features)
            verdict["paired_check"] = paired_verdict(features, judge.reference, paired_quantities, seed=judge.seed,
                                                     n_boot=judge.n_boot)
            verdict["pixelwise_relative"] = float(np.abs(showers - truth[key]).sum() / truth[key].sum())
            row[key] = verdict
        results[name] = row
        print(name, json.dumps({k: row[k] for k in ("showers_per_s", "100-500", "100/300/500")}), flush=True)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps({"model": str(path), "validation_size": args.validation_size,
                                            "rule": judges["100-500"].rule(), "rows": results}, indent=1))
    args.out.with_suffix(".md").write_text(render(results))


def render(rows: dict[str, Any]) -> str:
    fp = rows.get("bf16", {}).get("showers_per_s")
    head = ("| variant | what | showers/s (quick) | paired check 100-500 GeV | zero-tolerance 100-500 GeV | worst | "
            "pixel-wise rel. | paired check 100/300/500 GeV | zero-tolerance 100/300/500 GeV |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def cell(v: dict[str, Any] | None) -> str:
        return "-" if not v else f"{v['score']:.2f} ({v['n_off']} of {v['n_quantities']} off)"

    for name, r in rows.items():
        a, b = r["100-500"], r["100/300/500"]
        speed = f"{r['showers_per_s']:.0f}" + (f" ({r['showers_per_s'] / fp:.2f}x bf16)" if fp else "")
        lines.append(f"| {name} | {r['what']} | {speed} | {cell(a.get('paired_check'))} | {cell(a)} | {a['worst']} | "
                     f"{100 * a['pixelwise_relative']:.2f} % | {cell(b.get('paired_check'))} | {cell(b)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
