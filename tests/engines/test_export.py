from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from caloquant.contract import draw_energies, draw_latents, make_latent
from caloquant.engines.export import export_onnx, export_openvino, fold_output_scale, verify_export
from caloquant.models import Generator


def test_folding_the_output_scale_is_exact(tiny: Generator) -> None:
    z = torch.randn(4, 200)
    torch.testing.assert_close(fold_output_scale(tiny)(z), tiny(z), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_exported_outputs_match_pytorch(tmp_path: Path, tiny: Generator, fmt: str) -> None:
    path = export_onnx(tiny, tmp_path / "model.onnx")
    if fmt == "openvino":
        path = export_openvino(path, tmp_path)
        assert (tmp_path / "model.bin").is_file()
    for batch in (1, 5):  # dynamic batch
        check = verify_export(tiny, path, fmt, batch=batch)
        assert check["max_abs_diff"] <= 1e-5 * check["max_abs_output"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_contract_pairs_latents_and_energies() -> None:
    n1, n2 = draw_latents(7, 10), draw_latents(7, 10)
    np.testing.assert_array_equal(n1, n2)
    ep = draw_energies(7, 10, 100, 500)
    z = make_latent(n1, ep)
    assert z.dtype == np.float32 and z.shape == (10, 200)
    np.testing.assert_allclose(z, n1 * ep[:, None] / 100, rtol=1e-6)
