from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.data import open_showers

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_simulate_writes_a_readable_file_and_info_describes_it(tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    res = _run("simulate", "-n", "40", "--energy", "150:250", "--seed", "2", "-o", out)
    assert res.exit_code == 0, res.output
    src = open_showers(out)
    assert src.n_showers == 40
    ep = src.energies()
    assert ep.min() >= 150 and ep.max() <= 250
    info = _run("info", out)
    assert info.exit_code == 0
    assert "40" in info.output and "3DGAN" in info.output


def test_simulate_calochallenge_format(tmp_path: Path) -> None:
    out = tmp_path / "cc.h5"
    assert _run("simulate", "-n", "10", "--format", "calochallenge", "-o", out).exit_code == 0
    with h5py.File(out) as fh:
        assert fh["showers"].shape == (10, 15625)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "0"], "--count 0: must be a positive integer"),
        (["-n", "-3"], "--count -3"),
        (["--energy", "10:500"], "outside the range the simulator was fitted for"),
        (["--energy", "100-500"], "expected LO:HI"),
        (["--energy", "500:100"], "need 0 < LO < HI"),
        (["--format", "root"], "--format 'root'"),
    ],
)
def test_simulate_bad_input_exit_2_one_line_no_output(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "s.h5"
    res = _run("simulate", *args, "-o", out)
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_path(tmp_path: Path) -> None:
    res = _run("simulate", "-n", "5", "-o", tmp_path / "missing_dir" / "s.h5")
    assert res.exit_code == 2 and "does not exist" in res.output
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        res = _run("simulate", "-n", "5", "-o", ro / "s.h5")
        assert res.exit_code == 2


def test_info_bad_files(tmp_path: Path) -> None:
    res = _run("info", tmp_path / "nope.h5")
    assert res.exit_code == 2 and "no such file" in res.output
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as fh:
        fh["ECAL"] = np.zeros((2, 25, 25, 25), np.float32)
        fh["energy"] = np.array([np.nan, 100.0])
    res = _run("info", bad)
    assert res.exit_code == 2 and "event 0 is nan" in res.output


def test_compare_sim_json(tmp_path: Path, shower_file: Path) -> None:
    out = tmp_path / "cmp.json"
    res = _run("compare-sim", "-r", shower_file, "--oversample", "1", "-o", out)
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert result["schema_version"] == 1 and result["versions"]["numpy"]
    assert result["references"][0]["summary"]
