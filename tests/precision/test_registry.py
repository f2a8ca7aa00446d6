"""A new engine is one module and one registry entry: the example of docs/architecture.md, run as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from caloquant.engines.base import generate_batches
from caloquant.models import Generator
from caloquant.precision import FP32Config, load_engine, quantize
from caloquant.precision.registry import _ENGINES, engine_entry, engine_names

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


@pytest.fixture
def doc_engine():
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    before = {name: engine_entry(name) for name in engine_names()}  # the built-ins registered first
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})  # our own docs, run as written
    yield
    _ENGINES.clear()
    _ENGINES.update(before)


def test_the_documented_engine_quantizes_loads_and_generates(doc_engine, tmp_path: Path, tiny: Generator) -> None:
    from caloquant.engines.torch_engine import TorchEngine

    out = quantize(tiny, FP32Config(), engine="torchscript", out=tmp_path / "ts")
    engine = load_engine(out, threads=1)
    assert engine.name == "torchscript"
    ours = np.concatenate([s for s, _ in generate_batches(engine, count=12, seed=4, batch_size=4)])
    ref = np.concatenate([s for s, _ in generate_batches(TorchEngine(tiny, threads=None), count=12, seed=4,
                                                         batch_size=4)])
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_an_unregistered_engine_is_refused_with_the_known_ones(tmp_path: Path, tiny: Generator) -> None:
    from caloquant.errors import InputValueError

    known = "inc-tf, onnxruntime, openvino, tflite, torch"
    with pytest.raises(InputValueError, match=f"engine 'torchscript': expected one of {known}"):
        quantize(tiny, FP32Config(), engine="torchscript", out=tmp_path / "ts")
