"""`quantize`: a trained generator -> a model directory for one engine, by one recipe.

Dispatch is keyed by the recipe's type (torchao keys ``quantize_`` by config class): a float format or a
post-training int8 recipe goes to the engine's own quantizer (the engine registry), the physics-driven
tuner and NNCF's accuracy control to their searches. The directory holds the engine's files taking z and
``caloquant.json`` (recipe, per-layer precision map, calibration details, weight hashes, versions).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caloquant._atomic import staged_folder
from caloquant.errors import InputValueError
from caloquant.precision.modeldir import write_model_dir
from caloquant.precision.recipes import (
    AccuracyControlConfig,
    AutoConfig,
    BF16Config,
    FP16Config,
    FP32Config,
    Int8QATConfig,
    Int8StaticConfig,
    Recipe,
    ToolDefaultsConfig,
)
from caloquant.precision.registry import check_supported
from caloquant.precision.source import FloatModel, as_float_model

__all__ = ["quantize"]

Log = Callable[[str], None]
Progress = Callable[[int, int], None]  # (steps done, steps planned) of a fine-tuning
# (float model, recipe, engine name, output directory, log, progress) -> what caloquant.json records
Method = Callable[[FloatModel, Any, str, Path, Log | None, Progress | None], dict[str, Any]]


def _engine_quantizer(src: FloatModel, recipe: Recipe, engine: str, out: Path, log: Log | None,
                      progress: Progress | None) -> dict[str, Any]:
    return check_supported(engine, recipe.precision).quantize(src, recipe, out)


def _check(recipe: Recipe, engine: str) -> Method:
    """The recipe's method, after refusing a recipe or engine it cannot run (before any work)."""
    method = _METHODS.get(type(recipe))
    if method is None:
        raise InputValueError(f"recipe {type(recipe).__name__}: not a precision recipe; expected one of "
                              f"{', '.join(t.__name__ for t in _METHODS)}")
    if method is _engine_quantizer:
        check_supported(engine, recipe.precision)
    elif isinstance(recipe, AccuracyControlConfig) and engine == "inc-tf":
        check_supported(engine, recipe.precision)  # INC's autotune with our physics as its metric
    elif engine != "openvino":  # the searches and QAT build NNCF int8 models
        raise InputValueError(f"precision {recipe.precision} ({recipe.method}) runs on openvino, not {engine}")
    return method


def _auto(src: FloatModel, recipe: AutoConfig, engine: str, out: Path, log: Log | None,
          progress: Progress | None) -> dict[str, Any]:
    from caloquant.precision.tuner import quantize_auto

    return quantize_auto(src, recipe, out, log=log)


def _accuracy_control(src: FloatModel, recipe: AccuracyControlConfig, engine: str, out: Path,
                      log: Log | None, progress: Progress | None) -> dict[str, Any]:
    if engine == "inc-tf":
        from caloquant.precision.inc_autotune import autotune_inc_with_physics

        return autotune_inc_with_physics(src, recipe, out, log=log)
    from caloquant.precision.accuracy_control import quantize_with_physics_control

    return quantize_with_physics_control(src, recipe, out)


def _qat(src: FloatModel, recipe: Int8QATConfig, engine: str, out: Path, log: Log | None,
         progress: Progress | None) -> dict[str, Any]:
    from caloquant.precision.qat import quantize_qat

    return quantize_qat(src, recipe, out, log=log, progress=progress)


_METHODS: dict[type, Method] = {FP32Config: _engine_quantizer, BF16Config: _engine_quantizer,
                                FP16Config: _engine_quantizer, Int8StaticConfig: _engine_quantizer,
                                ToolDefaultsConfig: _engine_quantizer, AutoConfig: _auto,
                                AccuracyControlConfig: _accuracy_control, Int8QATConfig: _qat}


def quantize(generator: Any, recipe: Recipe, *, engine: str, out: str | os.PathLike[str],
             spec: str | os.PathLike[str] | None = None, source: dict[str, Any] | None = None,
             log: Log | None = None, progress: Progress | None = None) -> Path:
    """Write ``out`` for ``engine`` by ``recipe``; returns the directory. ``generator``: a torch generator, a
    wrapped user ONNX model or a FloatModel, or a path (None: the shipped generator; a weights file or run
    directory; a user .onnx with its ``spec``), whose provenance is then recorded; ``source``: the provenance
    of an object; ``log`` receives the searches' progress lines, ``progress`` a fine-tuning's steps."""
    method = _check(recipe, engine)  # before loading anything
    if generator is None or isinstance(generator, str | os.PathLike):
        from caloquant.precision.source import open_float_model

        generator, source = open_float_model(generator, spec)
    src = as_float_model(generator)
    out = Path(out)
    with staged_folder(out) as work:  # a failed or interrupted search leaves no model folder, no .tune-*
        info = method(src, recipe, engine, work, log, progress)
        write_model_dir(work, engine=engine, recipe=recipe, latent=src.latent, info=info, source=source,
                        energy_input=src.energy_input)
    return out
