from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from caloquant.data import ShowerWriter, open_showers, write_3dgan
from caloquant.errors import DataFormatError


def test_round_trip_exact(shower_file: Path, small_showers: tuple[np.ndarray, np.ndarray]) -> None:
    ecal, ep = small_showers
    src = open_showers(shower_file)
    assert src.n_showers == len(ecal)
    got, got_ep = src.read(0, src.n_showers)
    np.testing.assert_array_equal(got, ecal)
    np.testing.assert_array_equal(got_ep, ep)


def test_chunked_reading_of_file_larger_than_a_chunk(shower_file: Path, small_showers) -> None:
    ecal, _ = small_showers
    chunks = list(open_showers(shower_file).iter_chunks(chunk_size=10))
    assert [len(c) for c, _ in chunks] == [10] * 6 + [4]
    np.testing.assert_array_equal(np.concatenate([c for c, _ in chunks]), ecal)


def test_writer_appends_in_chunks_and_compresses(tmp_path: Path, small_showers) -> None:
    ecal, ep = small_showers
    path = tmp_path / "chunked.h5"
    with ShowerWriter(path) as w:
        for s in range(0, len(ecal), 7):
            w.append(ecal[s : s + 7], ep[s : s + 7])
    with h5py.File(path) as fh:
        assert fh["ECAL"].compression == "gzip"
        assert fh["ECAL"].chunks[0] < len(ecal)
    assert path.stat().st_size < ecal.nbytes / 2
    np.testing.assert_array_equal(open_showers(path).read(0, 64)[0], ecal)


def test_writer_leaves_nothing_when_interrupted(tmp_path: Path, small_showers) -> None:
    ecal, ep = small_showers
    path = tmp_path / "partial.h5"
    with pytest.raises(KeyboardInterrupt), ShowerWriter(path) as w:
        w.append(ecal[:8], ep[:8])
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_old_target_layout_and_51x51_crop(tmp_path: Path, small_showers) -> None:
    ecal, ep = small_showers
    big = np.zeros((len(ecal), 51, 51, 25), dtype=np.float32)
    big[:, 13:38, 13:38, :] = ecal  # beam cell 25 of 51 -> 12 of 25
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as fh:
        fh["ECAL"] = big
        fh["target"] = np.stack([np.zeros_like(ep), ep, np.zeros_like(ep)], axis=1)
    src = open_showers(path)
    got, got_ep = src.read(0, len(ecal))
    np.testing.assert_array_equal(got, ecal)
    np.testing.assert_array_equal(got_ep, ep)
    assert src.describe()["cropped_from"] == [51, 51, 25]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"foo": np.zeros(3)}, "neither 3DGAN"),
        ({"ECAL": np.zeros((2, 25, 25, 25), np.float32)}, "no primary-energy dataset"),
        ({"ECAL": np.zeros((2, 25, 25), np.float32), "energy": np.ones(2)}, "expected (N, 25, 25, 25)"),
        ({"ECAL": np.zeros((2, 24, 25, 25), np.float32), "energy": np.ones(2)}, "shape (24, 25, 25)"),
        ({"ECAL": np.zeros((2, 25, 25, 25), np.float32), "energy": np.ones(3)}, "holds 3 values"),
        ({"ECAL": np.zeros((2, 25, 25, 25), np.float32), "energy": np.array([100.0, -5.0])}, "event 1 is -5.0"),
        ({"ECAL": np.zeros((2, 25, 25, 25), np.float32), "energy": np.array([100.0, np.nan])}, "event 1 is nan"),
        ({"ECAL": np.zeros((0, 25, 25, 25), np.float32), "energy": np.ones(0)}, "holds no showers"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: dict, message: str) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as fh:
        for k, v in content.items():
            fh[k] = v
    with pytest.raises(DataFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_showers(path)


def test_nan_and_negative_cells_are_reported_with_the_event(tmp_path: Path, small_showers) -> None:
    ecal, ep = small_showers
    bad = ecal[:4].copy()
    bad[2, 12, 12, 10] = np.nan
    write_3dgan(tmp_path / "nan.h5", bad, ep[:4])
    with pytest.raises(DataFormatError, match="event 2 has NaN"):
        open_showers(tmp_path / "nan.h5").read(0, 4)
    bad[2, 12, 12, 10] = -1.0
    write_3dgan(tmp_path / "neg.h5", bad, ep[:4])
    with pytest.raises(DataFormatError, match="event 2 has negative"):
        list(open_showers(tmp_path / "neg.h5").iter_chunks(2))


def test_missing_and_non_hdf5_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file"):
        open_showers(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(DataFormatError, match="not a readable HDF5 file"):
        open_showers(tmp_path / "text.h5")
