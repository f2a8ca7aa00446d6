"""The client side of `caloquant produce`: plan, connect, submit every shard, track, and keep the manifest.

Resume is automatic: every shard is submitted; a worker that finds the shard committed and verified
returns its record without regenerating it. The manifest is rewritten atomically after each shard, so
an interrupted run leaves a manifest that says which shards are done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from caloquant.data.production import MANIFEST, read_manifest
from caloquant.errors import InputValueError
from caloquant.production.plan import STAGING, ProductionParams, shard_name, shard_seed

__all__ = ["connect", "plan_production", "produce"]

CONNECT_TIMEOUT_S = 5


@contextlib.contextmanager
def connect(scheduler: str | None = None, scheduler_file: str | os.PathLike[str] | None = None, *,
            workers: int | None = None) -> Iterator[Any]:
    """A Dask client: to ``scheduler`` or ``scheduler_file``, else a local cluster of single-thread workers
    sized to this machine (``workers`` to choose)."""
    from distributed import Client, LocalCluster

    if scheduler and scheduler_file:
        raise InputValueError("give scheduler or scheduler_file, not both")
    if scheduler_file is not None and not Path(scheduler_file).is_file():
        raise InputValueError(f"scheduler_file {scheduler_file}: no such file")
    if scheduler or scheduler_file:
        where = f"scheduler {scheduler}" if scheduler else f"scheduler_file {scheduler_file}"
        try:
            client = Client(scheduler, scheduler_file=str(scheduler_file) if scheduler_file else None,
                            timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0][:160] if str(exc) else exc.__class__.__name__
            raise InputValueError(f"{where}: cannot reach the Dask scheduler within {CONNECT_TIMEOUT_S} s "
                                  f"({reason})") from None
        with client:
            yield client
        return
    n = workers or max(1, os.cpu_count() or 1)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        yield client


def _check_versions(client: Any) -> None:
    from caloquant.metadata import package_versions
    from caloquant.production.worker import worker_versions

    mine = package_versions()
    for address, theirs in client.run(worker_versions).items():
        diff = {k: (mine.get(k), v) for k, v in theirs.items() if mine.get(k) != v}
        if diff:
            k, (a, b) = next(iter(diff.items()))
            raise InputValueError(f"worker {address} runs {k} {b}, the client {a}: every worker must run the "
                                  "same versions")


def _plan(params: ProductionParams) -> list[dict[str, Any]]:
    return [{"index": i, "file": shard_name(i), "count": params.shard_count(i),
             "seed": {"entropy": params.seed, "spawn_key": list(shard_seed(params.seed, params.n_shards, i).spawn_key)},
             "sha256": None} for i in range(params.n_shards)]


def _check_out(out: Path, params: ProductionParams, overwrite: bool) -> bool:
    """Whether ``out`` holds another production to wipe; refuse it (exit 2) without overwrite, and refuse a
    production whose showers cannot fit there."""
    from caloquant._atomic import check_room_for_showers

    check_room_for_showers(out / shard_name(0), params.count)
    existing = read_manifest(out) if out.is_dir() else None
    if existing is not None and existing.get("params") != params.to_json():
        if not overwrite:
            old = existing.get("params", {})
            keys = [k for k, v in params.to_json().items() if old.get(k) != v]
            raise InputValueError(f"-o {out}: holds another production (differs in {', '.join(keys) or 'format'}); "
                                  "choose another folder or pass overwrite")
        return True
    if existing is None and out.is_dir() and any(out.glob("shard-*.h5")):
        if not overwrite:
            raise InputValueError(f"-o {out}: holds shard files but no {MANIFEST}; choose another folder or pass "
                                  "overwrite")
        return True
    return False


def _wipe(out: Path) -> None:
    for f in out.glob("shard-*.h5"):
        f.unlink()
    (out / MANIFEST).unlink(missing_ok=True)
    shutil.rmtree(out / STAGING, ignore_errors=True)


def plan_production(params: ProductionParams, out: str | os.PathLike[str], *, overwrite: bool = False
                    ) -> dict[str, Any]:
    """What `produce` would do, without a cluster or a file written (`produce --dry-run`): the output checks
    it makes first, then the shard plan (seeds and counts), with the time planning took."""
    out = Path(out)
    wipe = _check_out(out, params, overwrite)
    t0 = time.perf_counter()
    shards = _plan(params)
    seconds = time.perf_counter() - t0
    existing = read_manifest(out) if out.is_dir() and not wipe else None
    done = sum(1 for s in (existing or {}).get("shards", []) if s.get("sha256"))
    return {"n_shards": len(shards), "first": shards[0], "last": shards[-1], "plan_seconds": seconds,
            "replaces_another_production": wipe, "shards_already_done": done}


def produce(params: ProductionParams, out: str | os.PathLike[str], *, scheduler: str | None = None,
            scheduler_file: str | os.PathLike[str] | None = None, workers: int | None = None,
            overwrite: bool = False, on_start: Callable[[str | None, int], None] | None = None,
            on_shard: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a production into ``out``; returns the manifest. Nothing is written before the
    output folder is checked and the cluster is reached."""
    from caloquant._atomic import owned_folder

    out = Path(out)
    wipe = _check_out(out, params, overwrite)
    with connect(scheduler, scheduler_file, workers=workers) as client:
        _check_versions(client)
        if wipe:
            _wipe(out)
        # a production that fails or is stopped before its first shard leaves no folder it made
        with owned_folder(out, keep=lambda p: any(p.glob("shard-*.h5"))):
            return _run(client, params, out, on_start, on_shard, workers)


