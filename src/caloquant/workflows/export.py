"""Export a generator and prove the export: ONNX or OpenVINO IR, then both it and PyTorch run on the same
z and the largest difference is compared with EXPORT_TOLERANCE of the largest output."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from caloquant.errors import InputValueError

__all__ = ["EXPORT_TOLERANCE", "export_generator"]

EXPORT_TOLERANCE = 1e-5  # max |difference| / max |output|: float32 rounding, not a different model


def export_generator(model: str | os.PathLike[str] | None, out: str | os.PathLike[str], *, fmt: str = "onnx"
                     ) -> dict[str, Any]:
    """Write ``out``/model.onnx or ``out``/model.xml+bin for ``model`` (None: the shipped weights) and check
    it; returns the path, the differences, the tolerance and whether it passed."""
    from caloquant._atomic import staged_folder
    from caloquant.engines.export import EXPORT_FORMATS, export_onnx, export_openvino, verify_export
    from caloquant.models.io import load_generator
    from caloquant.models.shipped import resolve_generator_path

    if fmt not in EXPORT_FORMATS:
        raise InputValueError(f"format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    gen = load_generator(resolve_generator_path(model))
    with staged_folder(out) as work:
        onnx_path = export_onnx(gen, work / "model.onnx")
        path = onnx_path if fmt == "onnx" else export_openvino(onnx_path, work)
        if fmt == "openvino":
            onnx_path.unlink()
        check = verify_export(gen, path, fmt)
    relative = check["max_abs_diff"] / check["max_abs_output"]
    return {"path": Path(out) / path.name, **check, "relative": relative, "tolerance": EXPORT_TOLERANCE,
            "passed": relative <= EXPORT_TOLERANCE}
