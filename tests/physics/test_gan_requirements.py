from __future__ import annotations

import numpy as np

from caloquant.physics.features import extract_features
from caloquant.physics.gan_requirements import required_checks, required_score
from caloquant.physics.images import ImageAccumulator
from caloquant.physics.quantities import ENERGY_BINS


def _means(ecal: np.ndarray, ep: np.ndarray) -> dict[str, np.ndarray]:
    acc = ImageAccumulator({f"{lo}-{hi} GeV": (lo, hi) for lo, hi in ENERGY_BINS}, groups=1)
    acc.add(ecal, ep)
    return {label: acc.mean(label) for label in acc.bins if acc.count(label)}


def test_a_sample_passes_against_itself_and_artefacts_fail(small_showers) -> None:
    ecal, ep = small_showers
    feats = extract_features([(ecal, ep)])
    same = required_checks(feats, feats, _means(ecal, ep), _means(ecal, ep), min_showers=5)
    assert same and all(c.passed for c in same) and required_score(same) == 0.0
    bins = {c.bin for c in same}
    stripe = ecal.copy()
    stripe[:, 0, :, 20] += 1e-3  # a row of energy at x = 0 in a late layer, where the reference has almost none
    checks = required_checks(extract_features([(stripe, ep)]), feats, _means(stripe, ep), _means(ecal, ep),
                             min_showers=5)
    failed = {(c.bin, c.name) for c in checks if not c.passed}
    assert {(b, "faint-cell energy ratio") for b in bins} <= failed
    assert required_score(checks) > 0.5


def test_scaled_energy_fails_the_sampling_fraction_only_beyond_its_bound(small_showers) -> None:
    ecal, ep = small_showers
    feats = extract_features([(ecal, ep)])
    for scale, ok in ((1.02, True), (1.05, False)):
        checks = required_checks(extract_features([(ecal * scale, ep)]), feats, _means(ecal * scale, ep),
                                 _means(ecal, ep), min_showers=5)
        sf = [c for c in checks if c.name == "sampling fraction"]
        assert sf and all(c.passed == ok for c in sf)
