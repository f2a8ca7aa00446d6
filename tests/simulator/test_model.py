from __future__ import annotations

import numpy as np
import pytest

from caloquant.errors import InputValueError
from caloquant.geometry import ECAL
from caloquant.simulator import CHUNK, check_energy_range, default_simulator, draw_energies, load_params
from caloquant.simulator.lateral import cell_fraction_tables


def test_seeded_simulation_is_reproducible_and_thread_independent() -> None:
    sim = default_simulator()
    ep = draw_energies(5, CHUNK + 40, 100.0, 500.0)
    a = sim.simulate(ep, 5, threads=1)
    b = sim.simulate(ep, 5, threads=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (len(ep), *ECAL.shape) and a.dtype == np.float32
    c = sim.simulate(ep[:10], 6, threads=1)
    assert not np.array_equal(a[:10], c)


def test_energies_follow_the_generator_contract() -> None:
    _rng_n, rng_e = (np.random.default_rng(s) for s in np.random.SeedSequence(9).spawn(2))
    np.testing.assert_array_equal(draw_energies(9, 50, 100, 500), rng_e.uniform(100, 500, 50))


def test_energy_scaling_of_deposited_energy_and_shower_depth() -> None:
    sim = default_simulator()
    low = sim.simulate(np.full(300, 100.0), 1, threads=1)
    high = sim.simulate(np.full(300, 400.0), 2, threads=1)
    ratio = high.sum() / low.sum()
    # Deposit grows almost linearly; the sampling fraction falls slightly with energy (Geant4: 2.34 % -> 2.17 %).
    assert 3.5 < ratio < 4.0
    z = np.arange(25)
    depth_low = (low.sum(axis=(0, 1, 2)) * z).sum() / low.sum()
    depth_high = (high.sum(axis=(0, 1, 2)) * z).sum() / high.sum()
    assert depth_high > depth_low + 0.5  # shower maximum moves deeper ~ ln E


def test_showers_are_physical() -> None:
    x = default_simulator().simulate(np.full(100, 250.0), 4, threads=1)
    assert (x >= 0).all() and np.isfinite(x).all()
    assert ((x > 0) & (x < 1e-6)).sum() == 0  # the 1e-6 GeV cut of the generator contract
    sf = x.sum(axis=(1, 2, 3)) / 250.0
    assert 0.020 < np.median(sf) < 0.024
    occupancy = (x > 0).mean()
    assert 0.05 < occupancy < 0.12  # Geant4: 8 % of cells non-zero
    beam = x[:, 12, 12, :].sum() / x.sum()
    assert beam > 0.5


def test_cell_tables_integrate_to_the_radial_cdf() -> None:
    tables = cell_fraction_tables()
    assert tables.shape[1] == 625
    assert np.all(tables.sum(axis=1) <= 1.0 + 1e-5)
    # a very narrow profile lands almost entirely in the beam cell
    assert tables[0].reshape(25, 25)[12, 12] > 0.99


def test_energy_range_outside_the_fit_is_refused() -> None:
    p = load_params()
    check_energy_range(100, 500, p)
    with pytest.raises(InputValueError, match="outside the range the simulator was fitted for"):
        check_energy_range(50, 500, p)
