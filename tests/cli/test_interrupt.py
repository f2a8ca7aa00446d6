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


def _interrupt(args: list[str], cwd: Path, wait: float, until_tmp: bool = False,
               sig: signal.Signals = signal.SIGINT) -> subprocess.CompletedProcess:
    """Start a command, interrupt it (once its temporary output exists, if asked), return its result."""
    proc = subprocess.Popen([sys.executable, "-m", "caloquant.cli.main", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 60
        time.sleep(wait)
        while until_tmp and not list(cwd.glob(".*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(sig)
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


def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    """Issue 16, defect 5: SIGTERM (a batch system's kill) during simulate left .big.h5.*.tmp behind."""
    res = _interrupt(["simulate", "-n", "500000", "-o", "big.h5"], tmp_path, wait=1.0, until_tmp=True,
                     sig=signal.SIGTERM)
    assert res.returncode == 143, res.stderr
    assert "terminated" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_interrupted_bench_writes_no_json(tmp_path: Path) -> None:
    res = _interrupt(["bench", "simulate", "-n", "20000", "--repeats", "20", "-o", "bench.json"], tmp_path, wait=6.0)
    assert res.returncode == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_swallowed_by_a_finalizer_still_stops_the_command() -> None:
    """The CI failure this guards against: Ctrl-C landed in h5py's weakref callback, Python printed
    "Exception ignored" and the simulation ran on; the next progress update must raise it again."""
    import gc
    import weakref

    from caloquant.cli.common import handle_errors, progress_bar

    class _Obj:
        pass

    updates = []

    @handle_errors
    def command() -> None:
        obj = _Obj()
        weakref.finalize(obj, signal.raise_signal, signal.SIGINT)  # the interrupt arrives inside a finalizer
        with progress_bar(transient=True) as bar:
            task = bar.add_task("work", total=3, rate="")
            del obj
            gc.collect()
            for _ in range(3):
                bar.update(task, advance=1, rate="")
                updates.append(1)

    launched_with = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive shell
    try:
        with pytest.raises(SystemExit) as exc:
            command()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, launched_with)
    assert exc.value.code == 130
    assert updates == []
