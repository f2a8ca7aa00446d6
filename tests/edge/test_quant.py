"""Heterogeneously quantized trigger models: Brevitas build, QAT, QONNX cost, config checks."""

from __future__ import annotations

import numpy as np
import pytest

from caloquant.edge.data import load_dataset
from caloquant.edge.quant import (
    LayerBits,
    QuantConfig,
    build_quant_trigger,
    float_reference_cost,
    predict_quant,
    qat,
    quant_cost,
)
from caloquant.edge.train import load_trigger
from caloquant.errors import InputValueError
from caloquant.resources import trigger_features_file, trigger_model_file


@pytest.fixture(scope="module")
def float_model():
    return load_trigger(trigger_model_file())


def test_quantized_model_is_cheaper_and_trains(float_model) -> None:
    data = load_dataset(trigger_features_file())
    cfg = QuantConfig((LayerBits(4, 8, 6, 0.5), LayerBits(4, 8, 6, 0.5), LayerBits(6, 8, 12)), input_bits=8)
    q = build_quant_trigger(float_model, cfg)
    for i in range(2):  # pruned to the asked fraction by magnitude
        assert float((q.linears[i].weight == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    q = qat(q, float_model, data, epochs=2)
    assert float((q.linears[0].weight == 0).float().mean()) >= 0.5  # pruned weights stay pruned
    score, energy = predict_quant(q, float_model, data.part("test").x)
    assert np.isfinite(score).all() and np.isfinite(energy).all()
    cost = quant_cost(q)
    ref32, ref16 = float_reference_cost(float_model), float_reference_cost(float_model, 16)
    assert ref32["bops"] == 2112 * 32 * 32 and ref16["bops"] == 2112 * 16 * 16
    assert cost["macs"] <= 2112 * 0.5 + 2112 * 0.1 + 64  # QONNX discounts the zero weights
    assert cost["bops"] < ref16["bops"] / 12.5 and cost["energy_pj"] < ref32["energy_pj"]


def test_bit_widths_outside_the_supported_range_are_refused(float_model) -> None:
    with pytest.raises(InputValueError, match="layer 1 weight bits 1: supported widths are 2 to 16"):
        build_quant_trigger(float_model, QuantConfig((LayerBits(), LayerBits(weight=1), LayerBits())))
    with pytest.raises(InputValueError, match="input bits 17"):
        build_quant_trigger(float_model, QuantConfig((LayerBits(),) * 3, input_bits=17))
    with pytest.raises(InputValueError, match="has 2 layers, the model 3"):
        build_quant_trigger(float_model, QuantConfig((LayerBits(),) * 2))
