"""Ctrl-C in the middle of a long command leaves nothing half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _default_sigint() -> None:
    """Children of a background job start with SIGINT ignored (POSIX), and Python then never raises
    KeyboardInterrupt; restore the default so Ctrl-C is tested however the suite is launched."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(args: list[str], cwd: Path, wait: float, until_tmp: bool = False) -> subprocess.CompletedProcess:
    """Start a command, interrupt it (once its temporary output exists, if asked), return its result."""
    proc = subprocess.Popen([sys.executable, "-m", "caloquant.cli.main", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 60
        time.sleep(wait)
        while until_tmp and not list(cwd.glob(".*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("fmt", ["3dgan", "calochallenge"])
def test_interrupted_simulate_leaves_no_file(tmp_path: Path, fmt: str) -> None:
    res = _interrupt(["simulate", "-n", "500000", "--format", fmt, "-o", "big.h5"], tmp_path, wait=1.0,
                     until_tmp=True)
    assert res.returncode == 130, res.stderr
    assert "interrupted" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_interrupted_bench_writes_no_json(tmp_path: Path) -> None:
    res = _interrupt(["bench", "simulate", "-n", "20000", "--repeats", "20", "-o", "bench.json"], tmp_path, wait=6.0)
    assert res.returncode == 130
    assert list(tmp_path.iterdir()) == []
