"""Issue 17: one simulator fit per particle, refused where it does not belong."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from caloquant.cli.main import app


def test_an_unknown_particle_is_refused_naming_the_choices(tmp_path: Path) -> None:
    for args in (["simulate", "-n", "4", "--particle", "mu", "-o", str(tmp_path / "s.h5")],
                 ["fit-sim", "x.h5", "--particle", "pi+", "-o", str(tmp_path / "p.json")]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and "expected e- or gamma" in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_parameters_fitted_for_another_particle_or_calorimeter_are_refused(tmp_path: Path) -> None:
    from caloquant.simulator import load_params

    shipped = load_params().to_json()
    cases = {"gamma.json": ({**shipped, "particle": "gamma"}, "fitted for gamma, not e-"),
             "other.json": ({**shipped, "geometry": "30x30 cells of 4 mm"}, "fitted for another calorimeter")}
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(content))
        r = CliRunner().invoke(app, ["simulate", "-n", "4", "--params", str(path), "-o", str(tmp_path / "s.h5")])
        assert r.exit_code == 2 and message in r.output and str(path) in r.output, r.output
    assert load_params(tmp_path / "gamma.json", "gamma").particle == "gamma"


def test_fit_targets_read_a_slice(tmp_path: Path, small_showers) -> None:
    from caloquant.data import write_3dgan
    from caloquant.simulator.fit import load_targets

    ecal, ep = small_showers
    path = tmp_path / "g4.h5"
    write_3dgan(path, ecal, ep)
    part = load_targets(path, start=3, limit=5)
    np.testing.assert_allclose(part.features.ep, ep[3:8].astype(np.float64), rtol=1e-6)
    assert part.slice_text == "[3:8]"


def test_fit_sim_can_keep_a_fits_profile_and_refit_only_the_fluctuations(tmp_path: Path, small_showers) -> None:
    from caloquant.data import write_3dgan
    from caloquant.simulator import load_params
    from caloquant.simulator.fit_fluctuations import FLUCTUATION_FIELDS

    ecal, ep = small_showers
    write_3dgan(tmp_path / "g4.h5", ecal, ep)
    shipped = load_params()
    fits = resources.files("caloquant.simulator")
    r = CliRunner().invoke(app, ["fit-sim", str(tmp_path / "g4.h5"), "--profile-from",
                                 str(fits.joinpath("fitted_params.json")), "-o", str(tmp_path / "p.json")])
    assert r.exit_code == 0, r.output
    fitted = load_params(tmp_path / "p.json")
    for name in ("lnT", "core_radius", "halo_fraction", "spot_gev", "response"):  # the profile stages, kept
        assert getattr(fitted, name) == getattr(shipped, name)
    assert all(len(getattr(fitted, name)) for name in FLUCTUATION_FIELDS)  # the fluctuations, refitted here
    assert fitted.provenance["n_showers"] == 64 and "--profile-from" in fitted.provenance["method"]
    r = CliRunner().invoke(app, ["fit-sim", str(tmp_path / "g4.h5"), "--profile-from",
                                 str(fits.joinpath("fitted_params_gamma.json")), "-o", str(tmp_path / "q.json")])
    assert r.exit_code == 2 and "fitted for gamma, not e-" in r.output and not (tmp_path / "q.json").exists()
