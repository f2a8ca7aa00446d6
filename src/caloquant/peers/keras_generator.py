"""The 3DGAN Conv2D generator as a Keras 3 model, weights transferred from a caloquant generator file.

The layout is the paper's (channels-last, Permute between the three paths); the transfer maps PyTorch's
layouts: Conv2D kernels (out, in, kh, kw) -> (kh, kw, in, out), transposed convolutions (in, out, kh, kw)
-> (kh, kw, out, in) with PyTorch's padding as a crop of Keras' 'valid' output, Dense (out, in) -> (in,
out), BatchNorm's running statistics as Keras' moving mean and variance. Keras' 'same' padding of an even
kernel puts the extra row at the bottom, as caloquant's ConvBlock does. The output scale is folded into the
last convolution (ReLU is positively homogeneous), as caloquant's own export does.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

__all__ = ["PERMUTATIONS", "build_keras_generator", "read_generator_file"]

# as caloquant.models.blocks: each path sees the cube with a different axis as channels (batch axis 0)
PERMUTATIONS = ((0, 1, 2, 3), (0, 3, 1, 2), (0, 2, 3, 1))
_KERNELS = {"conv1": (5, "same"), "conv2": (5, "same"), "conv3": (8, "same"), "conv4": (5, "valid"),
            "conv5": (4, "same"), "conv6": (3, "same"), "conv7": (2, "valid")}
# transposed convolutions: (stride, crop (top, bottom) of the 'valid' output) = PyTorch padding and
# output_padding: up1 5 -> 17 -> 15 (padding 1), up2 15 -> 33 -> 30 (padding 2, output_padding 1)
_UPS = {"up1": (3, (1, 1)), "up2": (2, (2, 1))}


def read_generator_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config, tensors as numpy) of a caloquant generator safetensors file; never unpickles."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as fh:
        meta = fh.metadata() or {}
        if meta.get("format") != "caloquant-generator-v1":
            raise ValueError(f"{path}: not a caloquant generator (format {meta.get('format')!r})")
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open has no iterator)
    return json.loads(meta["config"]), tensors


def _inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def build_keras_generator(config: dict[str, Any], tensors: dict[str, np.ndarray]) -> Any:
    """A keras.Model z (batch, latent) -> showers (batch, 25, 25, 25) in GeV, axes (x, y, layer)."""
    import keras
    from keras import layers

    w1, w2, w3, w4, w5 = config["g_widths"]
    widths = {"conv1": w1, "up1": w2, "conv2": w2, "up2": w3, "conv3": w3, "conv4": w4, "conv5": w5,
              "conv6": w5, "conv7": 25}
    slope, eps = float(config["leaky_slope"]), float(config["bn_eps"])
    weights: list[tuple[Any, list[np.ndarray]]] = []

    def conv(x: Any, i: int, name: str) -> Any:
        kernel, padding = _KERNELS[name]
        c = layers.Conv2D(widths[name], kernel, padding=padding, use_bias=False, name=f"p{i}_{name}")
        bn = layers.BatchNormalization(epsilon=eps, momentum=1.0 - float(config["bn_momentum"]),
                                       name=f"p{i}_{name}_bn")
        t = f"paths.{i}.{name}"
        weights.append((c, [tensors[f"{t}.conv.weight"].transpose(2, 3, 1, 0)]))
        weights.append((bn, [tensors[f"{t}.bn.weight"], tensors[f"{t}.bn.bias"], tensors[f"{t}.bn.running_mean"],
                             tensors[f"{t}.bn.running_var"]]))
        y = layers.LeakyReLU(negative_slope=slope, name=f"p{i}_{name}_act")(c(x))
        return layers.Dropout(float(config["dropout"]), name=f"p{i}_{name}_drop")(bn(y))

    def up(x: Any, i: int, name: str) -> Any:
        stride, (top, bottom) = _UPS[name]
        t = layers.Conv2DTranspose(widths[name], 5, strides=stride, padding="valid", name=f"p{i}_{name}")
        weights.append((t, [tensors[f"paths.{i}.{name}.weight"].transpose(2, 3, 1, 0),
                            tensors[f"paths.{i}.{name}.bias"]]))
        return layers.Cropping2D(((top, bottom), (top, bottom)), name=f"p{i}_{name}_crop")(t(x))

    z = keras.Input((int(config["latent"]),), name="z")
    dense = layers.Dense(125, name="dense")
    weights.append((dense, [tensors["dense.weight"].T, tensors["dense.bias"]]))
    cube = layers.Reshape((5, 5, 5), name="cube")(dense(z))
    outs = []
    for i, perm in enumerate(PERMUTATIONS):
        x = cube if perm == (0, 1, 2, 3) else layers.Permute(perm[1:], name=f"path{i}_in")(cube)
        for name in ("conv1", "up1", "conv2", "up2", "conv3", "conv4", "conv5", "conv6", "conv7"):
            x = up(x, i, name) if name in _UPS else conv(x, i, name)
        inv = _inverse(perm)
        outs.append(x if perm == (0, 1, 2, 3) else layers.Permute(inv[1:], name=f"path{i}_out")(x))
    joined = layers.Concatenate(axis=-1, name="paths")(outs)
    final = layers.Conv2D(25, 3, padding="same", use_bias=False, name="final")
    weights.append((final, [tensors["final.weight"].transpose(2, 3, 1, 0) * float(config["output_scale"])]))
    showers = layers.ReLU(name="showers")(final(joined))
    model = keras.Model(z, showers, name=f"generator_3dgan_{config['name']}")
    for layer, values in weights:
        layer.set_weights([np.ascontiguousarray(v, dtype=np.float32) for v in values])
    return model
