"""Option parsing, error handling and progress bars shared by all subcommands."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from caloquant.errors import CaloquantError, InputValueError

__all__ = ["console", "err_console", "handle_errors", "parse_energy_range", "progress_bar", "require_positive"]

# The option names every subcommand shares (CONVENTIONS, "Command line").
CountOpt = Annotated[int, typer.Option("-n", "--count", help="Number of showers.")]
EnergyOpt = Annotated[str, typer.Option("--energy", help="Primary energy range LO:HI in GeV (uniform).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of energies and latents (generator contract).")]
ThreadsOpt = Annotated[int, typer.Option("--threads", help="Threads.")]
OutFileOpt = Annotated[Path, typer.Option("-o", "--out", help="Output file.")]

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's kill, `timeout`), raised like Ctrl-C so that every output transaction
    (`caloquant._atomic`) cleans up: Python's default SIGTERM ends the process with no cleanup at all."""


_interrupted: type[KeyboardInterrupt] | None = None


def _on_signal(signum: int, frame: Any) -> None:
    """Remember the signal as well as raising it: a KeyboardInterrupt that lands inside a finalizer or a
    weakref callback (h5py closes objects that way) is printed as "Exception ignored" and lost, and the
    command would run on; the next progress update raises it again from the flag."""
    global _interrupted
    _interrupted = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    raise _interrupted


# parameters that name what a command writes; every other path parameter is an input it must not destroy
OUTPUT_PARAMETERS = ("out", "markdown")
# inputs a command is meant to write into: `report --from DIR` puts report.html beside the results it reads
WRITES_INTO = ("source",)


def _check_outputs(kwargs: dict[str, Any]) -> None:
    from caloquant._atomic import check_writable, refuse_output_over_input

    outputs = {k: v for k, v in kwargs.items() if k in OUTPUT_PARAMETERS}
    for name, value in outputs.items():
        if isinstance(value, str | os.PathLike):
            check_writable(name, value)
    inputs = {k: v for k, v in kwargs.items() if k not in OUTPUT_PARAMETERS and k not in WRITES_INTO}
    refuse_output_over_input(outputs, inputs)


def handle_errors(func: F) -> F:
    """Turn caloquant errors into one line on stderr and the CONVENTIONS exit code; Ctrl-C exits 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _interrupted
        _interrupted = None
        # only Python's own handlers are replaced: an ignored SIGINT (background jobs) stays ignored, and
        # handlers can only be set from the main thread
        replaced: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
                if signal.getsignal(sig) is default:
                    replaced[sig] = signal.signal(sig, _on_signal)
        try:
            _check_outputs(kwargs)
            return func(*args, **kwargs)
        except CaloquantError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            what, code = ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
            err_console.print(f"{what}: no partial output was left behind")
            sys.exit(code)
        finally:
            for sig, handler in replaced.items():
                signal.signal(sig, handler)

    return wrapper  # type: ignore[return-value]


def parse_energy_range(text: str, option: str = "--energy") -> tuple[float, float]:
    """'LO:HI' in GeV -> (lo, hi), with lo < hi and both positive."""
    try:
        lo_s, hi_s = text.split(":")
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        raise InputValueError(f"{option} {text!r}: expected LO:HI in GeV, e.g. 100:500") from None
    if not (0 < lo < hi) or hi != hi:
        raise InputValueError(f"{option} {text!r}: need 0 < LO < HI")
    return lo, hi


def require_positive(value: int, option: str) -> int:
    from caloquant.errors import require_positive as check

    check(**{option: value})
    return value


class _InterruptibleProgress(Progress):
    """A progress bar whose updates re-raise a Ctrl-C that was swallowed elsewhere (see _on_signal), and
    which leaves no line behind when the command fails: the error is then the one line on stderr."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            super().__exit__(exc_type, exc, tb)
            return
        self.live.transient = True
        self.live.stop()  # Progress.stop would print an empty line when stderr is not a terminal

    def update(self, *args: Any, **kwargs: Any) -> None:
        if _interrupted:
            raise _interrupted
        super().update(*args, **kwargs)

    def advance(self, *args: Any, **kwargs: Any) -> None:
        if _interrupted:
            raise _interrupted
        super().advance(*args, **kwargs)


def progress_bar(transient: bool = False) -> Progress:
    return _InterruptibleProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )
