"""Sharded, resumable, exactly-once shower production on Dask distributed (`caloquant produce`)."""

from caloquant.data.production import MANIFEST
from caloquant.production.plan import ProductionParams

__all__ = ["MANIFEST", "ProductionParams"]
