"""What the machine can do in hardware, read from the CPU's flags."""

from __future__ import annotations

import pytest

from caloquant import metadata


@pytest.mark.parametrize(("flags", "int8_dot", "bf16"), [
    (["avx2", "fma"], False, False),  # the AVX2-only EPYC of session 31
    (["avx2", "avx512_bf16", "avx512_vnni", "avx512f"], True, True),  # the AVX-512 Zen of earlier sessions
    (["avx2", "avx_vnni"], True, False),
    (["amx_bf16", "amx_int8", "avx512f"], True, True),
])
def test_int8_and_bf16_hardware_is_read_from_the_cpu_flags(monkeypatch, flags, int8_dot, bf16) -> None:
    monkeypatch.setattr(metadata, "machine_info", lambda: {"isa_flags": flags})
    assert metadata.native_int8_dot() is int8_dot
    assert metadata.native_bf16() is bf16

