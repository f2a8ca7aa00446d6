"""Reduced precision: one recipe class per method, dispatched by `quantize` onto an engine of the registry,
saved as a self-describing model directory."""

from caloquant.precision.modeldir import load_engine, read_model_dir
from caloquant.precision.quantize import quantize
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
    recipe_for,
)
from caloquant.precision.registry import EngineEntry, check_supported, engine_names, register_engine

__all__ = ["AccuracyControlConfig", "AutoConfig", "BF16Config", "EngineEntry", "FP16Config", "FP32Config",
           "Int8QATConfig", "Int8StaticConfig", "Recipe", "ToolDefaultsConfig", "check_supported", "engine_names",
           "load_engine", "quantize", "read_model_dir", "recipe_for", "register_engine"]
