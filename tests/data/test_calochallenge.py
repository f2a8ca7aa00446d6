from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from caloquant.data import CaloChallengeBinning, open_showers, write_calochallenge
from caloquant.data.calochallenge import CaloChallengeSource
from caloquant.errors import DataFormatError

XML = """<Bins>
  <Particle name="electron" pid="11">
    <Layer id="0" r_edges="0,4.65,9.3,13.95" n_bin_alpha="4" />
    <Layer id="1" r_edges="0" n_bin_alpha="1" />
    <Layer id="2" r_edges="0,5,10" n_bin_alpha="1" />
  </Particle>
</Bins>
"""


def test_round_trip_layer_major_mev(tmp_path: Path, small_showers) -> None:
    ecal, ep = small_showers
    path = tmp_path / "cc.h5"
    n = write_calochallenge(path, iter([(ecal[:30], ep[:30]), (ecal[30:], ep[30:])]))
    assert n == len(ecal)
    with h5py.File(path) as fh:
        flat = fh["showers"][:2]
        assert fh["incident_energies"].shape == (len(ecal), 1)
        np.testing.assert_allclose(fh["incident_energies"][:, 0], ep * 1000, rtol=1e-6)
    # layer-major: the first 625 voxels are layer 0, x-major then y
    np.testing.assert_allclose(flat[1, :625].reshape(25, 25), ecal[1, :, :, 0] * 1000, rtol=1e-6)
    src = open_showers(path)
    got, got_ep = src.read(0, len(ecal))
    np.testing.assert_allclose(got, ecal, rtol=1e-6)
    np.testing.assert_allclose(got_ep, ep, rtol=1e-6)
    layers = np.concatenate([s for s, _ in src.iter_layer_energies(chunk_size=20)])
    np.testing.assert_allclose(layers, ecal.sum(axis=(1, 2)), rtol=1e-5)


def test_foreign_layout_sums_layers_with_binning_xml(tmp_path: Path) -> None:
    xml = tmp_path / "binning.xml"
    xml.write_text(XML)
    binning = CaloChallengeBinning.from_xml(xml, "electron")
    assert binning.voxels_per_layer == (12, 0, 2)
    rng = np.random.default_rng(0)
    showers = rng.uniform(0, 5, size=(5, 14)).astype(np.float32)
    path = tmp_path / "ds.h5"
    with h5py.File(path, "w") as fh:
        fh["showers"] = showers
        fh["incident_energies"] = np.full((5, 1), 1000.0)
    src = open_showers(path)
    assert isinstance(src, CaloChallengeSource) and not src.is_caloquant_layout
    sums = np.concatenate([s for s, _ in src.iter_layer_energies(binning)])
    np.testing.assert_allclose(sums[:, 0], showers[:, :12].sum(axis=1) / 1000, rtol=1e-6)
    np.testing.assert_allclose(sums[:, 1], 0.0)
    np.testing.assert_allclose(sums[:, 2], showers[:, 12:].sum(axis=1) / 1000, rtol=1e-6)
    with pytest.raises(DataFormatError, match="not in the 25x25x25 geometry"):
        src.read(0, 2)
    wrong = CaloChallengeBinning("x", (3, 3))
    with pytest.raises(DataFormatError, match="describes 6 voxels but the file has 14"):
        next(src.iter_layer_energies(wrong))


def test_bad_binning_xml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<Bins><Particle name='photon'></Particle></Bins>")
    with pytest.raises(DataFormatError, match="no <Particle> block named 'electron'"):
        CaloChallengeBinning.from_xml(bad, "electron")
    with pytest.raises(DataFormatError, match="has no <Layer>"):
        CaloChallengeBinning.from_xml(bad)
