"""Precision recipes: one frozen dataclass per method, validated on construction, recorded next to the result.

`caloquant.precision.quantize` dispatches on the recipe's type, as torchao's ``quantize_`` does on its
config class: the float formats and the two int8 post-training recipes go to the engine's own quantizer,
the physics-driven tuner and NNCF's accuracy control to their searches. A recipe records itself in
``caloquant.json`` exactly as given (``to_json``), with its method's name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal, get_args

from caloquant.errors import InputValueError, require_positive
from caloquant.physics.tolerances import VALIDATE as VALIDATE_TOLERANCES
from caloquant.precision.calibration import DEFAULT_CALIBRATION_BATCH
from caloquant.precision.float_layers import PATH_TAIL

DEFAULT_FLOAT_TAIL = 2  # conv6 and conv7 of each path (docs/precision.md)

__all__ = ["AccuracyControlConfig", "AutoConfig", "BF16Config", "FP16Config", "FP32Config", "Int8QATConfig",
           "Int8StaticConfig", "Recipe", "ToolDefaultsConfig", "openvino_fallback", "recipe_for"]

CalibrationMethod = Literal["minmax", "percentile", "entropy"]
Fallback = Literal["bf16", "fp32"]
BiasCorrection = Literal["fast", "full", "off"]



class _Recipe:
    method: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "method": self.method}  # type: ignore[call-overload]


def _check_literal(value: Any, kind: Any, name: str) -> None:
    allowed = get_args(kind)
    if value not in allowed:
        raise InputValueError(f"{name} {value!r}: expected {', '.join(map(str, allowed))}")


def _check_positive(value: float, name: str) -> None:
    require_positive("number", **{name: value})


def _check_float_tail(value: int) -> None:
    if not (isinstance(value, int) and 0 <= value <= len(PATH_TAIL)):
        raise InputValueError(f"float_tail {value!r}: expected 0 to {len(PATH_TAIL)} convolutions of each path")


def _check_fallback(value: str | None) -> None:
    if value is not None:
        _check_literal(value, Fallback, "fallback")


def openvino_fallback(recipe: Any) -> str:
    """The precision OpenVINO runs an int8 recipe's float layers at (its default: bf16)."""
    return getattr(recipe, "fallback", None) or "bf16"


@dataclass(frozen=True)
class FP32Config(_Recipe):
    """Reference precision; OpenVINO is told f32 explicitly (it would pick bf16 on AVX512-BF16 CPUs)."""

    method: ClassVar[str] = "convert"
    precision: Literal["fp32"] = "fp32"


@dataclass(frozen=True)
class BF16Config(_Recipe):
    """bfloat16 compute (torch autocast; OpenVINO inference precision hint), fp32 weights on disk."""

    method: ClassVar[str] = "convert"
    precision: Literal["bf16"] = "bf16"


@dataclass(frozen=True)
class FP16Config(_Recipe):
    """fp16-stored weights computed in fp32 (no native fp16 arithmetic assumed), as TFLite fp16 ran on CPU."""

    method: ClassVar[str] = "convert"
    precision: Literal["fp16"] = "fp16"


