"""hls4ml export of a quantized trigger: C simulation (g++) against the Brevitas model, unsupported layers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from caloquant.edge.quant import LayerBits, QuantConfig, build_quant_trigger, load_quant_trigger, save_quant_trigger
from caloquant.errors import CheckpointError


@pytest.fixture(scope="module")
def trigger_and_data():
    from caloquant.edge.data import load_dataset
    from caloquant.edge.train import load_trigger
    from caloquant.resources import trigger_features_file, trigger_model_file

    return load_trigger(trigger_model_file()), load_dataset(trigger_features_file())


@pytest.mark.slow  # starts the hls4ml C simulation
def test_csim_is_bit_exact_on_every_test_shower(tmp_path: Path, trigger_and_data) -> None:
    from caloquant.edge.hls import export_hls, latency_estimate, verify_csim
    from caloquant.edge.quant import qat, standardise

    float_model, data = trigger_and_data
    cfg = QuantConfig((LayerBits(5, 8, 6, 0.5), LayerBits(3, 6, 5, 0.25), LayerBits(6, 10, 10, 0.0)), input_bits=7)
    torch.manual_seed(0)
    model = qat(build_quant_trigger(float_model, cfg), float_model, data, epochs=1)
    hls = export_hls(model, tmp_path / "fw")
    assert (tmp_path / "fw" / "project" / "firmware" / "trigger.cpp").is_file()
    test = data.part("test")
    check = verify_csim(model, hls, standardise(float_model, test.x))
    assert check["n_events"] == len(test.x)
    assert check["events_bit_exact"] == len(test.x), check
    est = latency_estimate(model)
    assert est["estimate"] is True and est["latency_cycles"] > 0 and est["initiation_interval"] == 1


def test_quantized_trigger_round_trips_and_refuses_foreign_files(tmp_path: Path, trigger_and_data) -> None:
    from caloquant.resources import trigger_model_file

    float_model, _ = trigger_and_data
    cfg = QuantConfig((LayerBits(4, 8, 6, 0.0), LayerBits(4, 8, 6, 0.0), LayerBits(8, 8, 12, 0.0)), input_bits=8)
    model = build_quant_trigger(float_model, cfg).train()
    model(torch.randn(64, 32))  # activation ranges are set by the first training step
    model.eval()
    save_quant_trigger(tmp_path / "q.safetensors", model)
    again = load_quant_trigger(tmp_path / "q.safetensors", float_model)
    assert again.cfg.layers == cfg.layers
    x = torch.randn(16, 32)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    with pytest.raises(CheckpointError, match="not a caloquant quantized trigger"):
        load_quant_trigger(trigger_model_file(), float_model)
    (tmp_path / "bad.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_quant_trigger(tmp_path / "bad.safetensors", float_model)


def test_generator_lists_its_transposed_convolutions(tmp_path: Path) -> None:
    from caloquant.edge.hls import hls_unsupported
    from caloquant.engines.export import export_onnx
    from caloquant.models import GANConfig, Generator

    path = export_onnx(Generator(GANConfig.tiny()).eval(), tmp_path / "g.onnx")
    missing = hls_unsupported(path)
    assert len(missing) == 6 and all(m.endswith("(ConvTranspose)") for m in missing), missing
