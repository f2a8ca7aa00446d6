"""`caloquant report`: the HTML + Markdown report from result JSONs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors

__all__ = ["register"]


@handle_errors
def report(
    source: Annotated[Path, typer.Option("--from", help="Directory holding results (e.g. a demo output).")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Where to write report.html/.md (default: --from).")]
    = None,
) -> None:
    """Collect compare, validate and bench results under a directory into report.html and report.md."""
    from caloquant.errors import DataFormatError
    from caloquant.report.builder import build_report, discover_inputs

    if not source.is_dir():
        raise DataFormatError(f"--from {source}: not a directory")
    inputs = discover_inputs(source)
    html_path, md_path = build_report(inputs, out or source)
    console.print(f"wrote {html_path} and {md_path}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
