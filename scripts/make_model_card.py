"""Ship the best generator of a training run and write its model card (rerunnable, seeded).

    python scripts/make_model_card.py runs/paper [--ship] [-r GEANT4.h5 ...] [--previous OLD.safetensors]

--ship copies RUN/best_generator.safetensors to src/caloquant/resources/generator_3dgan_paper.safetensors
(commit it at most once per session). The card compares the generator with Geant4 per 100 GeV bin by
the CONVENTIONS rule with the GAN issue's goals (`caloquant compare-gan`), lists the issue's required checks
per bin beside the previous model's (--previous: the weights being replaced), draws the mean images per bin,
and summarises the training.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from caloquant._atomic import write_json_atomic, write_text_atomic
from caloquant.models.io import read_metadata
from caloquant.models.shipped import DEFAULT_WEIGHTS, file_sha256
from caloquant.report.validation_plots import plot_mean_images
from caloquant.resources import geant4_check_sample
from caloquant.workflows.acceptance import (
    GAN_TOLERANCES,
    check_generator,
    check_required,
    render_markdown,
    render_required_markdown,
)

ROOT = Path(__file__).resolve().parents[1]


def _training_table(run: Path) -> list[str]:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    batch = json.loads((run / "state.json").read_text())["train_config"]["batch_size"]
    vals = {r["step"]: r for r in rows if "val" in r}
    required = any("required_score" in r["val"] for r in vals.values())
    lines = ["| step | samples seen | wall time (h) | selection metric | moment error | shape error | "
             "sampling fraction |" + (" required score | checks off |" if required else ""),
             "|---|---|---|---|---|---|---|" + ("---|---|" if required else "")]
    steps = sorted(vals)
    shown = steps if len(steps) <= 12 else [*steps[::max(len(steps) // 12, 1)], steps[-1]]
    for s in dict.fromkeys(shown):
        r, v = vals[s], vals[s]["val"]
        extra = (f" {v['required_score']:.3f} | {v['required_failed']} of {v['required_checks']} |"
                 if "required_score" in v else (" - | - |" if required else ""))
        lines.append(f"| {s} | {s * batch} | {r['wall_s'] / 3600:.2f} | {v['metric']:.3f} | {v['moment_error']:.3f} | "
                     f"{v['shape_error']:.3f} | {100 * v['sampling_fraction']:.3f} % |" + extra)
    return lines


def _losses(cfg: dict) -> str:
    precision = "bf16 autocast" if cfg.get("bf16", True) else "fp32"
    if cfg.get("adversarial", True):
        return (f"6 BCE + 0.2 AUX + 0.1 ECAL, label smoothing 0.9 / 0.1, batch {cfg['batch_size']}, {precision}, "
                "real and fake in one discriminator batch")
    return (f"{cfg['w_shape']:g} x shape loss (docs/training.md) + 0.1 ECAL, generator steps only (no "
            f"discriminator), batch {cfg['batch_size']}, {precision}")


def _rates(cfg: dict) -> str:
    """The run's optimiser settings and deviations from the paper, as the card states them."""
    parts = []
    if cfg.get("w_shape") and cfg.get("adversarial", True):
        parts.append(f"plus {cfg['w_shape']:g} x the shape loss (docs/training.md)")
    if cfg.get("ema_decay"):
        parts.append(f"exponential moving average of the generator's weights (decay {cfg['ema_decay']:g}) validated "
                     "and shipped")
    parts.append(f"Adam {cfg['lr_g']:g} (G) / {cfg['lr_d']:g} (D) (paper 5e-4 / 1e-4; the last command's rates)")
    if cfg.get("d_warmup"):
        parts.append(f"first {cfg['d_warmup']} steps discriminator only")
    if cfg.get("d_input_power", 1.0) != 1.0:
        parts.append(f"discriminator input (x + 0.01)^{cfg['d_input_power']:g} in 10 MeV units "
                     "(the paper: linear)")
    if cfg.get("precise_bn"):
        parts.append(f"BatchNorm statistics of validated and shipped weights re-estimated on "
                     f"{cfg['precise_bn']} showers")
    return "; ".join(parts)


def _selection(info: dict, state: dict) -> str:
    metric = f"3DGAN selection metric {info.get('selection_metric', float('nan')):.3f}"
    if info.get("selected_by") == "required_score":
        return f"the required-list score {info['required_score']:.3f} (its {metric})"
    return f"the {metric}"


