"""Bring-your-own generator: an ONNX file plus a small spec, rewritten once into the caloquant contract.

Every engine, quantizer and the tuner work on graphs that take z and return (batch, 25, 25, 25) GeV. A user
model may take its energy inside the latent vector or as a separate input, scale it differently, return a
channel axis, another axis order or MeV. Instead of teaching every component those variants, the user graph
is wrapped once: a few ONNX nodes in front (slice z, rescale the energy) and behind (reshape, transpose,
unit conversion). The wrapped graph is checked by running it before anything else sees it.

Spec (TOML or JSON; only ``latent_input`` and ``latent_size`` are required)::

    latent_input = "z"            # name of the latent input
    latent_size = 200
    energy_input = "latent"       # "latent": the model takes z = (Ep / energy_scale_gev) * n
                                  # "separate": it takes n and Ep / energy_scale_gev in energy_input_name
    energy_input_name = "energy"
    energy_scale_gev = 100.0
    output = "showers"            # default: the model's first output
    output_shape = [25, 25, 25]   # one shower as the model returns it; size-1 axes allowed
    output_axes = "xyz"           # order of x, y and layer (z) among the non-1 axes
    output_units = "GeV"          # or "MeV"
    energy_range_gev = [100, 500] # trained range (warnings outside it)

With ``energy_input = "separate"`` the contract input grows by one column: z = [n, Ep / 100 GeV]
(batch, latent + 1); :func:`caloquant.contract.make_latent` builds it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.errors import CheckpointError, InputValueError

__all__ = ["ModelSpec", "UserOnnxModel", "load_user_onnx", "read_spec"]

_SHOWER = (25, 25, 25)
_MIN_OPSET = 13  # Slice/Reshape with tensor inputs, Squeeze with an axes input


@dataclass(frozen=True)
class ModelSpec:
    latent_input: str
    latent_size: int
    energy_input: str = "latent"
    energy_input_name: str = "energy"
    energy_scale_gev: float = 100.0
    output: str | None = None
    output_shape: tuple[int, ...] = _SHOWER
    output_axes: str = "xyz"
    output_units: str = "GeV"
    energy_range_gev: tuple[float, float] | None = None
    name: str = "user generator"
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or "spec"
        if self.energy_input not in ("latent", "separate"):
            raise InputValueError(f"{where}: energy_input {self.energy_input!r}: expected 'latent' or 'separate'")
        if self.latent_size <= 0:
            raise InputValueError(f"{where}: latent_size {self.latent_size}: must be a positive integer")
        if not self.energy_scale_gev > 0:
            raise InputValueError(f"{where}: energy_scale_gev {self.energy_scale_gev}: must be positive")
        if self.output_units not in ("GeV", "MeV"):
            raise InputValueError(f"{where}: output_units {self.output_units!r}: expected GeV or MeV")
        if sorted(d for d in self.output_shape if d != 1) != [25, 25, 25]:
            raise InputValueError(f"{where}: output_shape {list(self.output_shape)}: caloquant models make "
                                  "25 x 25 x 25 showers (size-1 axes allowed)")
        if sorted(self.output_axes) != ["x", "y", "z"]:
            raise InputValueError(f"{where}: output_axes {self.output_axes!r}: expected a permutation of 'xyz'")

    @property
    def input_width(self) -> int:
        """Columns of the contract input z: the latent, plus Ep / 100 GeV for a separate energy input."""
        return self.latent_size + (self.energy_input == "separate")

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "source"}
        d["output_shape"] = list(self.output_shape)
        return d


def read_spec(path: str | os.PathLike[str]) -> ModelSpec:
    """Parse a TOML or JSON spec; unknown keys are errors (a typo must not silently change the contract)."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise InputValueError(f"spec {path}: no such file") from None
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import tomllib

            raw = tomllib.loads(text.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputValueError(f"spec {path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'} "
                              f"({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise InputValueError(f"spec {path}: expected a table of keys")
    known = {f for f in ModelSpec.__dataclass_fields__ if f != "source"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputValueError(f"spec {path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    for key in ("latent_input", "latent_size"):
        if key not in raw:
            raise InputValueError(f"spec {path}: missing required key {key!r}")
    try:
        if "output_shape" in raw:
            raw["output_shape"] = tuple(int(d) for d in raw["output_shape"])
        if raw.get("energy_range_gev") is not None:
            lo, hi = (float(e) for e in raw["energy_range_gev"])
            raw["energy_range_gev"] = (lo, hi)
        if "latent_size" in raw and not isinstance(raw["latent_size"], int):
            raise TypeError("latent_size")
        return ModelSpec(**raw, source=str(path))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputValueError):
            raise
        raise InputValueError(f"spec {path}: a value has the wrong type ({exc})") from None


@dataclass
class UserOnnxModel:
    """A user generator rewritten to the contract: ``proto`` takes 'z' and returns 'showers' in GeV."""

    path: Path
    spec: ModelSpec
    proto: Any
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def latent(self) -> int:
        return self.spec.latent_size

    @property
    def energy_input(self) -> str:
        return self.spec.energy_input

    def serialized(self) -> bytes:
        return self.proto.SerializeToString()

    def write_onnx(self, path: str | os.PathLike[str]) -> Path:
        from caloquant._atomic import atomic_path

        with atomic_path(path, suffix=".onnx") as tmp:
            Path(tmp).write_bytes(self.serialized())
        return Path(path)


def load_user_onnx(onnx_path: str | os.PathLike[str], spec: ModelSpec | str | os.PathLike[str]) -> UserOnnxModel:
    """Read, check against the spec, wrap to the contract and test-run a user generator."""
    import onnx

    path = Path(onnx_path)
    spec = spec if isinstance(spec, ModelSpec) else read_spec(spec)
    if not path.is_file():
        raise CheckpointError(f"model {path}: no such file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError and friends
        raise CheckpointError(f"model {path}: not an ONNX model ({exc.__class__.__name__})") from None
    if not model.graph.node:
        raise CheckpointError(f"model {path}: not an ONNX model (empty graph)")
    wrapped = _wrap(model, spec, path)
    checks = _test_run(wrapped, spec, path)
    return UserOnnxModel(path, spec, wrapped, checks)


def _float_input(model: Any, name: str, path: Path, spec: ModelSpec) -> list[int | str]:
    import onnx

    inputs = {i.name: i for i in model.graph.input}
    if name not in inputs:
        raise CheckpointError(f"model {path}: no input named {name!r} (inputs: {', '.join(inputs)}); "
                              f"check {spec.source or 'the spec'}")
    t = inputs[name].type.tensor_type
    if t.elem_type != onnx.TensorProto.FLOAT:
        raise CheckpointError(f"model {path}: input {name!r} is {onnx.TensorProto.DataType.Name(t.elem_type)}, "
                              "caloquant feeds float32")
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]


def _wrap(model: Any, spec: ModelSpec, path: Path) -> Any:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < _MIN_OPSET:
        raise CheckpointError(f"model {path}: ONNX opset {opset}; caloquant needs opset {_MIN_OPSET} or newer "
                              "(re-export, or convert with onnx.version_converter)")
    latent_dims = _float_input(model, spec.latent_input, path, spec)
    if len(latent_dims) != 2 or (isinstance(latent_dims[1], int) and latent_dims[1] not in (0, spec.latent_size)):
        raise CheckpointError(f"model {path}: input {spec.latent_input!r} has shape {latent_dims}, spec says "
                              f"(batch, {spec.latent_size})")
    expected = {spec.latent_input}
    energy_rank = 0
    if spec.energy_input == "separate":
        energy_dims = _float_input(model, spec.energy_input_name, path, spec)
        if len(energy_dims) not in (1, 2) or (len(energy_dims) == 2 and energy_dims[1] not in (1, "?")
                                             and isinstance(energy_dims[1], int)):
            raise CheckpointError(f"model {path}: energy input {spec.energy_input_name!r} has shape "
                                  f"{energy_dims}; expected (batch,) or (batch, 1)")
        energy_rank = len(energy_dims)
        expected.add(spec.energy_input_name)
    initializers = {i.name for i in model.graph.initializer}
    extra = [i.name for i in model.graph.input if i.name not in expected and i.name not in initializers]
    if extra:
        raise CheckpointError(f"model {path}: input {extra[0]!r} is not described by the spec "
                              f"(latent_input {spec.latent_input!r}, energy_input {spec.energy_input!r})")
    outputs = [o.name for o in model.graph.output]
    out_name = spec.output or outputs[0]
    if out_name not in outputs:
        raise CheckpointError(f"model {path}: no output named {out_name!r} (outputs: {', '.join(outputs)})")

    user = onnx.compose.add_prefix(model, "user/")
    g = user.graph
    pre: list[Any] = []  # contract input z -> the user's inputs
    post: list[Any] = []  # the user's output -> showers (batch, 25, 25, 25) GeV
    consts: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        consts.append(numpy_helper.from_array(value, f"cq/{name}"))
        return f"cq/{name}"

    ratio = np.array(100.0 / spec.energy_scale_gev, np.float32)  # contract's Ep/100 GeV -> model's Ep/scale
    latent_target = f"user/{spec.latent_input}"
    if spec.energy_input == "latent":
        pre.append(helper.make_node("Mul", ["z", const("ratio", ratio)], [latent_target], name="cq/scale_z"))
    else:
        one = const("axis1", np.array([1], np.int64))
        pre.append(helper.make_node("Slice", ["z", const("zero", np.array([0], np.int64)),
                                                const("L", np.array([spec.latent_size], np.int64)), one],
                                      [latent_target], name="cq/latent"))
        pre.append(helper.make_node("Slice", ["z", "cq/L", const("L1", np.array([spec.latent_size + 1], np.int64)),
                                                one], ["cq/ep100"], name="cq/energy"))
        energy_target = f"user/{spec.energy_input_name}"
        scaled = energy_target if energy_rank == 2 else "cq/ep_scaled"
        pre.append(helper.make_node("Mul", ["cq/ep100", const("ratio", ratio)], [scaled], name="cq/scale_e"))
        if energy_rank == 1:
            pre.append(helper.make_node("Squeeze", [scaled, one], [energy_target], name="cq/squeeze_e"))
    squeezed = [d for d in spec.output_shape if d != 1]
    post.append(helper.make_node("Reshape", [f"user/{out_name}", const("shape", np.array([-1, *squeezed], np.int64))],
                                  ["cq/reshaped"], name="cq/reshape"))
    perm = [0, *(1 + spec.output_axes.index(a) for a in "xyz")]
    last = "cq/reshaped"
    if perm != [0, 1, 2, 3]:
        post.append(helper.make_node("Transpose", [last], ["cq/xyz"], perm=perm, name="cq/to_xyz"))
        last = "cq/xyz"
    if spec.output_units == "MeV":
        post.append(helper.make_node("Mul", [last, const("mev", np.array(1e-3, np.float32))], ["cq/gev"],
                                      name="cq/to_gev"))
        last = "cq/gev"
    post.append(helper.make_node("Identity", [last], ["showers"], name="cq/showers"))
    graph = helper.make_graph(
        [*pre, *g.node, *post], "caloquant_user_generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", spec.input_width])],
        [helper.make_tensor_value_info("showers", TensorProto.FLOAT, ["batch", *_SHOWER])],
        initializer=[*g.initializer, *consts], value_info=list(g.value_info))
    wrapped = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version,
                                producer_name="caloquant (wrapped user model)")
    wrapped.functions.extend(user.functions)
    try:
        onnx.checker.check_model(wrapped)
    except onnx.checker.ValidationError as exc:
        raise CheckpointError(f"model {path}: the wrapped graph is invalid ({str(exc).splitlines()[0]})") from None
    return wrapped


def _test_run(proto: Any, spec: ModelSpec, path: Path) -> dict[str, Any]:
    """Run two contract inputs through ONNX Runtime: a generator must return finite 25^3 showers."""
    import onnxruntime as ort

    from caloquant.contract import draw_energies, draw_latents, make_latent

    z = make_latent(draw_latents(0, 2, spec.latent_size), draw_energies(0, 2, 100.0, 500.0),
                    energy_input=spec.energy_input)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        out = sess.run(["showers"], {"z": z})[0]
    except Exception as exc:  # ORT raises Fail/InvalidArgument/RuntimeException with multi-line text
        msg = str(exc).splitlines()[0][:200]
        raise CheckpointError(f"model {path}: does not run as the spec describes it ({msg})") from None
    if out.shape != (2, *_SHOWER):
        raise CheckpointError(f"model {path}: returns {out.shape[1:]} per shower after the spec's reshape, "
                              "not a 25 x 25 x 25 shower")
    if not np.isfinite(out).all():
        raise CheckpointError(f"model {path}: returns non-finite cell energies on ordinary inputs")
    return {"test_batch_energy_gev": float(out.sum() / 2)}
