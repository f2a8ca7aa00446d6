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
    from caloquant.workflows.reporting import report as write_report

    if not source.is_dir():
        raise DataFormatError(f"--from {source}: not a directory")
    html_path, md_path = write_report(source, out)
    console.print(f"wrote {html_path} and {md_path}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
