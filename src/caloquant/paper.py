"""Paper A's published numbers (Rehm et al., arXiv 2103.10142), for side-by-side tables."""

from __future__ import annotations

__all__ = ["PAPER_INFERENCE", "PAPER_MSE", "PAPER_PIXELWISE", "PAPER_SHAPES"]

# 2x Xeon 8280, 56 threads, 7 streams
PAPER_INFERENCE = {"fp32_ms": 55.7, "int8_ms": 32.3, "speedup": 1.73, "memory_ratio": 2.26}
# columns: Geant4, float32, iLoT int8, TFLite fp16, TFLite int8
PAPER_SHAPES = {
    "y mean": (12.00, 12.02, 12.03, 12.05, 12.10),
    "y std": (1.45, 1.46, 1.45, 1.13, 1.19),
    "z mean": (13.85, 13.81, 13.91, 13.78, 14.25),
    "z std": (4.62, 4.50, 4.48, 4.50, 4.62),
}
PAPER_MSE = {"fp32": 0.061, "iLoT int8": 0.053, "TFLite fp16": 0.254, "TFLite int8": 0.340}
PAPER_PIXELWISE = {"TFLite fp16": 0.133, "TFLite int8": 4.054, "iLoT int8": 1.550}