def _run(client: Any, params: ProductionParams, out: Path, on_start: Callable[[str | None, int], None] | None,
         on_shard: Callable[[dict[str, Any]], None] | None, workers: int | None) -> dict[str, Any]:
    from distributed import as_completed

    from caloquant._atomic import write_json_atomic
    from caloquant.metadata import metadata
    from caloquant.production.worker import run_shard

    shards = _plan(params)
    old = read_manifest(out)
    if old is not None:  # keep what a previous run recorded; workers re-verify every file anyway
        for rec in old.get("shards", []):
            if rec.get("sha256") and rec["index"] < len(shards):
                shards[rec["index"]]["sha256"] = rec["sha256"]
    failed: dict[int, str] = {}
    t0 = time.perf_counter()
    made = 0

    def write(status: str, **extra: Any) -> dict[str, Any]:
        manifest = metadata(seed=params.seed, extra={
            "kind": "production", "status": status, "params": params.to_json(), "n_shards": params.n_shards,
            "layout": "3DGAN HDF5 shards (ECAL, energy), read as one dataset by caloquant info/validate",
            "seeding": "shard i: rng_n, rng_e from numpy.random.SeedSequence(seed).spawn(n_shards)[i].spawn(2)",
            "shards": shards, "failed": [{"index": i, "error": e} for i, e in sorted(failed.items())], **extra})
        write_json_atomic(out / MANIFEST, manifest)
        return manifest

    write("running")
    if on_start:
        on_start(getattr(client, "dashboard_link", None), len(client.scheduler_info()["workers"]))
    payload = params.to_json()
    futures = {client.submit(run_shard, payload, i, str(out.resolve()), key=f"caloquant-shard-{i}-{os.getpid()}",
                             pure=False, retries=2): i for i in range(params.n_shards)}
    for fut in as_completed(futures):
        i = futures[fut]
        if fut.status == "error":
            exc = fut.exception()
            failed[i] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            shards[i]["sha256"] = None
        else:
            rec = fut.result()
            shards[i]["sha256"] = rec["sha256"]
            shards[i]["seconds"] = rec["seconds"]  # 0 when verified and kept
            made += 0 if rec["reused"] else rec["count"]
            if on_shard:
                on_shard(rec)
        write("running")
    wall = time.perf_counter() - t0
    status = "complete" if not failed else "incomplete"
    if not failed:
        shutil.rmtree(out / STAGING, ignore_errors=True)
    return write(status, run={"wall_s": wall, "showers_generated": made,
                              "showers_per_s": made / wall if wall > 0 else None, "workers": workers})
