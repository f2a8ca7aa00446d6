"""Fold the 3DGAN's BatchNorms where that is exact, for engines that do not fuse them (ONNX Runtime).

The paper's blocks are Conv -> LeakyReLU -> BatchNorm, so the textbook conv+BN fold does not apply. In
eval mode the BatchNorm is y = a * LReLU(x) + b per channel. Two exact rewrites remain:
- the scale a moves into the preceding convolution's weights when every a > 0, because LeakyReLU is
  positively homogeneous: a * LReLU(x) = LReLU(a x);
- the shift b moves into the bias of the next convolution when that convolution pads nothing (the
  'valid' 5x5 and 2x2 convolutions of each path): conv(x + b) = conv(x) + sum_k W b. With zero padding
  or a strided transposed convolution the border positions see b a different number of times, so the
  shift stays an explicit per-channel Add there.
OpenVINO fuses the whole block into the convolution by itself and gets the unfolded graph.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["ChannelShift", "fold_batchnorms"]


class ChannelShift(nn.Module):
    """What is left of a BatchNorm whose scale went into the convolution: + b per channel."""

    shift: torch.Tensor

    def __init__(self, shift: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("shift", shift.reshape(1, -1, 1, 1).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.shift


def _affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    assert bn.running_var is not None and bn.running_mean is not None  # folds apply to tracked statistics
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return a, bn.bias - a * bn.running_mean


def fold_batchnorms(generator: Any) -> tuple[Any, dict[str, int]]:
    """An eval-mode copy with the exact folds applied, and counts of what went where."""
    from caloquant.models.blocks import ConvBlock

    gen = copy.deepcopy(generator).eval()
    counts = {"blocks": 0, "scale_into_conv": 0, "shift_into_next_conv": 0, "shift_kept_as_add": 0,
              "kept_as_batchnorm": 0}
    with torch.no_grad():
        for path in gen.paths:
            children = list(path.children())
            for i, block in enumerate(children):
                if not isinstance(block, ConvBlock):
                    continue
                counts["blocks"] += 1
                assert isinstance(block.bn, nn.BatchNorm2d)  # folding runs once, on a trained generator
                a, b = _affine(block.bn)
                if not bool((a > 0).all()):
                    counts["kept_as_batchnorm"] += 1
                    continue
                block.conv.weight.mul_(a.reshape(-1, 1, 1, 1))
                if block.conv.bias is not None:  # a shift folded in from the block before
                    block.conv.bias.mul_(a)
                counts["scale_into_conv"] += 1
                nxt = children[i + 1] if i + 1 < len(children) else None
                if isinstance(nxt, ConvBlock) and nxt.pad is None and nxt.conv.padding in ("valid", (0, 0)):
                    extra = torch.einsum("oikl,i->o", nxt.conv.weight, b)
                    bias = extra if nxt.conv.bias is None else nxt.conv.bias + extra
                    nxt.conv.bias = nn.Parameter(bias)
                    block.bn = nn.Identity()
                    counts["shift_into_next_conv"] += 1
                else:
                    block.bn = ChannelShift(b)
                    counts["shift_kept_as_add"] += 1
    return gen, counts
