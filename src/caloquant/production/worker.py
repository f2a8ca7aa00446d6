"""What runs on a Dask worker: one shard, generated, written and committed exactly once.

Each worker process loads the model once (cached per model, spec and threads) and checks that the model
it sees on the shared filesystem is the one the client hashed. A shard is written under a unique name in
``OUT/.staging/`` and committed with ``os.link`` to its final name: the link either creates the name or
fails because it exists, so a retried or stray attempt can never replace a committed shard.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from caloquant.production.plan import STAGING, ProductionParams, ShardHasher, shard_name, shard_seed, verify_shard

__all__ = ["FAULT_ENV", "run_shard", "worker_versions"]

# Test hook: path of a marker file; the first shard attempt that finds it absent creates it and kills its
# worker process mid-shard, once (the fault-tolerance test; never set in production).
FAULT_ENV = "CALOQUANT_FAULT_KILL_ONCE"
_ENGINES: dict[tuple[str, str | None, int], Any] = {}


def worker_versions() -> dict[str, str | None]:
    from caloquant.metadata import package_versions

    return package_versions()


def _engine(p: ProductionParams) -> Any:
    key = (p.model, p.spec, p.threads)
    if key not in _ENGINES:
        from caloquant.errors import CheckpointError
        from caloquant.precision.identity import model_identity
        from caloquant.precision.modeldir import load_engine

        model = None if p.model == "shipped default" else p.model
        digest, _ = model_identity(model, p.spec)
        if digest != p.model_sha256:
            raise CheckpointError(f"model {p.model}: the worker sees other weights than the client (is the "
                                  "model on a filesystem every worker shares?)")
        _ENGINES[key] = load_engine(model, threads=p.threads, spec=p.spec)
    return _ENGINES[key]


def _maybe_fault() -> None:
    marker = os.environ.get(FAULT_ENV)
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os._exit(17)  # the worker process dies here, mid-shard, with the shard half written in staging


def run_shard(params: dict[str, Any], index: int, out: str) -> dict[str, Any]:
    """Make shard ``index`` unless a verified copy exists; returns its record for the manifest."""
    from caloquant.data import ShowerWriter
    from caloquant.engines.base import generate_batches

    p = ProductionParams(**{**params, "energy": tuple(params["energy"])})
    final = Path(out) / shard_name(index)
    count = p.shard_count(index)
    record = {"index": index, "file": final.name, "count": count}
    if final.exists():
        digest = verify_shard(final, count, index, p.seed)
        if digest is not None:
            return {**record, "sha256": digest, "reused": True, "seconds": 0.0}
        final.unlink()  # not ours or damaged after commit: redo it
    t0 = time.perf_counter()
    engine = _engine(p)
    seq = shard_seed(p.seed, p.n_shards, index)
    staging = Path(out) / STAGING / f"{final.stem}.{uuid.uuid4().hex}.h5"
    staging.parent.mkdir(parents=True, exist_ok=True)
    hasher = ShardHasher()
    attrs = {"generator": "caloquant produce", "model": p.model, "model_sha256": p.model_sha256,
             "engine": f"{engine.name} {engine.precision}", "production_seed": p.seed, "shard_index": index,
             "n_shards": p.n_shards, "shard_spawn_key": list(seq.spawn_key), "energy_range_gev": list(p.energy),
             "threads": p.threads, "batch_size": p.batch_size}
    try:
        with ShowerWriter(staging, attrs=attrs) as writer:
            for ecal, ep in generate_batches(engine, count=count, energy=p.energy, seed=seq,
                                             batch_size=p.batch_size):
                writer.append(ecal, ep)
                hasher.add(ecal, ep)
                _maybe_fault()
            digest = hasher.hexdigest()
            writer.set_attr("sha256_float32", digest)
        try:
            os.link(staging, final)  # atomic and exclusive: exactly one attempt commits
        except FileExistsError:
            committed = verify_shard(final, count, index, p.seed)
            if committed != digest:
                raise RuntimeError(f"{final}: another attempt committed different showers") from None
    finally:
        staging.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    return {**record, "sha256": digest, "reused": False, "seconds": seconds}
