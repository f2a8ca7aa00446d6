"""Validation against deliberately distorted copies: each distortion is caught by the metric that should."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app
from caloquant.data import write_3dgan
from caloquant.physics.validate import ValidationConfig, validate
from caloquant.simulator import ShowerSimulator, draw_energies, load_params

N = 1000
FAST = ValidationConfig(n_boot=30, voxel_classifier=False)


def _simulate(seed: int, widen: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    p = load_params()
    if widen != 1.0:
        shift = float(np.log(widen))
        p = replace(p, core_radius=(p.core_radius[0] + shift, *p.core_radius[1:]),
                    tail_radius=(p.tail_radius[0] + shift, *p.tail_radius[1:]))
    ep = draw_energies(seed, N, 100.0, 500.0)
    return ShowerSimulator(p).simulate(ep, seed), ep.astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("validate")
    ref, ep = _simulate(11)
    same, ep2 = _simulate(12)
    wide, ep3 = _simulate(12, widen=1.2)
    shifted = np.roll(same, 1, axis=3)
    shifted[..., 0] = 0.0
    paths = {"reference": d / "ref.h5", "same": d / "same.h5", "scaled": d / "scaled.h5",
             "shifted": d / "shifted.h5", "wide": d / "wide.h5", "paired": d / "paired.h5"}
    write_3dgan(paths["reference"], ref, ep)
    write_3dgan(paths["same"], same, ep2)
    write_3dgan(paths["scaled"], same * np.float32(1.05), ep2)
    write_3dgan(paths["shifted"], shifted, ep2)
    write_3dgan(paths["wide"], wide, ep3)
    write_3dgan(paths["paired"], ref * np.float32(1.01), ep)
    return paths


def _failing(metrics: dict, bin_label: str = "all") -> set[str]:
    return {q["name"].split(" L")[0] for q in metrics["quantities"] if not q["compatible"] and q["bin"] == bin_label}


def test_independent_samples_of_one_process_are_compatible(files: dict[str, Path]) -> None:
    m = validate(files["same"], files["reference"], FAST)
    assert m["compatible"], [q["name"] + " " + q["bin"] for q in m["quantities"] if not q["compatible"]]
    assert abs(m["classifier"]["hlf"]["auc"] - 0.5) < 0.06


def test_energy_scale_is_caught_by_the_sampling_fraction(files: dict[str, Path]) -> None:
    m = validate(files["scaled"], files["reference"], FAST)
    assert "sampling fraction mean" in _failing(m)
    assert not m["compatible"]


def test_longitudinal_shift_is_caught_by_depth_quantities(files: dict[str, Path]) -> None:
    fails = _failing(validate(files["shifted"], files["reference"], FAST))
    assert {"z mean", "M1 z", "layer profile"} <= fails
    assert "y std" not in fails


def test_wider_lateral_profile_is_caught_by_widths_and_containment(files: dict[str, Path]) -> None:
    fails = _failing(validate(files["wide"], files["reference"], FAST))
    assert {"y std", "M2 y", "containment 1x1"} <= fails
    assert "z mean" not in fails


def test_paired_pixelwise_difference_has_the_known_value(files: dict[str, Path]) -> None:
    m = validate(files["paired"], files["reference"], replace(FAST, paired=True))
    assert m["paired"]["n_pairs"] == N
    assert m["paired"]["pixelwise_relative"]["value"] == pytest.approx(0.01, rel=1e-3)
    assert np.allclose(m["paired"]["per_layer_relative"], 0.01, rtol=1e-3)


runner = CliRunner()


def test_cli_writes_metrics_plots_and_summary(tmp_path: Path, files: dict[str, Path]) -> None:
    out = tmp_path / "val"
    res = runner.invoke(app, ["validate", "--samples", str(files["same"]), "--reference", str(files["reference"]),
                              "-o", str(out), "--n-boot", "20", "--no-voxel-classifier", "--check"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["schema_version"] == 1 and metrics["kind"] == "validate"
    assert (out / "summary.txt").read_text().startswith("caloquant validate")
    for name in ("shapes_all", "shapes_100-200", "response", "features", "mean_image"):
        assert (out / f"{name}.png").stat().st_size > 0 and (out / f"{name}.pdf").exists()
    res = runner.invoke(app, ["validate", "--samples", str(files["scaled"]), "--reference", str(files["reference"]),
                              "-o", str(tmp_path / "v2"), "--n-boot", "20", "--no-voxel-classifier", "--no-plots",
                              "--check"])
    assert res.exit_code == 1


def _bad_files(tmp: Path, ref: Path) -> dict[str, tuple[list[str], str]]:
    import h5py

    geo = tmp / "geometry.h5"
    with h5py.File(geo, "w") as fh:
        fh["ECAL"] = np.zeros((3, 25, 25, 20), np.float32)
        fh["energy"] = np.full(3, 100.0)
    empty = tmp / "empty.h5"
    with h5py.File(empty, "w") as fh:
        fh["ECAL"] = np.zeros((0, 25, 25, 25), np.float32)
        fh["energy"] = np.zeros(0)
    nan = tmp / "nan.h5"
    x = np.zeros((3, 25, 25, 25), np.float32)
    x[1, 12, 12, 3] = np.nan
    write_3dgan(nan, x, np.full(3, 200.0, np.float32))
    short = tmp / "short.h5"
    write_3dgan(short, np.zeros((5, 25, 25, 25), np.float32), np.full(5, 200.0, np.float32))
    return {
        "geometry": (["--samples", str(geo)], "25, 25, 20"),
        "empty": (["--samples", str(empty)], "holds no showers"),
        "nan": (["--samples", str(nan)], "event 1 has NaN"),
        "paired": (["--samples", str(short), "--paired"], "paired files must match by index"),
    }


@pytest.mark.parametrize("case", ["geometry", "empty", "nan", "paired"])
def test_bad_input_exit_2_and_nothing_written(tmp_path: Path, files: dict[str, Path], case: str) -> None:
    args, message = _bad_files(tmp_path, files["reference"])[case]
    out = tmp_path / "out"
    res = runner.invoke(app, ["validate", *args, "--reference", str(files["reference"]), "-o", str(out),
                              "--no-voxel-classifier", "--n-boot", "10"])
    assert res.exit_code == 2, res.output
    assert message in res.output.replace("\n", "")
    assert not out.exists() or list(out.iterdir()) == []


def test_paired_validation_of_a_sample_against_itself_is_compatible(tmp_path: Path, small_showers) -> None:
    """Twins must land on the same side of the classifier split, or identical samples look separable."""
    from caloquant.data import write_3dgan
    from caloquant.workflows.validation import run_validation

    ecal, ep = small_showers
    shower_file = tmp_path / "twice.h5"  # 128 showers: at least 20 per 100 GeV bin, so every bin is compared
    write_3dgan(shower_file, np.concatenate([ecal, ecal]), np.concatenate([ep, ep]))
    m, _ = run_validation(shower_file, shower_file, tmp_path / "v", paired=True, voxel_classifier=False,
                          plots=False, n_boot=20)
    assert m["verdict"] == "compatible", [q["name"] for q in m["quantities"] if not q["compatible"]]
    assert abs(m["classifier"]["hlf"]["auc"] - 0.5) < 0.15
