from __future__ import annotations

import numpy as np

from caloquant.physics.compare import compare_features, standard_quantities
from caloquant.physics.features import extract_features
from caloquant.physics.quantities import shape_numbers
from caloquant.physics.selection import selection_metric
from caloquant.physics.stats import bootstrap_se, compare_values


def test_shape_numbers_analytic() -> None:
    s = np.zeros(25)
    s[[10, 14]] = 1.0
    mean, std = shape_numbers(s)
    assert mean == 12.0 and std == 2.0


def test_bootstrap_se_of_a_mean() -> None:
    x = np.random.default_rng(1).normal(0, 2.0, 4000)
    se = bootstrap_se(lambda i: x[i].mean(), len(x), n_boot=300, seed=1)
    assert abs(se - 2.0 / np.sqrt(4000)) / (2.0 / np.sqrt(4000)) < 0.15


def test_compatibility_rule() -> None:
    c = compare_values("q", "all", 1.03, 0.001, 1.0, 0.001, tolerance=0.02, k=4)
    assert not c.compatible  # 3 % > max(2 %, 4 * 0.14 %)
    c = compare_values("q", "all", 1.03, 0.01, 1.0, 0.0, tolerance=0.02, k=4)
    assert c.compatible  # 3 % < 4 * 1 %


def test_identical_samples_compatible_and_zero_selection_metric(small_showers) -> None:
    feats = extract_features([small_showers])
    rows = compare_features(feats, feats, standard_quantities(), min_events=5, n_boot=20)
    assert rows and all(r.compatible and r.diff == 0 for r in rows)
    m = selection_metric(feats, feats, centres=(300.0,), half_width=200.0, min_events=5)
    assert m.value == 0.0


def test_energy_scale_shift_is_caught(small_showers) -> None:
    ecal, ep = small_showers
    feats = extract_features([(ecal, ep)])
    shifted = extract_features([(ecal * 1.05, ep)])
    rows = compare_features(shifted, feats, standard_quantities(), min_events=5, n_boot=20, bins=((100, 500),))
    sf = next(r for r in rows if r.name == "sampling fraction mean" and r.bin == "all")
    assert abs(sf.diff - 0.05) < 1e-6
