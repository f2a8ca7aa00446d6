"""The engine registry: for each engine, the precisions it runs, how a recipe becomes its model files, and
how a model directory becomes a runnable Engine. A new engine is one module and one `register_engine`
call (docs/architecture.md shows the smallest one); nothing else lists engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caloquant.engines.base import Engine
from caloquant.errors import InputValueError

__all__ = ["EngineEntry", "QuantizeHandler", "check_supported", "engine_entry", "engine_names", "register_engine"]

# (float model, recipe, output directory) -> what caloquant.json records: "files" (written into the
# directory), "layer_precisions", and anything the engine's tool reports (calibration details)
QuantizeHandler = Callable[[Any, Any, Path], dict[str, Any]]
# (model directory, its caloquant.json, threads, streams) -> an Engine
Loader = Callable[[Path, dict[str, Any], int, int], Engine]


@dataclass(frozen=True)
class EngineEntry:
    name: str
    precisions: tuple[str, ...]
    quantize: QuantizeHandler
    load: Loader
    description: str = ""


_ENGINES: dict[str, EngineEntry] = {}


def register_engine(entry: EngineEntry) -> EngineEntry:
    """Add (or replace) an engine; returns the entry so a module can keep it."""
    _ENGINES[entry.name] = entry
    return entry


def _registered() -> dict[str, EngineEntry]:
    import caloquant.precision.backends  # noqa: F401  (registers the built-in engines once)

    return _ENGINES


def engine_names() -> tuple[str, ...]:
    return tuple(_registered())


def engine_entry(name: str) -> EngineEntry:
    engines = _registered()
    if name not in engines:
        raise InputValueError(f"engine {name!r}: expected one of {', '.join(engines)}")
    return engines[name]


def check_supported(engine: str, precision: str) -> EngineEntry:
    """The engine's entry, or a one-line refusal naming the engines that run ``precision``."""
    entry = engine_entry(engine)
    if precision not in entry.precisions:
        able = [e.name for e in _registered().values() if precision in e.precisions]
        raise InputValueError(f"precision {precision} is not available in {engine}; engines that run it: "
                              f"{', '.join(able) or 'none'}")
    return entry
