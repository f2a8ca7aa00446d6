"""The report as one call: every result JSON under a folder into report.html and report.md."""

from __future__ import annotations

import os
from pathlib import Path

from caloquant.errors import DataFormatError

__all__ = ["report"]


def report(source: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *,
           title: str | None = None) -> tuple[Path, Path]:
    """Collect the compare, validate and bench results under ``source``; write the report into ``out``
    (default: ``source``); returns the HTML and Markdown paths."""
    from caloquant.report.builder import build_report, discover_inputs

    source = Path(source)
    if not source.is_dir():
        raise DataFormatError(f"{source}: not a directory (the report reads the results under a folder)")
    target = Path(out) if out is not None else source
    if title:
        return build_report(discover_inputs(source), target, title=title)
    return build_report(discover_inputs(source), target)
