"""'FILE.h5[START:STOP]' wherever a command takes Geant4 showers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caloquant.data.slices import parse_file_slice, read_file_slice


def test_a_slice_reads_its_showers_and_at_most_count_of_them(shower_file: Path, small_showers) -> None:
    ecal, ep = small_showers
    assert parse_file_slice(f"{shower_file}[10:]") == (shower_file, 10, None)
    got, got_ep = read_file_slice(f"{shower_file}[10:30]")
    np.testing.assert_array_equal(got, ecal[10:30])
    np.testing.assert_array_equal(got_ep, ep[10:30])
    assert len(read_file_slice(f"{shower_file}[10:30]", count=5)[1]) == 5
    assert len(read_file_slice(str(shower_file), count=7)[1]) == 7
    assert len(read_file_slice(f"{shower_file}[60:]")[1]) == len(ep) - 60
