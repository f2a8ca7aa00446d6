"""`caloquant trigger ...`: the electron/photon trigger model (features, float training, evaluation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors, require_positive

__all__ = ["register"]

trigger_app = typer.Typer(help="The trigger model: electron vs photon and primary energy from one shower.",
                          no_args_is_help=True)


@trigger_app.command("features")
@handle_errors
def features_cmd(
    electrons: Annotated[Path, typer.Option(help="Geant4 electron showers (3DGAN HDF5).")],
    photons: Annotated[Path, typer.Option(help="Geant4 photon showers (3DGAN HDF5).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Feature file (HDF5).")],
    per_class: Annotated[int, typer.Option(help="Showers per particle (the first ones of each file).")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the fixed train/validation/test split.")] = 2026,
) -> None:
    """Reduce Geant4 showers to trigger features with fixed, disjoint, stratified 60/20/20 splits."""
    from caloquant.edge.data import SPLITS, build_dataset, save_dataset

    require_positive(per_class, "--per-class")
    data = build_dataset(electrons, photons, per_class=per_class, seed=seed)
    save_dataset(out, data, attrs={"electrons": electrons.name, "photons": photons.name, "split_seed": seed})
    counts = ", ".join(f"{s} {int((data.split == i).sum())}" for i, s in enumerate(SPLITS))
    console.print(f"wrote {out}: {len(data)} showers ({counts}), {data.x.shape[1]} features")


@trigger_app.command("train")
@handle_errors
def train_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
    features: Annotated[Path | None, typer.Option(help="Feature file (default: the shipped one).")] = None,
    seed: Annotated[int, typer.Option()] = 1,
    epochs: Annotated[int, typer.Option()] = 100,
) -> None:
    """Train the float trigger MLP; writes trigger.safetensors and metrics.json (test split)."""
    from caloquant._atomic import staged_folder, write_json_atomic
    from caloquant.edge.data import load_dataset
    from caloquant.edge.features import feature_cost
    from caloquant.edge.train import evaluate, save_trigger, train_trigger
    from caloquant.metadata import metadata
    from caloquant.resources import trigger_features_file

    require_positive(epochs, "--epochs")
    path = features or trigger_features_file()
    data = load_dataset(path)
    model, info = train_trigger(data, seed=seed, epochs=epochs)
    test = evaluate(model, data.part("test"))
    with staged_folder(out) as work:
        save_trigger(work / "trigger.safetensors", model, {"features": str(path), "seed": seed, **info,
                                                            "test": test})
        write_json_atomic(work / "metrics.json", metadata(seed=seed, extra={
            "kind": "trigger float", "features": str(path), "parameters": model.n_parameters(), "training": info,
            "test": test, "feature_cost": feature_cost()}))
    console.print(f"{out}: {model.n_parameters()} parameters; test AUC {test['auc']:.3f} +- {test['auc_se']:.3f}, "
                  f"energy resolution {100 * test['resolution']:.2f} +- {100 * test['resolution_se']:.2f} %")


def register(app: typer.Typer) -> None:
    app.add_typer(trigger_app, name="trigger")