@dataclass(frozen=True)
class Int8StaticConfig(_Recipe):
    """Post-training static int8 with calibration on the model's own input distribution.

    Attributes:
        calibration_size: latent vectors drawn by the generator contract over ``energy``.
        calibration_batch: latents per calibration item (OpenVINO: each activation range is the mean of the
            items' min and max, so 8 covers the 400-500 GeV showers without coarsening 100 GeV; see
            `precision.calibration`).
        calibration_method: range estimation; each engine accepts its own (OpenVINO/NNCF: minmax,
            percentile; ONNX Runtime: minmax, percentile, entropy) and refuses the others.
        symmetric: symmetric activations (NNCF PERFORMANCE preset); OpenVINO runs int8 transposed
            convolutions only with symmetric quantization.
        keep_output_float: keep the last convolution (whose output spans five decades of cell energy) in
            floating point.
        float_tail: the last convolutions of each of the generator's three paths kept in floating point
            too (they shape the faint cells; 2 % of the multiply-adds; `precision.float_layers`).
        bias_correction: NNCF's shift of each quantized layer's bias toward its float output: fast (its
            default, from the layer's own statistics), full (layer by layer on the quantized model's
            inputs, slower) or off. OpenVINO only.
        fallback: the precision the layers kept out of int8 run at; None: the engine's own (OpenVINO:
            bf16, its default where the CPU has bf16 arithmetic, f32 elsewhere; ONNX Runtime: fp32, it has
            no bf16 kernels on CPU).
    """

    method: ClassVar[str] = "ptq-static"
    precision: Literal["int8"] = "int8"
    calibration_size: int = 512
    calibration_batch: int = DEFAULT_CALIBRATION_BATCH
    calibration_method: CalibrationMethod = "minmax"
    symmetric: bool = True
    keep_output_float: bool = True
    float_tail: int = DEFAULT_FLOAT_TAIL
    energy: tuple[float, float] = (100.0, 500.0)
    seed: int = 12345
    bias_correction: BiasCorrection = "fast"
    fallback: Fallback | None = None

    def __post_init__(self) -> None:
        require_positive(calibration_size=self.calibration_size, calibration_batch=self.calibration_batch)
        _check_float_tail(self.float_tail)
        _check_fallback(self.fallback)
        _check_literal(self.calibration_method, CalibrationMethod, "calibration_method")
        _check_literal(self.bias_correction, BiasCorrection, "bias_correction")


QATLoss = Literal["physics", "mse"]


@dataclass(frozen=True)
class Int8QATConfig(_Recipe):
    """int8 by quantization-aware fine-tuning (`precision.qat`): PTQ calibrated as `Int8StaticConfig`
    (symmetric, last convolution float, same latents), then ``steps`` Adam steps of ``batch_size`` fresh
    contract latents toward the float32 generator's showers (``loss``: the physics distance, per-term
    ``loss_weights``, or a plain MSE), stopped early after ``time_budget_s`` seconds if given."""

    method: ClassVar[str] = "qat"
    precision: Literal["int8"] = "int8"
    calibration_size: int = 512
    calibration_batch: int = DEFAULT_CALIBRATION_BATCH
    symmetric: bool = True
    keep_output_float: bool = True
    float_tail: int = DEFAULT_FLOAT_TAIL
    energy: tuple[float, float] = (100.0, 500.0)
    seed: int = 12345
    steps: int = 300
    batch_size: int = 16
    lr: float = 1e-6  # 1e-5 made the student worse than PTQ before it recovered (docs/precision.md)
    loss: QATLoss = "physics"
    loss_weights: dict[str, float] = field(
        default_factory=lambda: {"cell": 1.0, "layer": 1.0, "lateral": 1.0, "total": 1.0})
    time_budget_s: float | None = None
    qat_seed: int = 2024
    fallback: Fallback | None = None  # as Int8StaticConfig's (OpenVINO: bf16)

    def __post_init__(self) -> None:
        require_positive(calibration_size=self.calibration_size, calibration_batch=self.calibration_batch,
                         steps=self.steps, batch_size=self.batch_size)
        _check_float_tail(self.float_tail)
        _check_fallback(self.fallback)
        _check_positive(self.lr, "lr")
        _check_literal(self.loss, QATLoss, "loss")
        if self.time_budget_s is not None:
            _check_positive(self.time_budget_s, "time_budget_s")
        unknown = set(self.loss_weights) - {"cell", "layer", "lateral", "total"}
        if unknown or any(not w >= 0 for w in self.loss_weights.values()):
            raise InputValueError(f"loss_weights {self.loss_weights}: expected weights >= 0 for cell, layer, "
                                  "lateral and total")


