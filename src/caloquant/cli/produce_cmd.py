"""`caloquant produce`: sharded, resumable, exactly-once shower production on Dask."""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import (
    CountOpt,
    EnergyOpt,
    SeedOpt,
    console,
    err_console,
    handle_errors,
    parse_energy_range,
    progress_bar,
    require_positive,
)

__all__ = ["register"]


@handle_errors
def produce_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder (shards + manifest.json).")],
    count: CountOpt = 100000,
    energy: EnergyOpt = "100:500",
    seed: SeedOpt = 1,
    shard_size: Annotated[int, typer.Option(help="Showers per shard (the unit of work and of retry).")] = 10000,
    model: Annotated[Path | None, typer.Option(help="Model directory, weights file or user .onnx (default: "
                                                     "shipped). Must be on a filesystem every worker sees.")] = None,
    spec: Annotated[Path | None, typer.Option(help="Spec file of a user ONNX --model.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    scheduler_file: Annotated[Path | None, typer.Option(help="Dask scheduler file (dask-jobqueue, "
                                                              "dask-scheduler --scheduler-file).")] = None,
    workers: Annotated[int | None, typer.Option(help="Local cluster only: worker processes (default: cores).")]
    = None,
    threads: Annotated[int, typer.Option(help="Threads per shard (fixed so results do not depend on the "
                                              "worker layout).")] = 1,
    batch_size: Annotated[int, typer.Option(help="Showers per inference batch.")] = 128,
    overwrite: Annotated[bool, typer.Option(help="Replace a different production already in --out.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Check the inputs and the output folder, plan the shards and "
                                               "print the plan; no cluster, nothing written.")] = False,
) -> None:
    """Generate COUNT showers as shards on a Dask cluster (local by default); rerun to resume."""
    from caloquant.errors import InputValueError
    from caloquant.precision.identity import check_trained_range, model_identity
    from caloquant.production.plan import ProductionParams
    from caloquant.production.run import plan_production, produce

    lo, hi = parse_energy_range(energy)
    if workers is not None:
        require_positive(workers, "--workers")
    if workers is not None and (scheduler or scheduler_file):
        raise InputValueError("--workers sizes the local cluster; with --scheduler the cluster decides")
    digest, trained = model_identity(model, spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_trained_range(lo, hi, trained, strict=False)
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}")
    params = ProductionParams(model=str(model.resolve()) if model else "shipped default", model_sha256=digest,
                              count=count, energy=(lo, hi), seed=seed, shard_size=shard_size,
                              threads=threads, batch_size=batch_size, spec=str(spec.resolve()) if spec else None)
    if dry_run:
        plan = plan_production(params, out, overwrite=overwrite)
        first, last = plan["first"], plan["last"]
        console.print(f"{out}: {count} showers in {plan['n_shards']} shards of up to {shard_size}, planned in "
                      f"{plan['plan_seconds']:.3f} s; shard 0 seed {first['seed']}, shard {last['index']} seed "
                      f"{last['seed']} ({last['count']} showers); {plan['shards_already_done']} shards already done"
                      + ("; replaces the production there" if plan["replaces_another_production"] else "")
                      + "; nothing written (dry run)")
        return
    t0 = time.perf_counter()
    bar = progress_bar()
    with contextlib.ExitStack() as stack:

        def on_start(link: str | None, n_workers: int) -> None:
            err_console.print(f"{n_workers} workers; dashboard: {link or 'not available'}")
            stack.enter_context(bar)  # the bar appears once the cluster is reached
            bar.add_task("producing", total=count, rate="")

        def on_shard(rec: dict) -> None:
            bar.update(bar.task_ids[0], advance=rec["count"], rate="(verified)" if rec["reused"] else
                       f"{bar.tasks[0].completed / (time.perf_counter() - t0):.0f} showers/s")

        manifest = produce(params, out, scheduler=scheduler, scheduler_file=scheduler_file, workers=workers,
                           overwrite=overwrite, on_start=on_start, on_shard=on_shard)
    run = manifest["run"]
    if manifest["failed"]:
        for f in manifest["failed"]:
            err_console.print(f"[bold red]shard {f['index']} failed:[/] {f['error']}", soft_wrap=True)
        console.print(f"{len(manifest['failed'])} of {manifest['n_shards']} shards failed; rerun the command to "
                      f"retry them ({out / 'manifest.json'})")
        raise typer.Exit(1)
    rate = f"{run['showers_per_s']:.0f} showers/s" if run["showers_generated"] else "nothing to redo"
    console.print(f"{out}: {count} showers in {manifest['n_shards']} shards, complete and verified; generated "
                  f"{run['showers_generated']} in {run['wall_s']:.1f} s ({rate})")


def register(app: typer.Typer) -> None:
    app.command("produce")(produce_cmd)
