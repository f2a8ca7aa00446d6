"""'FILE.h5[START:STOP]': a slice of a shower file, wherever a command takes Geant4 showers (train, fit-sim)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from caloquant.data.reader import open_showers

__all__ = ["parse_file_slice", "read_file_slice"]

_SLICE = re.compile(r"^(?P<path>.+)\[(?P<start>\d*):(?P<stop>\d*)\]$")


def parse_file_slice(text: str) -> tuple[Path, int | None, int | None]:
    """'FILE.h5' or 'FILE.h5[START:STOP]' (either bound may be empty) -> (path, start, stop)."""
    m = _SLICE.match(text)
    if m is None:
        return Path(text), None, None
    return (Path(m["path"]), int(m["start"]) if m["start"] else None, int(m["stop"]) if m["stop"] else None)


def read_file_slice(text: str, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Showers and primary energies of 'FILE.h5' or 'FILE.h5[START:STOP]', at most ``count`` of them from START."""
    path, start, stop = parse_file_slice(text)
    source = open_showers(path)
    first = start or 0
    last = stop or source.n_showers
    return source.read(first, last if count is None else min(last, first + count))
