"""The training ablation table of docs/training.md from run folders' logs (rerunnable).

    python scripts/ablation_table.py "LABEL=runs/shape1" ["LABEL=runs/other@2169" ...] [--every 40]

RUN@STEP keeps the steps after STEP only: a run resumed from a copy of another's checkpoint carries that
run's log up to the copy.

One row per validation: samples seen in the run, the run's training speed, the 3DGAN selection metric, the
required-list score and how many of its checks are off. A run stopped before its first validation gets a row
saying how far its losses went.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _rows(label: str, run: Path, every: int, after: int = -1) -> list[str]:
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    log = [r for r in log if r["step"] > after]
    cfg = json.loads((run / "state.json").read_text())["train_config"]
    steps = [r for r in log if "loss_g" in r]
    if not steps:
        return [f"| {label} | - | - | - | - | - | - |"]
    span = steps[-1]["wall_s"] - steps[0]["wall_s"]  # wall_s is cumulative over resumes: training time only
    rate = cfg["batch_size"] * (len(steps) - 1) / span if span > 0 else float("nan")
    vals = [r for r in log if "val" in r and (r["step"] % every == 0)]
    out = []
    for r in vals:
        v = r["val"]
        score = v.get("required_score")
        out.append(f"| {label} | {r['step']} | {r['step'] * cfg['batch_size']} | {rate:.1f} | {v['metric']:.3f} | "
                   + (f"{score:.3f} | {v['required_failed']} of {v['required_checks']} |" if score is not None
                      else "- | - |"))
    if not any(r["step"] > 0 for r in vals):
        last = steps[-1]
        terms = ", ".join(f"{k.removeprefix('shape_')} {last[k]:.2f}" for k in last if k.startswith("shape_"))
        out.append(f"| {label} | {last['step']} | {last['step'] * cfg['batch_size']} | {rate:.1f} | stopped "
                   f"before validating; shape terms at the last step: {terms} | | |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    ap.add_argument("--every", type=int, default=40, help="Show validations at multiples of this step.")
    args = ap.parse_args()
    print("| run | step | samples | samples/s | selection metric | required score | checks off |")
    print("|---|---|---|---|---|---|---|")
    for item in args.runs:
        label, _, spec = item.partition("=")
        run, _, after = spec.partition("@")
        print("\n".join(_rows(label, Path(run), args.every, int(after) if after else -1)))


if __name__ == "__main__":
    main()
