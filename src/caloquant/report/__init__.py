"""Plots and reports: they only read result dictionaries (metrics.json, benchmark JSON)."""
