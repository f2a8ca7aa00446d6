"""Write outputs so that an interruption never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from caloquant.errors import OutputError

__all__ = ["MIN_BYTES_PER_SHOWER", "atomic_path", "check_room_for_showers", "check_writable", "ensure_dir",
           "owned_folder", "refuse_output_over_input",
           "staged_folder", "write_json_atomic", "write_text_atomic"]


def check_writable(name: str, out: str | os.PathLike[str]) -> None:
    """Refuse, before any work, an output that cannot be written: a file output (a name with a suffix) needs
    an existing directory; a folder output needs its nearest existing ancestor to be a writable directory,
    not a regular file. The computation then never runs only to fail at the last step."""
    out = Path(out)
    if out.suffix and not out.is_dir():
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise OutputError(f"{name} {out}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
            raise OutputError(f"{name} {out}: not writable")
        return
    ancestor = out
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{name} {out}: {ancestor} is a regular file, not a directory")
    if not os.access(ancestor, os.W_OK):
        raise OutputError(f"{name} {out}: {ancestor} is not writable")


MIN_BYTES_PER_SHOWER = 256  # gzip'd 25^3 float32 image: the shipped GAN's sparse showers take ~750 B, Geant4's ~7.6 kB


def check_room_for_showers(out: str | os.PathLike[str], count: int) -> None:
    """Refuse, before any work, a shower count whose file cannot fit where it goes even at the best
    compression any shower gets: `-n 1000000000000` tried to allocate 7 TiB of energies and crashed."""
    out = Path(out)
    existing = next(p for p in (out.parent if str(out.parent) else Path("."), *out.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    need = count * MIN_BYTES_PER_SHOWER
    if need > free:
        raise OutputError(f"count {count}: {out} would need at least {_bytes(need)} (>= {MIN_BYTES_PER_SHOWER} B a "
                          f"compressed shower) and {existing} has {_bytes(free)} free; write fewer showers, or "
                          "shard a large production (caloquant produce)")


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError


def refuse_output_over_input(outputs: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Refuse, before any work, an output that is one of the inputs or lies inside an input folder (links
    resolved): `generate --model DIR -o DIR/model.bin` replaced the model it was reading. Values are paths,
    lists of paths or None; inputs that do not exist are skipped, and so are strings that cannot name a file
    (`bench precision --configs` with many configs is longer than a file name may be)."""
    def paths(value: Any) -> list[Path]:
        items = value if isinstance(value, list | tuple) else [value]
        # an empty string is an unset option (`bench precision --configs ""`), not the current folder
        return [Path(str(v).split("[")[0]) for v in items if isinstance(v, str | os.PathLike) and str(v)]

    for out_name, out_value in outputs.items():
        for out in paths(out_value):
            target = out.resolve()
            for in_name, in_value in inputs.items():
                for source in paths(in_value):
                    try:
                        if not source.exists():
                            continue
                    except OSError:  # too long to be a file name: not an input file
                        continue
                    src = source.resolve()
                    if target == src or (src.is_dir() and target.is_relative_to(src)):
                        raise OutputError(f"{out_name} {out}: would overwrite the input {in_name} {source}; "
                                          "choose an output outside the inputs")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` only on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic. On any
    exception, KeyboardInterrupt included, the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: directory {parent} does not exist")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a directory")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; its contents land in ``target`` only on success.

    For outputs that are a finished set of files (validate's figures and metrics, a quantized model, an
    export): an interrupted or failed command leaves ``target`` as it was, with no staging debris and no
    parent folder it created. Into an existing ``target`` each entry replaces its namesake in one rename,
    so a reader sees the old file or the new one, never half of one; other files there are kept.
    """
    target = Path(target)
    created = _make_parents(target.parent if str(target.parent) else Path("."))
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
    os.chmod(staging, 0o777 & ~_umask())
    try:
        yield staging
        _commit(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        raise


@contextlib.contextmanager
def owned_folder(target: str | os.PathLike[str], *, keep: Callable[[Path], bool] = lambda _p: False
                 ) -> Iterator[Path]:
    """Yield ``target``, created if missing, for outputs written in place over a long run (training
    checkpoints, production shards, the demo's stages). On failure or interrupt a folder this call created
    is removed unless ``keep(target)`` says it holds work worth resuming; a folder that existed stays."""
    target = Path(target)
    created = _make_parents(target)
    try:
        yield target
    except BaseException:
        if created and not keep(target):
            shutil.rmtree(created[0], ignore_errors=True)
        raise


def _make_parents(path: Path) -> list[Path]:
    """Create ``path`` and missing parents; return the folders created, outermost first."""
    missing = [p for p in (path, *path.parents) if not p.exists()][::-1]
    ensure_dir(path)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _commit(staging: Path, target: Path) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    if not target.is_dir():
        raise OutputError(f"cannot write {target}: it is a regular file, not a directory")
    for entry in staging.iterdir():
        dest = target / entry.name
        if dest.is_dir() and not dest.is_symlink():
            if entry.is_dir():  # a folder cannot replace a non-empty one in one rename: swap through a name
                old = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".old", dir=target))
                os.rename(dest, old / entry.name)
                os.rename(entry, dest)
                shutil.rmtree(old, ignore_errors=True)
                continue
            shutil.rmtree(dest)
        os.replace(entry, dest)
    staging.rmdir()


def ensure_dir(path: str | os.PathLike[str]) -> Path:
    """Create an output directory (and parents); a failure is one line naming the directory."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {path}: {exc.strerror}") from None
    return path


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_json_atomic(target: str | os.PathLike[str], payload: Any) -> None:
    write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
