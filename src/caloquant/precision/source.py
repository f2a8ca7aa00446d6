"""The float32 model a precision recipe starts from: a PyTorch generator or a user's ONNX generator.

Quantizers and the tuner need three things from it: an fp32 ONNX graph taking the contract input, the
input layout (latent width, energy inside z or separate), and a float32 reference engine for paired
physics. Both kinds provide them here, so nothing downstream asks which kind it got.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FloatModel", "as_float_model", "open_float_model", "portable_path"]


def portable_path(path: str | os.PathLike[str]) -> str:
    """How caloquant.json names a source model without a machine's folders: 'caloquant/resources/NAME' for
    a shipped file, the path relative to the working directory when below it, else the file name (the
    sha256 beside it identifies the weights)."""
    resolved = Path(path).resolve()
    package = Path(__file__).resolve().parents[1]
    for base, prefix in ((package, "caloquant/"), (Path.cwd().resolve(), "")):
        if resolved.is_relative_to(base):
            return prefix + resolved.relative_to(base).as_posix()
    return resolved.name


@dataclass
class FloatModel:
    latent: int
    energy_input: str = "latent"
    module: Any | None = None  # torch generator, when there is one
    user: Any | None = None  # caloquant.models.user_onnx.UserOnnxModel

    def _user(self) -> Any:
        if self.user is None:
            raise ValueError("a FloatModel holds a torch module or a user ONNX model")
        return self.user

    @property
    def kind(self) -> str:
        return "torch" if self.module is not None else "onnx"

    def write_onnx(self, path: str | os.PathLike[str]) -> Path:
        """fp32 ONNX taking 'z' and returning 'showers' (batch, 25, 25, 25) GeV."""
        if self.module is not None:
            from caloquant.engines.export import export_onnx

            return export_onnx(self.module, path)
        return self._user().write_onnx(path)

    def write_folded_onnx(self, path: str | os.PathLike[str]) -> tuple[Path, dict[str, int] | None]:
        """The same graph with the exact BatchNorm folds applied (precision.bn_fold), and what was folded;
        a user's ONNX graph is written as it is (None: nothing folded)."""
        if self.module is None:
            return self._user().write_onnx(path), None
        from caloquant.engines.export import export_onnx
        from caloquant.precision.bn_fold import fold_batchnorms

        module, folds = fold_batchnorms(self.module)
        return export_onnx(module, path), folds

    def reference_engine(self, threads: int | None = 2) -> Any:
        """The float32 engine every reduced-precision candidate is paired against."""
        if self.module is not None:
            from caloquant.engines.torch_engine import TorchEngine

            return TorchEngine(self.module, "fp32", threads=threads)
        from caloquant.engines.onnxruntime_engine import OnnxRuntimeEngine

        return OnnxRuntimeEngine(self._user().serialized(), "fp32", threads=threads or 2, latent=self.latent,
                                 energy_input=self.energy_input)


def as_float_model(model: Any) -> FloatModel:
    """Accept a FloatModel, a UserOnnxModel or a torch generator."""
    from caloquant.models.user_onnx import UserOnnxModel

    if isinstance(model, FloatModel):
        return model
    if isinstance(model, UserOnnxModel):
        return FloatModel(model.latent, model.energy_input, user=model)
    return FloatModel(model.cfg.latent, module=model)


def open_float_model(model: str | os.PathLike[str] | None,
                     spec: str | os.PathLike[str] | None = None) -> tuple[FloatModel, dict[str, Any]]:
    """Load what ``model`` (and ``spec``) name, with the provenance ``caloquant.json`` records about it."""
    from caloquant.errors import InputValueError
    from caloquant.models.shipped import file_sha256, resolve_generator_path

    if (model is not None and Path(model).suffix.lower() == ".onnx") or spec is not None:
        if model is None or spec is None:
            raise InputValueError("a user ONNX generator needs both model FILE.onnx and spec FILE "
                                  "(see docs/precision.md, 'Bring your own model')")
        from caloquant.models.user_onnx import load_user_onnx

        user = load_user_onnx(model, spec)
        source = {"path": portable_path(model), "sha256": file_sha256(model), "kind": "user onnx",
                  "energy_range_gev": list(user.spec.energy_range_gev) if user.spec.energy_range_gev else None,
                  "spec": user.spec.to_json()}
        return as_float_model(user), source
    from caloquant.models.io import load_generator, read_metadata

    path = resolve_generator_path(model)
    info = read_metadata(path)["info"]
    source = {"path": portable_path(path), "sha256": file_sha256(path), "kind": "caloquant generator",
              "energy_range_gev": info.get("energy_range_gev"), "step": info.get("step")}
    return as_float_model(load_generator(path)), source
