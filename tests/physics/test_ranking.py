"""Issue 17: ranking what gives a sample away, on samples whose difference is known."""

from __future__ import annotations

import numpy as np

from caloquant.physics.ranking import diagnostic_features, rank_features


def test_the_shifted_and_the_widened_feature_rank_first_and_constants_are_left_out() -> None:
    rng = np.random.default_rng(3)
    n = 800
    ref = rng.standard_normal((n, 5))
    smp = rng.standard_normal((n, 5))
    smp[:, 2] += 1.5  # shifted: a one-feature AUC near 0.86
    smp[:, 4] *= 3.0  # widened, same mean: invisible to a threshold, visible to a tree
    ref[:, 3] = smp[:, 3] = 7.0  # constant in both
    r = rank_features(smp, ref, ["a", "b", "shifted", "constant", "widened"], seed=1)
    top = [row["feature"] for row in r["features"][:2]]
    assert set(top) == {"shifted", "widened"} and r["left_out_constant"] == ["constant"]
    rows = {row["feature"]: row for row in r["features"]}
    assert rows["shifted"]["auc_alone"] > 0.8 and rows["widened"]["auc_alone"] > 0.7
    assert rows["a"]["auc_alone"] < 0.6 and abs(rows["a"]["permutation_importance"]) < 0.02
    assert r["auc_all_features"] > 0.9


def test_diagnostic_features_extend_the_classifier_features(small_showers) -> None:
    from caloquant.physics.classifier import hlf_matrix
    from caloquant.physics.features import extract_features

    ecal, ep = small_showers
    f = extract_features([(ecal, ep)])
    x, names = diagnostic_features(f)
    hlf, hlf_names = hlf_matrix(f)
    assert names[: len(hlf_names)] == hlf_names and x.shape == (len(ep), len(names)) and np.isfinite(x).all()
    np.testing.assert_array_equal(x[:, : hlf.shape[1]], hlf)
    spectrum = x[:, [i for i, name in enumerate(names) if name.startswith("hit cells 1e")]]
    np.testing.assert_allclose(spectrum.sum(axis=1), 1.0, rtol=1e-6)  # every hit cell falls in one decade


def test_a_group_tells_apart_what_its_features_alone_cannot() -> None:
    from caloquant.physics.ranking import feature_groups, rank_feature_groups

    rng = np.random.default_rng(5)
    n = 1000
    names = ["E_layer00/Ep", "sparsity_layer00", "wx_layer00", "E_layer13/Ep", "Etot/Ep"]
    ref, smp = rng.standard_normal((n, 5)), rng.standard_normal((n, 5))
    ref[:, 1] = 0.9 * ref[:, 0] + np.sqrt(1 - 0.81) * ref[:, 1]  # the same marginals, opposite dependence
    smp[:, 1] = -0.9 * smp[:, 0] + np.sqrt(1 - 0.81) * smp[:, 1]
    groups = feature_groups(names)
    assert groups["layer energies"] == [0, 3] and groups["layer energies and sparsity"] == [0, 1, 3]
    assert groups["layers 0-6"] == [0, 1, 2] and groups["layers 13-24"] == [3]
    assert groups["all high-level features"] == [0, 1, 2, 3, 4] and "layers 7-12" not in groups
    rows = {r["group"]: r for r in rank_feature_groups(smp, ref, groups)}
    assert rows["layer energies and sparsity"]["auc"] > 0.85 and rows["layers 0-6"]["auc"] > 0.85
    assert rows["layer energies"]["auc"] < 0.6 and rows["layer sparsity"]["auc"] < 0.6
    assert rows["layer widths"]["auc"] < 0.6 and len(rows["layer widths"]["aucs"]) == 3
