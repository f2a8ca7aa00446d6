"""Calibration items: batches of contract latents set wider activation ranges (the 400-500 GeV showers'
activations are covered instead of clipped at the typical shower's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloquant.errors import InputValueError
from caloquant.models import Generator
from caloquant.precision import Int8StaticConfig, quantize
from caloquant.precision.calibration import calibration_items, calibration_latents


def test_items_cover_every_latent_once_in_order() -> None:
    z = calibration_latents(10, (100.0, 500.0), 1)
    items = calibration_items(z, 4)
    assert [len(i) for i in items] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(items), z)


def _activation_highs(model_dir: Path) -> dict[str, float]:
    import openvino as ov

    model = ov.Core().read_model(model_dir / "model.xml")
    highs = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() == "FakeQuantize" and op.input_value(0).get_node().get_type_name() != "Constant":
            high = op.input_value(2).get_node()  # input_high: a constant, one value for a per-tensor activation
            if high.get_type_name() == "Constant":
                highs[op.get_friendly_name()] = float(np.max(high.get_data()))
    return highs


def test_larger_items_widen_the_activation_ranges(tmp_path: Path, tiny: Generator) -> None:
    for batch in (1, 8):
        quantize(tiny, Int8StaticConfig(calibration_size=32, calibration_batch=batch), engine="openvino",
                 out=tmp_path / str(batch))
    one, eight = _activation_highs(tmp_path / "1"), _activation_highs(tmp_path / "8")
    assert one and one.keys() == eight.keys()
    assert all(eight[k] >= one[k] * (1 - 1e-6) for k in one)
    assert sum(eight[k] > 1.05 * one[k] for k in one) >= len(one) // 2  # the mean of maxima of 8 latents


def test_calibration_batch_must_be_positive() -> None:
    with pytest.raises(InputValueError, match="calibration_batch"):
        Int8StaticConfig(calibration_batch=0)
