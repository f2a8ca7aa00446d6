"""Benchmarks (`caloquant bench ...`): warm-up, repeated runs, medians, JSON results."""
