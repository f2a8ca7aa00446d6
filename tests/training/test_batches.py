from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caloquant.data.slices import parse_file_slice
from caloquant.errors import InputValueError
from caloquant.training.batches import ShowerBank, symmetry_images


def test_file_slices_parse() -> None:
    assert parse_file_slice("a/b.h5") == (Path("a/b.h5"), None, None)
    assert parse_file_slice("a/b.h5[800:]") == (Path("a/b.h5"), 800, None)
    assert parse_file_slice("b.h5[:10]") == (Path("b.h5"), None, 10)
    assert parse_file_slice("b.h5[3:10]") == (Path("b.h5"), 3, 10)


def test_eight_symmetries_are_distinct_and_keep_the_beam_cell() -> None:
    rng = np.random.default_rng(0)
    shower = rng.random((1, 25, 25, 25)).astype(np.float32)
    images = [symmetry_images(shower, np.array([k]))[0] for k in range(8)]
    assert len({img.tobytes() for img in images}) == 8
    for img in images:
        assert img[12, 12].tolist() == shower[0, 12, 12].tolist()  # the beam cell maps onto itself
        np.testing.assert_allclose(img.sum(axis=(0, 1)), shower[0].sum(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_array_equal(images[1], shower[0, ::-1])
    np.testing.assert_array_equal(images[4], shower[0].transpose(1, 0, 2))


def test_bank_batches_are_seeded_and_slices_select(shower_file: Path) -> None:
    bank = ShowerBank([(shower_file, 10, 40), (shower_file, None, 8)], seed=3)
    assert len(bank.ep) == 38 and "[10:40]" in bank.describe()
    lo, hi = bank.energy_range  # the claimed range: the data's, rounded out to 10 GeV
    assert lo % 10 == 0 and hi % 10 == 0 and lo <= bank.ep.min() and hi >= bank.ep.max() and hi - lo <= 400
    a, b = bank.batch(5, 16), bank.batch(5, 16)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], bank.batch(6, 16)[0])
    totals = np.sort(a[0].sum(axis=(1, 2, 3)))  # symmetries move energy, never change a shower's total
    np.testing.assert_allclose(totals, np.sort(bank.ecal[np.isin(bank.ep, a[1])].sum(axis=(1, 2, 3))), rtol=1e-5)
    with pytest.MonkeyPatch.context() as mp, pytest.raises(InputValueError, match="more than the 100 held in memory"):
        mp.setattr("caloquant.training.batches.MAX_IN_MEMORY", 100)
        ShowerBank([(shower_file, None, None)] * 2, seed=1)
    with pytest.raises(InputValueError, match=r"\[70:80\]: selects no shower \(file holds 64\)"):
        ShowerBank([(shower_file, 50, 60), (shower_file, 70, 80)], seed=1)
