"""The one-command demo on shipped defaults; later stages (GAN, precision, report) plug in here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant.errors import OutputError

__all__ = ["run_demo"]


def run_demo(out: str | os.PathLike[str], *, count: int = 2000, seed: int = 1,
             log: Callable[[Any], None] = print) -> Path:
    """Simulate showers, check the simulator against the shipped Geant4 sample, write a summary."""
    from caloquant._atomic import write_json_atomic, write_text_atomic
    from caloquant.data import ShowerWriter
    from caloquant.physics.acceptance import check_simulator, render_markdown, render_table
    from caloquant.resources import geant4_check_sample
    from caloquant.simulator import default_simulator, draw_energies

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc.strerror}") from None
    t0 = time.perf_counter()
    sim = default_simulator()
    ep = draw_energies(seed, count, 100.0, 500.0)
    with ShowerWriter(out / "simulated_showers.h5", attrs={"generator": "caloquant parametric simulator",
                                                           "seed": seed}) as writer:
        for ecal, e in sim.iter_showers(ep, seed):
            writer.append(ecal, e)
    log(f"[1/2] simulated {count} showers -> {out / 'simulated_showers.h5'} ({time.perf_counter() - t0:.1f} s)")
    result = check_simulator([geant4_check_sample()], seed=seed)
    write_json_atomic(out / "compare-sim.json", result)
    write_text_atomic(out / "compare-sim.md", render_markdown(result))
    for table in render_table(result):
        log(table)
    verdict = "compatible" if result["references"][0]["compatible"] else "INCOMPATIBLE"
    log(f"[2/2] simulator vs shipped Geant4 sample: {verdict} ({time.perf_counter() - t0:.1f} s)")
    return out