@dataclass(frozen=True)
class ToolDefaultsConfig(_Recipe):
    """The engine's own int8 quantizer called with its defaults: the peer a user would try first (NNCF
    ``quantize``, ONNX Runtime ``quantize_static``), calibrated on the same latents as ours."""

    method: ClassVar[str] = "tool-defaults"
    precision: Literal["int8"] = "int8"
    calibration_size: int = 512
    energy: tuple[float, float] = (100.0, 500.0)
    seed: int = 12345

    def __post_init__(self) -> None:
        _check_positive(self.calibration_size, "calibration_size")


@dataclass(frozen=True)
class _JudgedRecipe(_Recipe):
    """What every recipe judged by the physics (`precision.judge`) shares: ``validation_size`` paired
    showers against float32, errors rescaled to ``reference_size``, the rule |diff| <= max(tol, k sigma)
    with ``tolerances`` (default: `validate`'s, the paired physics check; physics.tolerances.ZERO keeps only
    what float32 itself cannot be told from), the calibration."""

    validation_size: int = 2000
    reference_size: int = 10000
    k: float = 4.0
    tolerances: dict[str, float] = field(default_factory=lambda: dict(VALIDATE_TOLERANCES))
    calibration_size: int = 512
    calibration_batch: int = DEFAULT_CALIBRATION_BATCH
    seed: int = 7
    threads: int = 2

    def __post_init__(self) -> None:
        require_positive(validation_size=self.validation_size, reference_size=self.reference_size,
                         calibration_size=self.calibration_size, calibration_batch=self.calibration_batch,
                         threads=self.threads)
        _check_positive(self.k, "k")


@dataclass(frozen=True)
class AutoConfig(_JudgedRecipe):
    """The physics-driven mixed-precision tuner (`precision.tuner`): int8 where the physics allows it, the
    other layers in ``fallback``; judged against float32 on ``validation_size`` paired showers with errors
    rescaled to ``reference_size``. The search stops after ``max_trials`` candidates or ``time_budget_s``.
    ``qat_steps``: the int8 candidates come from the better of PTQ and QAT with this many fine-tuning
    steps (PyTorch generators; 0: PTQ only)."""

    method: ClassVar[str] = "auto"
    precision: Literal["auto"] = "auto"
    time_budget_s: float = 1800.0
    fallback: Fallback = "bf16"  # precision of the layers kept out of int8 (OpenVINO inference precision)
    batch_size: int = 128
    max_trials: int | None = None
    qat_steps: int = 300

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_literal(self.fallback, Fallback, "fallback")
        if self.qat_steps < 0:
            raise InputValueError(f"qat_steps {self.qat_steps}: must be zero or positive")
        if self.validation_size < 200:
            raise InputValueError(f"validation_size {self.validation_size}: need at least 200 showers")
        _check_positive(self.time_budget_s, "time_budget_s")
        if self.max_trials is not None:
            require_positive(max_trials=self.max_trials)


@dataclass(frozen=True)
class AccuracyControlConfig(_JudgedRecipe):
    """NNCF's ``quantize_with_accuracy_control`` with the tuner's physics objective as its metric: layers
    are reverted to float until the candidate passes the same check (`precision.judge`)."""

    method: ClassVar[str] = "accuracy-control"
    precision: Literal["int8"] = "int8"
    max_iterations: int | None = None


Recipe = (FP32Config | BF16Config | FP16Config | Int8StaticConfig | Int8QATConfig | ToolDefaultsConfig | AutoConfig
          | AccuracyControlConfig)
_BY_PRECISION: dict[str, type[Recipe]] = {"fp32": FP32Config, "bf16": BF16Config, "fp16": FP16Config,
                                          "int8": Int8StaticConfig, "auto": AutoConfig}


def recipe_for(precision: str, **options: Any) -> Recipe:
    """Our recipe for a precision by name (int8: post-training static; auto: the tuner)."""
    if precision not in _BY_PRECISION:
        raise InputValueError(f"precision {precision!r}: expected one of {', '.join(_BY_PRECISION)}")
    try:
        return _BY_PRECISION[precision](**options)
    except TypeError as exc:  # an option this recipe does not have
        raise InputValueError(f"precision {precision}: {exc}") from None
