"""Low-latency trigger models for FPGAs: engineered shower features, a small MLP, and (next) per-layer
heterogeneous quantization with a resource cost model."""
