"""Physics observables of calorimeter showers and the statistics to compare two samples."""

from caloquant.physics.features import EventFeatures, extract_features
from caloquant.physics.stats import Comparison, bootstrap_se, compare_values

__all__ = ["Comparison", "EventFeatures", "bootstrap_se", "compare_values", "extract_features"]
