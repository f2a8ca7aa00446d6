from __future__ import annotations

import numpy as np
import pytest

from caloquant.errors import InputValueError
from caloquant.geometry import ECAL
from caloquant.simulator import CHUNK, check_energy_range, default_simulator, draw_energies, load_params
from caloquant.simulator.fit_fluctuations import without_fluctuations
from caloquant.simulator.lateral import cell_fraction_tables
from caloquant.simulator.model import poisson_hits


def test_seeded_simulation_is_reproducible_and_thread_independent() -> None:
    sim = default_simulator()
    ep = draw_energies(5, CHUNK + 40, 100.0, 500.0)
    a = sim.simulate(ep, 5, threads=1)
    b = sim.simulate(ep, 5, threads=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (len(ep), *ECAL.shape) and a.dtype == np.float32
    c = sim.simulate(ep[:10], 6, threads=1)
    assert not np.array_equal(a[:10], c)


@pytest.mark.parametrize("mean", [2e-4, 0.05, 0.7, 1.0, 4.0, 60.0])
def test_the_cell_counts_are_exactly_poisson(mean: float) -> None:
    """The sampler splits at mean 1 and draws the rare nonzero cells apart: each side must keep Poisson's law
    (counts of 0, 1, 2 and 3 and the mean within 4 standard errors of 400 000 draws)."""
    from scipy.stats import poisson

    n = 400_000
    lam = np.full(n, mean, dtype=np.float32)
    cells, counts = poisson_hits(lam, np.random.default_rng(11))
    draws = np.zeros(n, dtype=np.int64)
    draws[cells] = counts
    assert np.all(counts >= 1) and len(np.unique(cells)) == len(cells)
    for k in range(4):
        expected = poisson.pmf(k, float(lam[0]))
        assert abs((draws == k).mean() - expected) <= 4 * np.sqrt(expected * (1 - expected) / n) + 1e-9, k
    assert abs(draws.mean() - float(lam[0])) <= 4 * np.sqrt(float(lam[0]) / n)


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


def test_the_halo_widens_the_first_layers_and_an_empty_halo_changes_nothing() -> None:
    from dataclasses import replace

    from caloquant.simulator import ShowerSimulator

    base = replace(without_fluctuations(load_params()), halo_fraction=(-25.0, 0.0, 0.0, 0.0))
    ep = np.full(200, 300.0)
    normals = np.random.default_rng(0).standard_normal((len(ep), 3))
    plain = ShowerSimulator(base).expected(ep, normals)
    np.testing.assert_allclose(ShowerSimulator(replace(base, halo_fraction=(-40.0, 0.0, 0.0, 0.0)))
                               .expected(ep, normals), plain, rtol=1e-6)
    # a halo of 33 mm holding a half of layer 0's energy, a tenth at tau = 0.25, next to nothing at the maximum
    haloed = ShowerSimulator(replace(base, halo_fraction=(0.5, -10.0, 0.0, 0.0), halo_radius=(3.5, 0.0, 0.0, 0.0)))
    wide = haloed.expected(ep, normals)
    # deep layers keep their energy; a halo wider than the calorimeter leaks some of layer 0's out
    np.testing.assert_allclose(wide[..., 20].sum(), plain[..., 20].sum(), rtol=1e-3)
    assert 0.7 < wide[..., 0].sum() / plain[..., 0].sum() < 1.0

    def outside_7x7(x: np.ndarray, layer: int) -> float:
        lay = x[..., layer].sum(axis=0)
        return float(1 - lay[9:16, 9:16].sum() / lay.sum())

    assert outside_7x7(wide, 0) > outside_7x7(plain, 0) + 0.08
    assert abs(outside_7x7(wide, 20) - outside_7x7(plain, 20)) < 0.01


def test_soft_spots_move_cells_into_the_low_decades_and_keep_the_energy() -> None:
    from dataclasses import replace

    from caloquant.simulator import ShowerSimulator

    base = replace(without_fluctuations(load_params()), spot_gev=3e-4, spot_shape=1.5, spot_fraction=1.0)
    ep = np.full(40, 300.0)
    mu = ShowerSimulator(base).expected(ep, np.random.default_rng(0).standard_normal((len(ep), 3)))
    one = ShowerSimulator(base).fluctuate(mu, np.random.default_rng(1))
    two_kinds = replace(base, spot_fraction=0.5, soft_spot_gev=1e-5, soft_spot_shape=1.0)
    two = ShowerSimulator(two_kinds).fluctuate(mu, np.random.default_rng(1))
    np.testing.assert_allclose([one.sum(), two.sum()], mu.sum(), rtol=0.01)  # spots redistribute, never add

    def low(x: np.ndarray) -> float:
        return float(((x > 0) & (x < 1e-4)).sum() / (x > 0).sum())

    assert low(two) > low(one) + 0.1
    # the compound-Poisson variance the longitudinal fit uses: each kind weighted by its share of the energy
    assert two_kinds.spot_variance_per_gev() == 0.5 * 3e-4 * (1 + 1 / 1.5) + 0.5 * 1e-5 * 2


def test_far_spots_in_clusters_keep_energy_and_hits_and_give_far_hits_neighbours() -> None:
    from dataclasses import replace

    from caloquant.simulator import ShowerSimulator
    from caloquant.simulator.fit_fluctuations import far_neighbour_counts

    single = replace(without_fluctuations(load_params()), cluster_share=0.0)
    ep = np.full(60, 300.0)
    mu = ShowerSimulator(single).expected(ep, np.zeros((len(ep), 3)))  # one shower's map: all spread is the spots'
    alone = ShowerSimulator(single).fluctuate(mu, np.random.default_rng(1))
    paired = ShowerSimulator(replace(single, cluster_share=0.4)).fluctuate(mu, np.random.default_rng(1))
    np.testing.assert_allclose(paired.sum(), alone.sum(), rtol=0.01)
    far = np.hypot(*np.meshgrid(np.arange(25) - 12, np.arange(25) - 12, indexing="ij")) >= 6
    hits = lambda x: (x[:, far] > 0).sum()  # noqa: E731
    assert hits(paired) == pytest.approx(hits(alone), rel=0.05)  # thinned by 1 + q, then the companions
    with_neighbour = lambda x: far_neighbour_counts(x)[0] / far_neighbour_counts(x)[1]  # noqa: E731
    assert with_neighbour(paired) > with_neighbour(alone) + 0.15
    far_energy = lambda x: x[:, far].sum(axis=(1, 2))  # noqa: E731 (per shower)
    assert far_energy(paired).std() > 1.1 * far_energy(alone).std()  # fewer, bigger clusters vary more
    core = np.hypot(*np.meshgrid(np.arange(25) - 12, np.arange(25) - 12, indexing="ij")) <= 2  # left alone
    assert (paired[:, core] > 0).sum() == pytest.approx((alone[:, core] > 0).sum(), rel=0.005)
    assert paired[:, core].sum(axis=(1, 2)).std() == pytest.approx(alone[:, core].sum(axis=(1, 2)).std(), rel=0.25)


def test_layer_noise_loosens_the_layers_and_is_off_by_default() -> None:
    from dataclasses import replace

    from caloquant.simulator import ShowerSimulator

    base = replace(without_fluctuations(load_params()), layer_sigma=(0.0, 0.0, 0.0))
    assert not base.layer_noise
    ep = np.full(400, 300.0)
    normals = np.random.default_rng(0).standard_normal((len(ep), 3 + ECAL.n_layers))
    rigid, _ = ShowerSimulator(base).longitudinal(ep, normals[:, :3])
    np.testing.assert_array_equal(ShowerSimulator(base).longitudinal(ep, normals)[0], rigid)  # zero width: off
    loose, _ = ShowerSimulator(replace(base, layer_sigma=(0.3, 0.0, 0.0))).longitudinal(ep, normals)
    np.testing.assert_allclose(loose.mean(axis=0), rigid.mean(axis=0), rtol=0.1)  # mean-preserving noise
    assert np.corrcoef(loose[:, 10], loose[:, 14])[0, 1] < np.corrcoef(rigid[:, 10], rigid[:, 14])[0, 1] - 0.2


def test_correlated_layer_noise_moves_neighbours_together() -> None:
    from dataclasses import replace

    from caloquant.simulator import ShowerSimulator

    base = replace(without_fluctuations(load_params()), layer_sigma=(0.3, 0.0, 0.0), layer_rho=0.0)
    ep = np.full(2000, 300.0)
    normals = np.random.default_rng(1).standard_normal((len(ep), 3 + ECAL.n_layers))
    normals[:, :3] = 0.0  # the profile fixed: only the layer noise varies

    def log_corr(rho: float, a: int, b: int) -> float:
        layer, _ = ShowerSimulator(replace(base, layer_rho=rho)).longitudinal(ep, normals)
        return float(np.corrcoef(np.log(layer[:, a]), np.log(layer[:, b]))[0, 1])

    assert abs(log_corr(0.0, 10, 11)) < 0.1
    assert abs(log_corr(0.8, 10, 11) - 0.8) < 0.05 and abs(log_corr(0.8, 10, 13) - 0.8**3) < 0.06
