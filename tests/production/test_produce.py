"""Production on a real local Dask cluster: exactly once, independent of the worker layout, resumable."""

from __future__ import annotations

import json
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.data import open_showers
from caloquant.models import Generator
from caloquant.models.io import save_generator
from caloquant.production.plan import ProductionParams
from caloquant.production.run import produce
from caloquant.production.worker import FAULT_ENV

pytestmark = pytest.mark.slow  # every test here starts Dask (a local cluster or the CLI's)

COUNT, SHARD = 96, 32


@pytest.fixture(scope="module")
def weights(tiny: Generator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_generator(path, tiny, {"energy_range_gev": [100, 500]})
    return path


def _params(weights: Path) -> ProductionParams:
    from caloquant.precision.identity import model_identity

    return ProductionParams(model=str(weights), model_sha256=model_identity(weights)[0], count=COUNT,
                            energy=(100.0, 500.0), seed=5, shard_size=SHARD, threads=1, batch_size=16)


def _checksums(manifest: dict) -> list[str]:
    return [s["sha256"] for s in manifest["shards"]]


@pytest.fixture(scope="module")
def single_worker(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("single") / "prod"
    return out, produce(_params(weights), out, workers=1)


def test_single_worker_production(single_worker: tuple[Path, dict]) -> None:
    out, manifest = single_worker
    assert manifest["status"] == "complete" and manifest["n_shards"] == 3 and not manifest["failed"]
    assert all(len(c) == 64 for c in _checksums(manifest))
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "shard-000000.h5", "shard-000001.h5",
                                                     "shard-000002.h5"]
    with h5py.File(out / "shard-000001.h5") as fh:
        assert fh.attrs["shard_index"] == 1 and "date" not in fh.attrs and "host" not in fh.attrs
    src = open_showers(out)  # what `info` and `validate --samples OUT/` read
    assert src.n_showers == COUNT
    assert ((src.energies() >= 100) & (src.energies() < 500)).all()
    ecal, _ = src.read(SHARD - 2, SHARD + 2)  # across a shard boundary
    assert ecal.shape == (4, 25, 25, 25)


def test_worker_killed_mid_shard_gives_the_same_production(weights: Path, tmp_path: Path,
                                                           single_worker: tuple[Path, dict],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(FAULT_ENV, str(marker))  # inherited by the worker processes
    out = tmp_path / "prod"
    manifest = produce(_params(weights), out, workers=2)
    assert marker.exists()  # a worker did die mid-shard
    assert manifest["status"] == "complete"
    assert _checksums(manifest) == _checksums(single_worker[1])
    assert sorted(p.name for p in out.glob("shard-*")) == [f"shard-00000{i}.h5" for i in range(3)]
    assert not (out / ".staging").exists()


def test_interrupted_run_resumes_to_the_same_checksums(weights: Path, tmp_path: Path,
                                                      single_worker: tuple[Path, dict]) -> None:
    import shutil

    out = tmp_path / "prod"
    shutil.copytree(single_worker[0], out)
    # what an interruption leaves: one shard never committed, a half-written staging file, a running manifest
    (out / "shard-000002.h5").unlink()
    (out / ".staging").mkdir()
    (out / ".staging" / "shard-000002.deadbeef.h5").write_bytes(b"half")
    m = json.loads((out / "manifest.json").read_text())
    m["status"], m["shards"][2]["sha256"] = "running", None
    (out / "manifest.json").write_text(json.dumps(m))
    # and a committed shard damaged afterwards is detected and redone
    with h5py.File(out / "shard-000000.h5", "r+") as fh:
        fh["ECAL"][0, 12, 12, 12] += 1.0
    manifest = produce(_params(weights), out, workers=1)
    assert manifest["status"] == "complete"
    assert _checksums(manifest) == _checksums(single_worker[1])
    assert manifest["run"]["showers_generated"] == 2 * SHARD  # shard 1 was verified, not redone


def test_cli_refuses_bad_input(weights: Path, tmp_path: Path, single_worker: tuple[Path, dict]) -> None:
    runner = CliRunner()
    base = ["produce", "--model", str(weights), "-n", str(COUNT), "--seed", "5", "--batch-size", "16"]
    r = runner.invoke(app, [*base, "--shard-size", "0", "-o", str(tmp_path / "a")])
    assert r.exit_code == 2 and "shard_size 0" in r.output
    r = runner.invoke(app, [*base, "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "b")])
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output
    assert not (tmp_path / "b").exists()
    r = runner.invoke(app, [*base, "--shard-size", "16", "-o", str(single_worker[0])])
    assert r.exit_code == 2 and "holds another production (differs in shard_size" in r.output
    assert _checksums(json.loads((single_worker[0] / "manifest.json").read_text())) == \
        _checksums(single_worker[1])


def test_shard_seeds_follow_the_recipe(single_worker: tuple[Path, dict]) -> None:
    from caloquant.contract import draw_energies

    out, manifest = single_worker
    seq = np.random.SeedSequence(5).spawn(3)[1]
    with h5py.File(out / "shard-000001.h5") as fh:
        np.testing.assert_array_equal(fh["energy"][:], draw_energies(seq, SHARD, 100.0, 500.0).astype(np.float32))
    assert manifest["shards"][1]["seed"]["spawn_key"] == [1]


def test_bench_produce_writes_its_table_and_estimate(weights: Path) -> None:
    from caloquant.workflows.bench.produce import bench_produce, render_markdown

    result = bench_produce(str(weights), count=32, shard_size=16, batch_size=16)
    assert [r["workers"] for r in result["results"]] == [1, 1, 2]
    assert all(r["showers_per_s"] > 0 and r["bytes_per_shower"] > 0 for r in result["results"])
    est = result["estimate"]
    assert est["wall_hours"] > 0 and est["disk_gb"] == pytest.approx(1e7 * est["bytes_per_shower"] / 1e9)
    assert "10,000,000 showers on 100" in render_markdown(result)


def test_ctrl_c_then_rerun_gives_the_uninterrupted_checksums(weights: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    def _default_sigint() -> None:  # a background job's children start with SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    args = ["produce", "--model", str(weights), "-n", "96", "--shard-size", "16", "--seed", "9", "--batch-size",
            "16", "--workers", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "caloquant.cli.main", *args, "-o", "prod"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob("prod/shard-*.h5")) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    interrupted = json.loads((tmp_path / "prod" / "manifest.json").read_text())
    assert interrupted["status"] == "running"
    runner = CliRunner()
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "prod")]).exit_code == 0
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "clean")]).exit_code == 0
    resumed = json.loads((tmp_path / "prod" / "manifest.json").read_text())
    clean = json.loads((tmp_path / "clean" / "manifest.json").read_text())
    assert resumed["status"] == "complete" and _checksums(resumed) == _checksums(clean)



def test_a_production_stopped_before_its_first_shard_leaves_no_folder(weights: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16, defect 5: a failed produce left an empty output folder."""
    import caloquant.production.run as run

    def interrupted(client, params, out, *args):
        (out / "manifest.json").write_text("{}")  # what a real run writes first
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        produce(_params(weights), tmp_path / "prod", workers=1)
    assert list(tmp_path.iterdir()) == []
