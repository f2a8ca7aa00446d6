"""Edge models as safetensors with a format tag in the metadata: never unpickled, foreign files refused."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from caloquant.errors import CheckpointError

__all__ = ["read_tagged", "write_tagged"]


def write_tagged(path: str | os.PathLike[str], state: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    """Write the tensors and metadata (which must carry 'format') atomically."""
    from safetensors.torch import save_file

    from caloquant._atomic import atomic_path

    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file({k: v.detach().contiguous() for k, v in state.items()}, str(tmp), metadata=meta)


def read_tagged(path: str | os.PathLike[str], fmt: str, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a file whose format tag is fmt; otherwise one CheckpointError naming the file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(path))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except Exception as exc:
        raise CheckpointError(f"{path}: not a safetensors file ({exc.__class__.__name__})") from None
    if meta.get("format") != fmt:
        raise CheckpointError(f"{path}: not a caloquant {what} (format {meta.get('format')!r})")
    return state, meta
