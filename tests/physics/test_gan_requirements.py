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


def test_required_list_of_a_generator_renders_beside_the_previous_model(tiny, small_showers, tmp_path) -> None:
    from caloquant.data import write_3dgan
    from caloquant.models.io import save_generator
    from caloquant.report.validation_plots import plot_mean_images
    from caloquant.workflows.acceptance import check_required, render_required_markdown

    tiny_weights = tmp_path / "tiny.safetensors"
    save_generator(tiny_weights, tiny, info={"energy_range_gev": [100.0, 500.0]})
    shower_file = tmp_path / "g4.h5"  # 128 showers: every 100 GeV bin holds the 20 a check needs
    write_3dgan(shower_file, *(np.concatenate([a, a]) for a in small_showers))
    result = check_required(tiny_weights, [shower_file], seed=2)
    ref = result["references"][0]
    assert result["kind"] == "gan-required" and ref["n_reference"] == 128
    assert ref["checks"] and ref["n_failed"] == sum(not c["passed"] for c in ref["checks"])
    assert set(ref["mean_images"]) == {c["bin"] for c in ref["checks"]}
    text = render_required_markdown(result, previous=result)
    assert f"{ref['n_failed']} of {len(ref['checks'])} checks off (previous model: {ref['n_failed']})" in text
    assert text.count("| NO |") + text.count("| yes |") == len(ref["checks"])
    paths = plot_mean_images(ref["mean_images"], tmp_path, "GAN", "Geant4")
    assert {p.suffix for p in paths} == {".png", ".pdf"} and all(p.stat().st_size > 0 for p in paths)
