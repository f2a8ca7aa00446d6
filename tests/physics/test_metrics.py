"""Every metric on its own: an analytic case it must reproduce and a fixed-seed golden value that pins it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from caloquant.physics.classifier import classifier_test
from caloquant.physics.distances import _frechet, _mmd2_poly, fpd, kpd, separation_power, wasserstein
from caloquant.physics.quantities import robust_spread, robust_width
from caloquant.physics.response import linearity, resolution_fit


def _gaussians(seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((600, 4)), rng.standard_normal((600, 4)) + np.array([0.3, 0, 0, 0])


def test_separation_power_is_zero_half_and_one_for_known_overlaps() -> None:
    bins = np.array([0.0, 1.0, 2.0, 3.0])
    left, middle, right = np.full(10, 0.5), np.full(10, 1.5), np.full(10, 2.5)
    assert separation_power(left, left, bins) == 0.0
    assert separation_power(left, right, bins) == pytest.approx(1.0)
    # half of each sample in the shared bin: 0.5 * (0.25 / 0.5 + 0 + 0.25 / 0.5)
    assert separation_power(np.r_[left, middle], np.r_[middle, right], bins) == pytest.approx(0.5)


def test_wasserstein_of_a_shift_is_the_shift_in_reference_sigmas() -> None:
    b = np.random.default_rng(1).standard_normal(5000) * 2.0
    assert wasserstein(b + 0.5, b) == pytest.approx(0.5 / b.std(), rel=1e-9)


def test_frechet_distance_of_a_pure_shift_is_its_squared_length() -> None:
    x = np.random.default_rng(2).standard_normal((500, 3))
    shift = np.array([0.3, -0.4, 0.0])
    assert _frechet(x, x + shift) == pytest.approx(0.25, abs=1e-9)  # equal covariances: |mu1 - mu2|^2 only


def test_fpd_extrapolates_to_the_true_distance_and_keeps_its_value() -> None:
    x, y = _gaussians()
    value, err = fpd(x, y, seed=3)
    assert abs(value - 0.09) < 2 * err  # the Gaussians differ by 0.3 in one mean: FPD = 0.09
    assert (value, err) == pytest.approx((0.09785336636553948, 0.05071093724181072), rel=1e-6)


def test_fpd_of_paired_samples_is_not_pulled_below_zero() -> None:
    """Issue 16, defect 10: int8 against float32 on the same latents gave FPD -7.2 +- 1.7. Drawn from the
    same events, the subsamples of a paired sample overlap more the larger they are; drawn from disjoint
    halves they do not, and a sample against itself plus noise is 0 within its error."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1200, 30)) @ rng.standard_normal((30, 30)) * 0.2
    y = x + 0.01 * rng.standard_normal(x.shape)
    value, err = fpd(x, y, paired=True, seed=1)
    assert abs(value) < 3 * err and err < 0.5
    unpaired, unpaired_err = fpd(x, y, seed=1)  # the same data read as independent samples: below zero
    assert unpaired < -4 * unpaired_err


def test_fpd_refuses_samples_too_small_for_its_features() -> None:
    """Below 4 events per feature the Frechet distance is not yet linear in 1/N: 151 features and 250
    events gave 10.6 +- 3.1 for two samples of one distribution."""
    from caloquant.physics.distances import fpd_minimum_events

    assert fpd_minimum_events(151) == 604 and fpd_minimum_events(151, paired=True) == 1208
    x = np.random.default_rng(1).standard_normal((100, 30))
    with pytest.raises(ValueError, match="at least 120 events per sample for 30 features, got 100"):
        fpd(x, x)


