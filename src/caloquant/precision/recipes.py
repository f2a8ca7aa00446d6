"""Precision recipes: small frozen configs, validated on construction, serialised next to the result."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from caloquant.errors import InputValueError

__all__ = ["BF16Config", "FP16Config", "FP32Config", "Int8StaticConfig", "Recipe", "recipe_for"]


class _Serialisable:
    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class FP32Config(_Serialisable):
    """Reference precision; OpenVINO is told f32 explicitly (it would pick bf16 on AVX512-BF16 CPUs)."""

    precision: str = "fp32"


@dataclass(frozen=True)
class BF16Config(_Serialisable):
    """bfloat16 compute (torch autocast; OpenVINO inference precision hint), fp32 weights on disk."""

    precision: str = "bf16"


@dataclass(frozen=True)
class FP16Config(_Serialisable):
    """fp16-stored weights computed in fp32 (no native fp16 arithmetic assumed), as TFLite fp16 ran on CPU."""

    precision: str = "fp16"


@dataclass(frozen=True)
class Int8StaticConfig(_Serialisable):
    """Post-training static int8 with calibration on the model's own input distribution.

    Attributes:
        calibration_size: latent vectors drawn by the generator contract over ``energy``.
        calibration_method: 'minmax' or 'percentile' (OpenVINO/NNCF range estimators), 'minmax' or 'entropy'
            (ONNX Runtime calibrators).
        symmetric: symmetric activations (NNCF PERFORMANCE preset); OpenVINO runs int8 transposed
            convolutions only with symmetric quantization.
        keep_output_float: keep the last convolution (whose output spans five decades of cell energy) in
            floating point.
        tool_defaults: ignore the options above and call the engine's quantizer with its own defaults
            (the peers a user would try first: NNCF ``quantize``, ONNX Runtime ``quantize_static``).
    """

    precision: str = "int8"
    calibration_size: int = 512
    calibration_method: str = "minmax"
    symmetric: bool = True
    keep_output_float: bool = True
    energy: tuple[float, float] = (100.0, 500.0)
    seed: int = 12345
    tool_defaults: bool = False

    def __post_init__(self) -> None:
        if self.calibration_size <= 0:
            raise InputValueError(f"--calibration-size {self.calibration_size}: must be positive")
        if self.calibration_method not in ("minmax", "percentile", "entropy"):
            raise InputValueError(f"--calibration-method {self.calibration_method!r}: expected minmax, percentile "
                                  "or entropy")


Recipe = FP32Config | BF16Config | FP16Config | Int8StaticConfig
_RECIPES = {"fp32": FP32Config, "bf16": BF16Config, "fp16": FP16Config, "int8": Int8StaticConfig}


def recipe_for(precision: str, **options: Any) -> Recipe:
    if precision not in _RECIPES:
        raise InputValueError(f"--precision {precision!r}: expected one of {', '.join(_RECIPES)} (or auto)")
    cls = _RECIPES[precision]
    return cls(**options) if options else cls()
