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
    target: Annotated[str, typer.Option(help="trigger (the electron/photon trigger MLP) or generator "
                                        "(the 3DGAN, fake-quantized, physics rule).")] = "trigger",
    budget: Annotated[float | None, typer.Option(help="BOPs budget (default: float32 BOPs / 50).")] = None,
    time_budget: Annotated[float | None, typer.Option(help="Seconds per strategy and seed (trigger, default 120) "
                                                      "or for the whole search (generator, default 900).")] = None,
    model: Annotated[str | None, typer.Option(help="Generator weights for --target generator (default: the "
                                              "shipped model).")] = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "1,2,3",
    strategy: Annotated[str, typer.Option(help="Comma-separated: random, gradient, hgq2 (the HGQ2 peer).")]
    = "random,gradient,hgq2",
    qat_epochs: Annotated[int, typer.Option(help="QAT epochs per candidate.")] = 15,
    final_epochs: Annotated[int, typer.Option(help="QAT epochs when the cheapest passing candidates are trained "
                                              "again and re-judged before the choice.")] = 45,
    margin: Annotated[float, typer.Option(help="Largest validation score (|diff| / allowed) of the chosen model; "
                                          "below 1 leaves room for the test split.")] = 0.7,
    hls4ml: Annotated[bool | None, typer.Option("--hls4ml/--no-hls4ml", help="hls4ml project of the chosen model "
                                                "and its C simulation checked on every test shower (default: on "
                                                "for the trigger; the generator cannot go through hls4ml).")] = None,
) -> None:
    """Search per-layer bit widths (weights, biases, activations, pruning) with QAT; writes the Pareto front,
    the chosen model (QONNX + weights) and autoq.json. Exit 1 if nothing meets the budget (closest saved)."""
    from caloquant.edge.autoq import autoq_failure, run_autoq
    from caloquant.errors import InputValueError

    if target not in ("trigger", "generator"):
        raise InputValueError(f"--target {target!r}: expected trigger or generator")
    if target == "generator":
        _generator(out, model, budget, time_budget, hls4ml)
        return
    if model is not None:
        raise InputValueError("--model applies to --target generator (the trigger search uses the shipped MLP)")
    try:
        seed_list = tuple(int(s) for s in seeds.split(",") if s.strip())
    except ValueError:
        raise InputValueError(f"--seeds {seeds!r}: expected comma-separated integers") from None
    strategies = tuple(s.strip() for s in strategy.split(",") if s.strip())

    def show(t) -> None:
        console.print(f"{t.strategy:8s} seed {t.seed}: {t.bops:9.0f} BOPs, score {t.score:.2f} "
                      f"{'pass' if t.passed else 'fail'} ({t.seconds:.1f} s)")

    r = run_autoq(out, bops_budget=budget, time_budget_s=120.0 if time_budget is None else time_budget,
                  seeds=seed_list, strategies=strategies, qat_epochs=qat_epochs, final_epochs=final_epochs,
                  margin=margin, hls=hls4ml is not False, on_trial=show)
    c = r["chosen"]
    test = c["test"]
    console.print(f"chosen ({c['strategy']}, seed {c['seed']}): {test['bops']:.0f} BOPs, "
                  f"{c['bops_reduction_vs_float32']:.0f}x fewer than float32, {c['bops_reduction_vs_fixed16']:.1f}x "
                  f"fewer than 16-bit; test: AUC diff {test['auc_diff']:+.4f} (allowed {test['auc_allowed']:.4f}), "
                  f"resolution diff {test['resolution_diff']:+.4f} (allowed {test['resolution_allowed']:.4f}) "
                  f"-> {out / 'autoq.json'}")
    for row in r["strategies"]:
        console.print(f"  {row['strategy']:8s} {row['trials']:3d} trials, {row['seconds_per_trial'] or 0:.1f} s/trial, "
                      f"{row['seeds_meeting_budget']}/{row['seeds']} seeds met the budget, cheapest passing per seed "
                      f"{row['best_bops_per_seed']}")
    fw = r["hls4ml"]
    if fw:
        c = fw["csim"]
        console.print(f"hls4ml C simulation: {c['events_bit_exact']}/{c['n_events']} test showers bit-exact "
                      f"(max {c['max_diff_lsb']:g} LSB); estimated latency {fw['estimates']['latency_cycles']} "
                      f"cycles at {fw['estimates']['clock_ns']:g} ns -> {fw['project']}")
    failure = autoq_failure(r)
    if failure:
        console.print(f"[bold red]{failure}[/]")
        raise typer.Exit(1)


def _generator(out: Path, model: str | None, budget: float | None, time_budget: float | None,
               hls4ml: bool | None) -> None:
    from caloquant.edge.autoq import autoq_failure, run_autoq_generator

    def show(t) -> None:
        console.print(f"proxy budget {t.proxy_budget:.2e}: {t.bops:.3g} BOPs, score {t.score:.2f} "
                      f"{'pass' if t.passed else 'fail, worst ' + t.worst} ({t.seconds:.0f} s)")

    r = run_autoq_generator(out, model=model, bops_budget=budget, hls=bool(hls4ml),
                            time_budget_s=900.0 if time_budget is None else time_budget, on_trial=show,
                            log=lambda m: console.print(f"[dim]{m}[/]"))
    c = r["chosen"]
    console.print(f"chosen: {c['bops']:.3g} BOPs per shower, {c['bops_reduction_vs_float32']:.1f}x fewer than "
                  f"float32, {c['bops_reduction_vs_fixed16']:.2f}x fewer than 16-bit fixed point; physics score "
                  f"{c['score']:.2f} ({'compatible' if c['passed'] else 'NOT compatible, worst ' + c['worst']}) "
                  f"-> {out / 'autoq.json'}")
    failure = autoq_failure(r)
    if failure:
        console.print(f"[bold red]{failure}[/]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("autoq")(autoq_cmd)
