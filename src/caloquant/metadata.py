"""The metadata block every JSON output carries (CONVENTIONS: schema version, versions, seed, command)."""

from __future__ import annotations

import importlib.metadata
import platform
import shlex
import sys
from typing import Any

__all__ = ["SCHEMA_VERSION", "machine_info", "metadata", "native_bf16", "native_int8_dot", "package_versions"]

SCHEMA_VERSION = 1
_TRACKED = ("caloquant", "numpy", "h5py", "torch", "openvino", "nncf", "onnxruntime", "onnx")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages whose behaviour changes our numbers (None if absent)."""
    out: dict[str, str | None] = {}
    for name in _TRACKED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine_info() -> dict[str, Any]:
    """What a reader needs to interpret absolute times."""
    import os

    cpu = platform.processor() or platform.machine()
    flags: list[str] = []
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name") and cpu in ("", platform.machine()):
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    flags = sorted(f for f in have if f.startswith(("avx512", "amx", "avx2", "avx_vnni", "fma")))
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "isa_flags": flags,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def native_bf16(device: str = "cpu") -> bool:
    """Whether bf16 arithmetic runs in hardware: any CUDA device, or a CPU with AVX512-BF16 or AMX. Without
    it, oneDNN emulates bf16 and autocast is far slower than fp32 (paper-model training on an AVX2-only
    EPYC: 0.3 against 4.8 samples/s)."""
    return device.startswith("cuda") or _cpu_has_any("avx512_bf16", "amx_bf16")


def native_int8_dot() -> bool:
    """Whether the CPU has int8 dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX). Without them (an
    AVX2-only EPYC, session 31) OpenVINO's int8 kernels no longer reproduce the fake-quantized model within one
    quantization step (3.1e-6 against a step of 5.0e-7 on the tiny generator), and Intel Neural Compressor's
    TensorFlow int8 graph stops with "Missing 0-th output from ... MatMul_eightbit_requantize"."""
    return _cpu_has_any("avx512_vnni", "avx_vnni", "amx_int8")


def _cpu_has_any(*flags: str) -> bool:
    return bool(set(machine_info()["isa_flags"]) & set(flags))


def metadata(*, seed: int | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Header for a JSON result: schema version, versions, seed and the command line."""
    block: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "caloquant_version": package_versions()["caloquant"],
        "versions": package_versions(),
        "seed": seed,
        "command": _command_line(),
    }
    if extra:
        block.update(extra)
    return block


def _command_line() -> str:
    """The invoking command, with the program name shortened to its basename."""
    if not sys.argv:
        return ""
    import os

    return shlex.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])
