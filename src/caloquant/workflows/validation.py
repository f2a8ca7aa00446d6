"""The validation workflow as one call: compute, plot, and write DIR without half-written files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from caloquant.errors import InputValueError

__all__ = ["parse_tolerances", "run_validation"]


def parse_tolerances(items: Sequence[str]) -> dict[str, float]:
    from caloquant.physics.validate import DEFAULT_TOLERANCES

    out = dict(DEFAULT_TOLERANCES)
    for item in items:
        name, _, value = item.partition("=")
        if name not in out:
            raise InputValueError(f"tolerance {item!r}: unknown name; known: {', '.join(sorted(out))}")
        try:
            out[name] = float(value)
        except ValueError:
            raise InputValueError(f"tolerance {item!r}: value is not a number") from None
        if out[name] < 0:
            raise InputValueError(f"tolerance {item!r}: must not be negative")
    return out


def run_validation(samples: str | os.PathLike[str], reference: str | os.PathLike[str], out: str | os.PathLike[str],
                   *, paired: bool = False, k: float = 4.0, tolerances: Sequence[str] = (), n_boot: int = 200,
                   voxel_classifier: bool = True, plots: bool = True, seed: int = 0,
                   progress: Callable[[str, int, int], None] | None = None) -> tuple[dict[str, Any], str]:
    """Validate and write DIR/metrics.json, DIR/summary.txt and figures; they land together (a staged folder)
    and only after every computation succeeded, so bad input or an interrupt leaves DIR as it was."""
    from caloquant._atomic import staged_folder, write_json_atomic, write_text_atomic
    from caloquant.physics.summary_text import summary_text
    from caloquant.physics.validate import ValidationConfig, validate

    if k <= 0:
        raise InputValueError(f"k {k}: must be positive")
    if n_boot < 10:
        raise InputValueError(f"n_boot {n_boot}: need at least 10 resamples")
    cfg = ValidationConfig(k=k, tolerances=parse_tolerances(tolerances), n_boot=n_boot, seed=seed, paired=paired,
                           voxel_classifier=voxel_classifier)
    metrics = validate(samples, reference, cfg, progress=progress)
    text = summary_text(metrics)
    with staged_folder(out) as work:
        if plots and metrics["quantities"]:
            from caloquant.report.validation_plots import plot_validation

            if progress:
                progress("plots", 0, 1)
            metrics["figures"] = [p.name for p in plot_validation(metrics, work)]
        write_json_atomic(work / "metrics.json", metrics)
        write_text_atomic(work / "summary.txt", text)
    return metrics, text
