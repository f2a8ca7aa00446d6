"""Export a generator to ONNX and OpenVINO IR taking z with a dynamic batch, and verify the outputs.

The generator's constant output scale is folded into the last convolution's weights first (exact up to
float rounding, since ReLU is positively homogeneous), so exported graphs end in Conv + ReLU.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from caloquant._atomic import atomic_path
from caloquant.errors import InputValueError

__all__ = ["EXPORT_FORMATS", "export_onnx", "export_openvino", "fold_output_scale", "save_ir", "verify_export"]

EXPORT_FORMATS = ("onnx", "openvino")
INPUT_NAME, OUTPUT_NAME = "z", "showers"


def fold_output_scale(gen: Any) -> Any:
    """A copy of the generator whose last convolution absorbs ``cfg.output_scale``."""
    import dataclasses

    import torch

    folded = copy.deepcopy(gen).eval()
    with torch.no_grad():
        folded.final.weight.mul_(gen.cfg.output_scale)
    folded.cfg = dataclasses.replace(gen.cfg, output_scale=1.0)
    return folded


def export_onnx(gen: Any, path: str | os.PathLike[str], *, opset: int = 17) -> Path:
    """Write ``path`` (.onnx) with input 'z' (batch, 200) and output 'showers' (batch, 25, 25, 25)."""
    import torch

    model = fold_output_scale(gen)
    example = torch.zeros(2, gen.cfg.latent)
    with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's constant-folding chatter
        torch.onnx.export(model, (example,), str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, opset_version=opset,
                          dynamo=False)
    return Path(path)


def save_ir(model: Any, out_dir: str | os.PathLike[str], *, compress_to_fp16: bool = False) -> Path:
    """Write an OpenVINO model as out_dir/model.xml + model.bin; OpenVINO insists on the .xml name, so both
    files are staged in a temporary folder and moved in (bin first) only once complete."""
    import shutil
    import tempfile

    import openvino as ov

    out_dir = Path(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=".openvino-", dir=out_dir))
    try:
        ov.save_model(model, str(staging / "model.xml"), compress_to_fp16=compress_to_fp16)
        os.replace(staging / "model.bin", out_dir / "model.bin")
        os.replace(staging / "model.xml", out_dir / "model.xml")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "model.xml"


def export_openvino(onnx_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Convert an exported ONNX file to OpenVINO IR (model.xml/.bin), keeping fp32 weights."""
    import openvino as ov

    return save_ir(ov.convert_model(str(onnx_path)), out_dir, compress_to_fp16=False)


def verify_export(gen: Any, path: str | os.PathLike[str], fmt: str, *, batch: int = 3, seed: int = 0,
                  threads: int = 2) -> dict[str, float]:
    """Run the exported model and PyTorch on the same z; return max |difference| and max |output|."""
    import torch

    if fmt not in EXPORT_FORMATS:
        raise InputValueError(f"format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    z = np.random.default_rng(seed).standard_normal((batch, gen.cfg.latent)).astype(np.float32) * 3.0
    with torch.no_grad():
        ref = gen.eval()(torch.from_numpy(z)).numpy()
    if fmt == "onnx":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3  # errors only: ONNX Runtime's coloured graph warnings are not ours to print
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        got = sess.run([OUTPUT_NAME], {INPUT_NAME: z})[0]
    else:
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                         "INFERENCE_NUM_THREADS": threads})
        got = compiled(z)[0]
    return {"max_abs_diff": float(np.abs(got - ref).max()), "max_abs_output": float(np.abs(ref).max()),
            "batch": batch}
