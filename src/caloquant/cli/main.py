"""Entry point of the `caloquant` program: subcommands are registered from their own modules."""

from __future__ import annotations

import typer

from caloquant import __version__
from caloquant.cli import (
    autoq_cmd,
    bench_cmds,
    compare_cmds,
    demo_cmd,
    info_cmd,
    model_cmds,
    produce_cmd,
    quantize_cmd,
    report_cmd,
    simulate_cmds,
    train_cmd,
    trigger_cmds,
    validate_cmd,
)

app = typer.Typer(
    name="caloquant",
    help="Reduced-precision fast calorimeter simulation, with the physics to prove it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"caloquant {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """caloquant: fast calorimeter showers at reduced precision, validated against Geant4."""


for module in (info_cmd, simulate_cmds, compare_cmds, validate_cmd, train_cmd, model_cmds, quantize_cmd, produce_cmd,
               bench_cmds, report_cmd, demo_cmd, trigger_cmds,
               autoq_cmd):
    module.register(app)

if __name__ == "__main__":
    app()
