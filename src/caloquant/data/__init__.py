"""Shower files: the 3DGAN and CaloChallenge HDF5 layouts, read and written in chunks."""

from caloquant.data.calochallenge import CaloChallengeBinning, write_calochallenge
from caloquant.data.reader import ShowerSource, open_showers
from caloquant.data.threedgan import ShowerWriter, write_3dgan

__all__ = [
    "CaloChallengeBinning",
    "ShowerSource",
    "ShowerWriter",
    "open_showers",
    "write_3dgan",
    "write_calochallenge",
]