def _demote(markdown: str) -> str:
    """An earlier run's record, its headings one level down, as a section of the card."""
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.strip().splitlines())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--ship", action="store_true")
    ap.add_argument("-r", "--reference", type=Path, action="append", default=None)
    ap.add_argument("--previous", type=Path, default=None,
                    help="Weights of the model being replaced: its required-list values go beside the new ones.")
    ap.add_argument("--note", action="append", default=[], help="A line of training history for the card.")
    ap.add_argument("--history", type=Path, action="append", default=[],
                    help="Markdown record of an earlier run this one continues, appended to the card.")
    args = ap.parse_args()
    weights = args.run / "best_generator.safetensors"
    if args.ship:
        target = ROOT / "src/caloquant/resources" / DEFAULT_WEIGHTS
        shutil.copyfile(weights, target)
        weights = target
    refs = [geant4_check_sample(), *(args.reference or [])]
    result = check_generator(weights, refs, oversample=1, seed=1)
    write_json_atomic(ROOT / "docs/results/compare-gan.json", result)
    write_text_atomic(ROOT / "docs/results/compare-gan.md", render_markdown(result))
    required = check_required(weights, refs, seed=1)
    previous = check_required(args.previous, refs, seed=1) if args.previous else None
    write_json_atomic(ROOT / "docs/results/gan-required.json", {**required, "previous": previous})
    card_dir = ROOT / "docs/results/model-card"
    card_dir.mkdir(parents=True, exist_ok=True)
    first = required["references"][0]
    plot_mean_images(first["mean_images"], card_dir, "GAN", f"Geant4 ({first['name']})")
    info = read_metadata(weights)["info"]
    state = json.loads((args.run / "state.json").read_text())
    lines = [
        "# Model card: caloquant 3DGAN (paper Conv2D architecture), shipped default",
        "",
        f"- Weights: `src/caloquant/resources/{DEFAULT_WEIGHTS}` (fp32 safetensors, BatchNorm statistics "
        f"included), SHA-256 `{file_sha256(weights)}`.",
        "- Architecture: Rehm et al. (arXiv 2103.10142) Conv2D generator, 2 053 446 trainable parameters "
        "(2 055 324 with BatchNorm statistics), 1.16 GMAC per shower; input z = (Ep / 100 GeV) * n, "
        "n ~ N(0, 1)^200; output (25, 25, 25) GeV, cells below 1e-6 GeV set to 0.",
        f"- Training data: {info.get('data')}; primary energies {info.get('energy_range_gev')} GeV.",
        f"- Recipe of this run: {_losses(state['train_config'])}; {_rates(state['train_config'])}; ECAL target "
        f"coefficients {state['ecal_coeffs']}.",
        f"- Shipped checkpoint: step {info.get('step')} of `{args.run}` ({info.get('samples_seen')} showers seen in "
        f"that run), selected by {_selection(info, state)} on the first "
        f"{state.get('validation_showers', 2000)} Geant4 showers of geant4_electrons_100-500GeV.h5 (fixed, "
        "disjoint from the training data).",
        f"- Wall time of this run: {state['wall_seconds'] / 3600:.2f} h of training on 2 CPU cores "
        f"(run at step {state['step']}).",
        *[f"- {n}" for n in args.note],
        "",
        f"## Training progress of `{args.run}` (validation every {state['train_config']['val_every']} steps)",
        "",
        *_training_table(args.run),
        "",
        "## The required list (GAN issue), per 100 GeV bin",
        "",
        "No artefacts: at least 99 % of the cells whose mean Geant4 energy exceeds 1e-4 GeV hold a mean GAN "
        "energy within a factor 2, and cells where Geant4's mean is below 1e-5 GeV hold at most twice its energy; "
        "z mean within 3 %, y and z std within 10 %, containment within 10 %, sampling fraction within 3 %, "
        "longitudinal profile within 30 % in layers holding more than 1 % of the energy. Plain differences, "
        "no statistical allowance (`caloquant.physics.gan_requirements`).",
        "",
        render_required_markdown(required, previous),
        f"Mean images per bin against `{first['name']}` (GAN, Geant4, ratio): "
        "[mean_image.png](results/model-card/mean_image.png)",
        "",
        "![mean images per bin](results/model-card/mean_image.png)",
        "",
        "## Against Geant4 (goals: Table 3 means 1 %, stds 5 %, sampling fraction 3 %, longitudinal profile 15 %)",
        "",
        f"`caloquant compare-gan` with tolerances {GAN_TOLERANCES}, k = 4; the GAN is run at each Geant4 "
        "file's own energies, one shower per Geant4 shower.",
        "",
        render_markdown(result),
        *[f"\n{_demote(h.read_text())}" for h in args.history],
    ]
    write_text_atomic(ROOT / "docs/model_card.md", "\n".join(lines) + "\n")
    print(f"wrote docs/model_card.md ({'shipped ' + str(weights) if args.ship else 'not shipped'})")


if __name__ == "__main__":
    main()
