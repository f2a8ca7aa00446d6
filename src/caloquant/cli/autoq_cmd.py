"""`caloquant autoq`: per-layer heterogeneous quantization search with a BOPs budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def autoq_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory.")],
    target: Annotated[str, typer.Option(help="trigger (the electron/photon trigger MLP).")] = "trigger",
    budget: Annotated[float | None, typer.Option(help="BOPs budget (default: float32 BOPs / 50).")] = None,
    time_budget: Annotated[float, typer.Option(help="Seconds per strategy and seed.")] = 120.0,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "1,2,3",
    strategy: Annotated[str, typer.Option(help="Comma-separated: random, gradient, hgq2 (the HGQ2 peer).")]
    = "random,gradient,hgq2",
    qat_epochs: Annotated[int, typer.Option(help="QAT epochs per candidate.")] = 15,
) -> None:
    """Search per-layer bit widths (weights, biases, activations, pruning) with QAT; writes the Pareto front,
    the chosen model (QONNX + weights) and autoq.json. Exit 1 if nothing meets the budget (closest saved)."""
    from caloquant.edge.autoq import run_autoq
    from caloquant.errors import InputValueError

    if target != "trigger":
        raise InputValueError(f"--target {target!r}: this version searches 'trigger' (the generator search is not "
                              "in this release)")
    try:
        seed_list = tuple(int(s) for s in seeds.split(",") if s.strip())
    except ValueError:
        raise InputValueError(f"--seeds {seeds!r}: expected comma-separated integers") from None
    strategies = tuple(s.strip() for s in strategy.split(",") if s.strip())

    def show(t) -> None:
        console.print(f"{t.strategy:8s} seed {t.seed}: {t.bops:9.0f} BOPs, score {t.score:.2f} "
                      f"{'pass' if t.passed else 'fail'} ({t.seconds:.1f} s)")

    r = run_autoq(out, bops_budget=budget, time_budget_s=time_budget, seeds=seed_list, strategies=strategies,
                  qat_epochs=qat_epochs, on_trial=show)
    c = r["chosen"]
    test = c["test"]
    console.print(f"chosen ({c['strategy']}, seed {c['seed']}): {test['bops']:.0f} BOPs, "
                  f"{c['bops_reduction_vs_float32']:.0f}x fewer than float32, {c['bops_reduction_vs_fixed16']:.1f}x "
                  f"fewer than 16-bit; test: AUC diff {test['auc_diff']:+.4f} (allowed {test['auc_allowed']:.4f}), "
                  f"resolution diff {test['resolution_diff']:+.4f} (allowed {test['resolution_allowed']:.4f}) "
                  f"-> {out / 'autoq.json'}")
    if not r["met_budget"]:
        console.print(f"[bold red]no candidate passed within {r['bops_budget']:.0f} BOPs[/]; saved the closest")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("autoq")(autoq_cmd)
