"""`simulate` and `fit-sim`: the reference simulator from the command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import (
    CountOpt,
    EnergyOpt,
    OutFileOpt,
    SeedOpt,
    ThreadsOpt,
    console,
    handle_errors,
    parse_energy_range,
    progress_bar,
    require_positive,
)
from caloquant.errors import InputValueError

__all__ = ["register"]


@handle_errors
def simulate(
    out: OutFileOpt,
    count: CountOpt = 10000,
    energy: EnergyOpt = "100:500",
    seed: SeedOpt = 1,
    threads: ThreadsOpt = 2,
    fmt: Annotated[str, typer.Option("--format", help="3dgan or calochallenge.")] = "3dgan",
    params_file: Annotated[Path | None, typer.Option("--params", help="Fitted parameter JSON.")] = None,
    particle: Annotated[str, typer.Option(help="e- or gamma (each with its own fit).")] = "e-",
) -> None:
    """Simulate electron or photon showers with the Geant4-calibrated parametric simulator."""
    from caloquant.workflows.simulation import simulate_to_file

    require_positive(count, "--count")
    require_positive(threads, "--threads")
    lo, hi = parse_energy_range(energy)
    if fmt not in ("3dgan", "calochallenge"):
        raise InputValueError(f"--format {fmt!r}: expected 3dgan or calochallenge")
    t0 = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("simulating", total=count, rate="")
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            bar.update(task, advance=n, rate=f"{done / (time.perf_counter() - t0):.0f} showers/s")

        simulate_to_file(out, count=count, energy=(lo, hi), seed=seed, threads=threads, fmt=fmt,  # type: ignore[arg-type]
                         params=params_file, particle=particle, on_batch=on_batch)
    console.print(f"wrote {count} showers to {out} in {time.perf_counter() - t0:.1f} s")


@handle_errors
def fit_sim(
    geant4: Annotated[str, typer.Argument(help="Geant4 showers to fit on (3DGAN HDF5); FILE[START:STOP] "
                                                "takes a slice, so the rest can check the fit.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the fitted parameter JSON.")],
    seed: Annotated[int, typer.Option(help="Seed of the common random numbers.")] = 12345,
    particle: Annotated[str, typer.Option(help="The particle of the Geant4 showers: e- or gamma.")] = "e-",
    profile_from: Annotated[Path | None, typer.Option(
        "--profile-from", help="Keep this fit's profile stages and fit only the per-event fluctuations (how the "
                               "shipped fits are made: --profile-from the shipped file).")] = None,
) -> None:
    """Fit the simulator's parameters to Geant4 showers (the shipped ones come from this command)."""
    from caloquant.data.slices import parse_file_slice
    from caloquant.simulator.fit import fit_simulator, load_targets, refit_fluctuations
    from caloquant.simulator.params import check_particle, load_params

    check_particle(particle)  # before minutes of reading
    profile = None if profile_from is None else load_params(profile_from, particle)
    path, start, stop = parse_file_slice(geant4)
    if not path.is_file():
        raise InputValueError(f"{path}: no such file")
    t0 = time.perf_counter()
    with console.status("reading Geant4 showers"):
        targets = load_targets(path, start=start or 0, limit=None if stop is None else stop - (start or 0))

    def say(msg: str) -> None:
        console.print(f"[{time.perf_counter() - t0:6.1f} s] fitting {msg}")

    params = (fit_simulator(targets, seed=seed, particle=particle, progress=say) if profile is None
              else refit_fluctuations(targets, profile, seed=seed, particle=particle, progress=say))
    params.save(out)
    console.print(f"wrote {out} ({len(targets.features)} showers, {time.perf_counter() - t0:.0f} s)")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.command("fit-sim")(fit_sim)

