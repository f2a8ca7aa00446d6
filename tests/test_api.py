"""`import caloquant as cq`: the verbs and their recipes, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import caloquant as cq


def test_importing_caloquant_loads_no_framework() -> None:
    code = ("import sys, caloquant as cq; cq.Int8StaticConfig(); "
            "print(sorted(m for m in ('torch', 'openvino', 'onnxruntime', 'nncf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in cq.__all__:
        assert getattr(cq, name) is not None, name
    assert cq.quantize.__module__ == "caloquant.precision.quantize"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cq.nope  # noqa: B018
