"""Sharded, resumable, exactly-once shower production on Dask distributed (`caloquant produce`)."""

from caloquant.production.plan import MANIFEST, ProductionParams

__all__ = ["MANIFEST", "ProductionParams"]
