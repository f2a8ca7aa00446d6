"""The peers' environment from the main one: TensorFlow's pins clash with ours (h5py), so TFLite runs in
`.venv-peers` (`make peers`), reached through `caloquant.peers.worker` in a child process.

The environment is `$CALOQUANT_PEERS_PYTHON` if set, else `.venv-peers/bin/python` in the current folder
or in the source tree caloquant is installed from.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from caloquant.errors import CaloquantError, PeerMissingError

__all__ = ["INSTALL_HINT", "PeerWorker", "peers_available", "peers_python", "run_peer_command"]

INSTALL_HINT = ("make peers  (builds .venv-peers from requirements/peers.txt: tensorflow 2.21, ai-edge-litert, "
                "neural-compressor-tf; or set CALOQUANT_PEERS_PYTHON to a Python that has them)")
_ENV = "CALOQUANT_PEERS_PYTHON"


def peers_python() -> Path:
    """The peers environment's Python, or PeerMissingError naming the install command."""
    given = os.environ.get(_ENV)
    if given:
        if not Path(given).is_file():
            raise PeerMissingError(f"{_ENV}={given}: no such file; install the peers with: {INSTALL_HINT}")
        return Path(given)
    source_tree = Path(__file__).resolve().parents[3]
    for root in (Path.cwd(), source_tree):
        candidate = root / ".venv-peers" / "bin" / "python"
        if candidate.is_file():
            return candidate
    raise PeerMissingError(f"TFLite (the paper's peer) is not installed; install it with: {INSTALL_HINT}")


def peers_available() -> bool:
    """Whether the peers' environment is installed (for what runs them only where they are)."""
    try:
        peers_python()
    except PeerMissingError:
        return False
    return True


@functools.cache
def _import_root() -> str:
    """A folder holding only a link to this caloquant package: the peers' Python imports caloquant.peers
    from it without seeing the main environment's site-packages."""
    root = Path(tempfile.mkdtemp(prefix="caloquant-peers-"))
    atexit.register(shutil.rmtree, root, True)
    (root / "caloquant").symlink_to(Path(__file__).resolve().parents[1], target_is_directory=True)
    return str(root)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # the peers' Keras runs on TensorFlow; the HGQ2 peer (edge.hgq_peer) sets KERAS_BACKEND=torch in ours
    env["KERAS_BACKEND"] = "tensorflow"
    env["PYTHONPATH"] = _import_root()
    return env


def run_peer_command(*args: str) -> dict[str, Any]:
    """Run one worker command to completion; its last stdout line, JSON, or {} when it prints none."""
    proc = subprocess.run([str(peers_python()), "-m", "caloquant.peers.worker", *args], capture_output=True,
                          text=True, env=_env(), check=False)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise CaloquantError(f"peer worker {args[0]} failed (exit {proc.returncode}): {last}")
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}


class PeerWorker:
    """A worker command kept running with its pipes (`serve`, `autotune`): ``run(z)`` sends z and returns
    the worker's answer; ``send`` and ``receive`` speak the protocol one array at a time."""

    def __init__(self, command: str, *args: str) -> None:
        from caloquant.peers.worker import read_array

        python = peers_python()  # a missing peer is refused before anything is opened
        # a file, not a pipe, so TensorFlow's notes never block the worker; closed by close()
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen([str(python), "-m", "caloquant.peers.worker", command, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     env=_env())
        if read_array(self.proc.stdout) is None:  # type: ignore[arg-type]
            self._fail()

    def _fail(self) -> None:
        self.errors.seek(0)
        err = self.errors.read().decode(errors="replace").strip().splitlines()
        self.close()
        raise CaloquantError(f"peer worker stopped: {err[-1] if err else 'no message'}")

    def send(self, array: np.ndarray) -> None:
        from caloquant.peers.worker import write_array

        write_array(self.proc.stdin, array)  # type: ignore[arg-type]

    def receive(self) -> np.ndarray | None:
        """The worker's next array, or None when it has ended its answers (then it must exit cleanly)."""
        from caloquant.peers.worker import read_array

        out = read_array(self.proc.stdout)  # type: ignore[arg-type]
        if out is None and self.proc.wait() != 0:
            self._fail()
        return out

    def run(self, z: np.ndarray) -> np.ndarray:
        self.send(np.ascontiguousarray(z, dtype=np.float32))
        out = self.receive()
        if out is None:
            self._fail()
        return out  # type: ignore[return-value]

    def close(self) -> None:
        """End the worker (a zero length) and release its pipes; safe to call twice."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write((0).to_bytes(8, "little"))  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.errors):
            if stream and not stream.closed:
                stream.close()

    def __del__(self) -> None:
        if hasattr(self, "proc"):  # not when the worker never started
            self.close()
