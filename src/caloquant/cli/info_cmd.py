"""`caloquant info FILE`: what a shower file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def info(
    path: Annotated[Path, typer.Argument(help="A 3DGAN or CaloChallenge HDF5 file.")],
    binning: Annotated[Path | None, typer.Option(help="CaloChallenge binning XML (for foreign layouts).")] = None,
    particle: Annotated[str | None, typer.Option(help="Particle block of the binning XML.")] = None,
) -> None:
    """Print count, energy range, total-energy summary and layout of a shower file."""
    from caloquant.data import CaloChallengeBinning, open_showers
    from caloquant.data.calochallenge import CaloChallengeSource

    src = open_showers(path)
    ep = src.energies()
    totals: list[np.ndarray] = []
    layer_sums = None
    with console.status(f"reading {src.n_showers} showers"):
        if isinstance(src, CaloChallengeSource) and not src.is_caloquant_layout:
            xml = CaloChallengeBinning.from_xml(binning, particle) if binning else None
            if xml is None:
                console.print("[yellow]foreign CaloChallenge layout: give --binning to sum energy per layer[/]")
            else:
                parts = list(src.iter_layer_energies(xml))
                layer_sums = np.concatenate([p for p, _ in parts])
                totals = [layer_sums.sum(axis=1)]
        else:
            hits = 0
            for ecal, _ in src.iter_chunks():
                totals.append(ecal.sum(axis=(1, 2, 3), dtype=np.float64))
                hits += np.count_nonzero(ecal)
    t = Table(title=str(path), show_header=False)
    t.add_column(style="bold")
    t.add_column()
    for key, value in src.describe().items():
        if value is not None:
            t.add_row(key, str(value))
    t.add_row("showers", f"{src.n_showers}")
    t.add_row("primary energy", f"{ep.min():.4g} to {ep.max():.4g} GeV (mean {ep.mean():.4g})")
    if totals:
        tot = np.concatenate(totals)
        sf = tot / ep
        q25, q50, q75 = np.percentile(sf, [25, 50, 75])
        t.add_row("total deposited", f"mean {tot.mean():.4g} GeV, min {tot.min():.4g}, max {tot.max():.4g}")
        spread = (q75 - q25) / 1.349 / q50
        t.add_row("sum / Ep", f"mean {sf.mean():.4%}, median {q50:.4%}, IQR/1.349/median {spread:.2%}")
    if layer_sums is not None:
        frac = layer_sums.mean(axis=0) / layer_sums.mean(axis=0).sum()
        t.add_row("layers", f"{layer_sums.shape[1]}; energy fraction per layer: "
                  + " ".join(f"{f:.3f}" for f in frac))
    elif totals:
        t.add_row("non-zero cells", f"{hits / (src.n_showers * 15625):.2%}")
    for key, value in getattr(src, "attrs", {}).items():
        t.add_row(f"attr {key}", str(value))
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
