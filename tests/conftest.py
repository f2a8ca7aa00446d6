"""Shared fixtures: small real shower files written by the real writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloquant.metadata import native_int8_dot
from caloquant.simulator import default_simulator, draw_energies


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked int8_dot hold only where the CPU has int8 dot products (`metadata.native_int8_dot`):
    elsewhere they are skipped with the reason, as the report render test is where chromium is absent."""
    if native_int8_dot():
        return
    skip = pytest.mark.skip(reason="this CPU has no int8 dot products (AVX512-VNNI, AVX-VNNI or AMX): OpenVINO's "
                                   "int8 differs from the fake-quantized model, INC's TensorFlow int8 does not run")
    for item in items:
        if item.get_closest_marker("int8_dot"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """Engines and searches set torch's thread count for the process; no test leaves it changed."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def small_showers() -> tuple[np.ndarray, np.ndarray]:
    """64 simulated showers (100-500 GeV), seed 3."""
    ep = draw_energies(3, 64, 100.0, 500.0)
    return default_simulator().simulate(ep, 3, threads=1), ep.astype(np.float32)


@pytest.fixture()
def shower_file(tmp_path: Path, small_showers: tuple[np.ndarray, np.ndarray]) -> Path:
    from caloquant.data import write_3dgan

    path = tmp_path / "showers.h5"
    write_3dgan(path, *small_showers)
    return path


@pytest.fixture(scope="session")
def tiny():
    """The tiny 3DGAN generator with non-trivial BatchNorm statistics, in eval mode."""
    import torch

    from caloquant.models import GANConfig, Generator

    torch.manual_seed(1)
    gen = Generator(GANConfig.tiny()).train()
    with torch.no_grad():
        for _ in range(3):
            gen(torch.randn(16, 200) * 3)
    return gen.eval()


@pytest.fixture()
def peers_installed() -> None:
    """Paper A's peers (`.venv-peers`): skip where absent, fail instead under CI (CALOQUANT_REQUIRE_PEERS=1)."""
    import os

    from caloquant.engines.peer_process import peers_python
    from caloquant.errors import PeerMissingError

    try:
        peers_python()
    except PeerMissingError as exc:
        if os.environ.get("CALOQUANT_REQUIRE_PEERS"):
            raise
        pytest.skip(str(exc))
