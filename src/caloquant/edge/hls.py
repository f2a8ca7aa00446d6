"""FPGA-ready export: QONNX -> hls4ml project, its C simulation (g++) checked against the quantized model.

The check feeds both the same quantized input (the input quantizer's output, a power-of-two grid the
hls4ml input type holds exactly) and compares the raw outputs (electron logit, energy correction) before
any activation, in units of the output quantizer's least significant bit. Latency and resources here are
estimates from the hls4ml configuration alone (no vendor tool runs); they are labelled as such.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from caloquant.errors import InputValueError

__all__ = ["HLS_BACKEND", "export_hls", "hls_unsupported", "latency_estimate", "verify_csim"]

HLS_BACKEND = "Vitis"
CLOCK_NS = 5.0  # hls4ml's default clock period


def _qonnx_clean(path: str | Path) -> Any:
    """QONNX cleaning as hls4ml's ONNX front end expects it: shapes, constants folded, channels last,
    Gemm as MatMul + Add."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cleanup_model(ModelWrapper(str(path)))
        model = model.transform(ConvertToChannelsLastAndClean())
        model = model.transform(GemmToMatMul())
        return cleanup_model(model)


def hls_unsupported(onnx_path: str | Path) -> list[str]:
    """Nodes ('name (OpType)') of an ONNX graph that hls4ml's ONNX front end has no layer for. Nodes that
    only compute constants are skipped (the export folds them), and Gemm counts as the MatMul + Add the
    export turns it into."""
    import hls4ml
    import onnx

    supported = set(hls4ml.converters.get_supported_onnx_layers()) | {"Gemm"}
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    constant = {t.name for t in graph.initializer}
    missing = []
    for n in graph.node:  # ONNX graphs are topologically sorted
        if all(i in constant for i in n.input if i):
            constant.update(n.output)
        elif n.op_type not in supported:
            missing.append(f"{n.name or n.output[0]} ({n.op_type})")
    return missing


def _input_type(model: Any) -> str:
    """ap_fixed type that holds the input quantizer's grid exactly (signed, power-of-two scale)."""
    q = model.inp(torch.zeros(1, model.linears[0].in_features))
    bits = int(q.bit_width)
    frac = -round(math.log2(float(q.scale)))
    return f"fixed<{bits},{bits - frac}>"


def export_hls(model: Any, out_dir: str | Path, *, reuse_factor: int = 1, clock_ns: float = CLOCK_NS) -> Any:
    """Write the model's QONNX and the hls4ml project from it (Vitis backend, io_parallel, latency strategy)
    into out_dir, and compile the project's C simulation."""
    import hls4ml

    from caloquant.edge.quant import export_qonnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    qonnx_path = export_qonnx(model, out_dir / "trigger_qonnx.onnx")
    missing = hls_unsupported(qonnx_path)
    if missing:
        raise InputValueError(f"hls4ml has no layer for: {', '.join(missing)}")
    cleaned = _qonnx_clean(qonnx_path)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # hls4ml prints its topology
        warnings.simplefilter("ignore")
        cfg = hls4ml.utils.config.config_from_onnx_model(cleaned, granularity="name", backend=HLS_BACKEND,
                                                          default_precision="fixed<16,6>",
                                                          default_reuse_factor=reuse_factor)
        cfg["LayerName"]["global_in"]["Precision"]["result"] = _input_type(model)
        hls = hls4ml.converters.convert_from_onnx_model(cleaned, output_dir=str(out_dir / "project"),
                                                        project_name="trigger", io_type="io_parallel",
                                                        backend=HLS_BACKEND, hls_config=cfg, clock_period=clock_ns)
        hls.compile()
    return hls


def verify_csim(model: Any, hls: Any, x_standardised: torch.Tensor) -> dict[str, Any]:
    """Both models on the same quantized inputs; differences of the raw outputs in output LSBs."""
    with torch.no_grad():
        xq = model.inp(x_standardised).value
        ref = model(xq).double().numpy()
        lsb = float(model.acts[-1].act_quant.scale())  # the output quantizer's step
    with contextlib.redirect_stdout(io.StringIO()):
        got = np.asarray(hls.predict(np.ascontiguousarray(xq.numpy(), dtype=np.float64)), dtype=np.float64)
    got = got.reshape(ref.shape)
    diff = np.abs(got - ref)
    n_lsb = diff / lsb
    return {"n_events": len(ref), "output_lsb": lsb, "max_abs_diff": float(diff.max()),
            "max_diff_lsb": float(n_lsb.max()), "events_bit_exact": int((diff.max(axis=1) == 0).sum()),
            "events_within_1_lsb": int((n_lsb.max(axis=1) <= 1.0 + 1e-9).sum())}


def latency_estimate(model: Any, reuse_factor: int = 1, clock_ns: float = CLOCK_NS) -> dict[str, Any]:
    """Estimate from the configuration (no synthesis): per dense layer, reuse_factor cycles of multiplies,
    one adder-tree level per cycle (ceil(log2 fan-in), an upper bound: synthesis packs several levels in a
    cycle at 200 MHz) and one cycle for the output quantizer/activation. Multipliers = non-zero weights /
    reuse factor; products of at most 10 bits are counted as LUT multipliers (they rarely take a DSP)."""
    cycles = 0
    mult_dsp = mult_lut = 0
    for i, (lin, bits) in enumerate(zip(model.linears, model.cfg.layers, strict=True)):
        w = lin.quant_weight().value.detach()
        fan_in = int(w.shape[1])
        cycles += reuse_factor + math.ceil(math.log2(max(fan_in, 2))) + 1
        nonzero = int((w != 0).sum())
        in_bits = model.cfg.input_bits if i == 0 else model.cfg.layers[i - 1].act
        if bits.weight + in_bits <= 10:
            mult_lut += math.ceil(nonzero / reuse_factor)
        else:
            mult_dsp += math.ceil(nonzero / reuse_factor)
    return {"estimate": True, "latency_cycles": cycles, "latency_ns": cycles * clock_ns, "clock_ns": clock_ns,
            "initiation_interval": reuse_factor, "multipliers_dsp": mult_dsp, "multipliers_lut": mult_lut,
            "method": "pipeline stages from the hls4ml configuration (io_parallel, latency strategy); "
            "not a synthesis result"}

