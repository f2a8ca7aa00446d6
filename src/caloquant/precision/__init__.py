"""Reduced precision: one recipe per precision, applied per engine, saved as a self-describing directory."""

from caloquant.precision.modeldir import load_engine, read_model_dir
from caloquant.precision.quantize import quantize
from caloquant.precision.recipes import BF16Config, FP16Config, FP32Config, Int8StaticConfig, recipe_for

__all__ = ["BF16Config", "FP16Config", "FP32Config", "Int8StaticConfig", "load_engine", "quantize", "read_model_dir",
           "recipe_for"]