def test_a_feature_the_reference_holds_constant_does_not_blow_up_the_distances() -> None:
    """The paired int8 check read FPD 8e23 +- 1e24 and KPD 0.1 +- 1e31: float32 left layer 0 empty in all
    but one shower (reference std 1e-9), int8 put noise there. Standardised by both samples' spread, the
    distances stay finite and sane."""
    from caloquant.physics.distances import standardise

    rng = np.random.default_rng(8)
    xr, xs = rng.standard_normal((1000, 5)), rng.standard_normal((1000, 5))
    xr[:, 0] = 0.0
    xr[0, 0] = 3e-8  # one faint cell in one reference shower
    xs[:, 0] = 0.01 * np.abs(rng.standard_normal(1000))
    blown, _ = fpd(standardise(xs, xr), standardise(xr, xr), seed=1)
    pooled = np.concatenate([xs, xr])
    value, err = fpd(standardise(xs, xr, pooled), standardise(xr, xr, pooled), seed=1)
    k_value, k_err = kpd(standardise(xs, xr, pooled), standardise(xr, xr, pooled), seed=1)
    assert blown > 1e10
    assert 0.5 < value < 10 and err < 1 and abs(k_value) < 50 and k_err < 50


def test_mmd_of_two_point_masses_is_analytic() -> None:
    # d = 1, x = {1, 1}, y = {0, 0}: k(1,1) + k(0,0) - 2 k(1,0) with k(a, b) = (ab + 1)^3 = 8 + 1 - 2
    assert _mmd2_poly(np.ones((2, 1)), np.zeros((2, 1))) == pytest.approx(7.0)


def test_kpd_is_near_zero_for_one_distribution_and_keeps_its_value() -> None:
    x, y = _gaussians()
    same, same_err = kpd(x[:300], x[300:], seed=3)
    assert abs(same) < 3 * same_err
    assert kpd(x, y, seed=3, batch_size=300) == pytest.approx((0.08851931964864379, 0.02545692732627023), rel=1e-6)


def test_classifier_auc_of_shifted_gaussians_is_analytic() -> None:
    rng = np.random.default_rng(21)
    xs, xr = rng.standard_normal((800, 3)), rng.standard_normal((800, 3)) + np.array([1.0, 0, 0])
    r = classifier_test(xs, xr, seed=2)
    assert abs(r["auc"] - norm.cdf(1 / np.sqrt(2))) < 3 * r["auc_se"]  # best AUC for a unit shift: 0.760
    assert (r["auc"], r["jsd"]) == pytest.approx((0.7066454612184977, 0.08419412877191945), rel=1e-6)


def test_classifier_cannot_tell_one_distribution_from_itself() -> None:
    x = np.random.default_rng(5).standard_normal((1200, 3))
    r = classifier_test(x[:600], x[600:], seed=1)
    assert abs(r["auc"] - 0.5) < 3 * r["auc_se"] + 0.01


def test_linearity_and_resolution_fit_recover_their_parameters() -> None:
    ep = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    points = {"ep": ep, "mean_visible": 0.0215 * ep + 0.3, "resolution": np.sqrt(0.17**2 / ep + 0.011**2)}
    assert linearity(points) == pytest.approx((0.0215, 0.3), rel=1e-9)
    assert resolution_fit(points) == pytest.approx((0.17, 0.011), rel=1e-4)


def test_robust_spread_of_a_gaussian_is_its_relative_sigma() -> None:
    x = norm.ppf(np.linspace(0.0005, 0.9995, 20001)) * 0.1 + 2.0  # quantiles of N(2, 0.1)
    assert robust_width(x) == pytest.approx(0.1, rel=2e-3)  # IQR / 1.349 = sigma
    assert robust_spread(x) == pytest.approx(0.05, rel=2e-3)


def test_kpd_error_is_honest_when_the_batch_size_reaches_the_sample_size() -> None:
    """Batches as large as the sample were the whole sample every time: an error of 1e-16 fed the verdict."""
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((2000, 5)), rng.standard_normal((2000, 5))
    value, err = kpd(x, y, batch_size=2000, seed=1)
    assert err > 1e-4 and abs(value) < 3 * err
