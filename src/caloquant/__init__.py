"""caloquant: reduced-precision fast calorimeter simulation, with the physics to prove it.

    import caloquant as cq

    cq.simulate("sim.h5", count=1000)                              # parametric showers, Geant4-calibrated
    cq.generate(None, "gan.h5", count=1000, energy=(100, 500), seed=1)   # the shipped 3DGAN
    cq.quantize(None, cq.Int8StaticConfig(), engine="openvino", out="gan-int8")
    cq.validate("gan.h5", "geant4.h5", "val/")                     # metrics.json, summary.txt, figures
    cq.report("val/", "val/")                                       # report.html and report.md

The verbs and their recipe and config classes are imported on first use: importing caloquant loads
numpy only, never PyTorch, OpenVINO or ONNX Runtime.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("caloquant")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

# public name -> (module, attribute)
_LAZY = {
    "simulate": ("caloquant.workflows.simulation", "simulate_to_file"),
    "generate": ("caloquant.workflows.generation", "generate_to_file"),
    "quantize": ("caloquant.precision.quantize", "quantize"),
    "validate": ("caloquant.workflows.validation", "run_validation"),
    "report": ("caloquant.workflows.reporting", "report"),
    "produce": ("caloquant.production.run", "produce"),
    "load_engine": ("caloquant.precision.modeldir", "load_engine"),
    "generate_batches": ("caloquant.engines.base", "generate_batches"),
    "open_showers": ("caloquant.data.reader", "open_showers"),
    "load_generator": ("caloquant.models.io", "load_generator"),
    "ProductionParams": ("caloquant.production.plan", "ProductionParams"),
    "TrainConfig": ("caloquant.training.trainer", "TrainConfig"),
    **{name: ("caloquant.precision.recipes", name) for name in (
        "FP32Config", "BF16Config", "FP16Config", "Int8StaticConfig", "ToolDefaultsConfig", "AutoConfig",
        "AccuracyControlConfig", "recipe_for")},
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'caloquant' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
