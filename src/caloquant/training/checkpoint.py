"""Resumable training checkpoints: tensors in safetensors, everything else in JSON, swapped atomically.

``state.json`` names the tensor file it belongs to and is replaced last, so a crash at any moment leaves
either the previous checkpoint or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import torch

from caloquant._atomic import atomic_path, write_json_atomic
from caloquant.errors import CheckpointError

__all__ = ["load_checkpoint", "save_checkpoint"]

_FORMAT = "caloquant-train-checkpoint-v1"


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    sd = opt.state_dict()
    for idx, state in sd["state"].items():
        for name, value in state.items():
            tensors[f"{prefix}.state.{idx}.{name}"] = value.detach().clone().contiguous()
    return {"param_groups": sd["param_groups"], "state_keys": {str(i): sorted(s) for i, s in sd["state"].items()}}


def _restore_optimizer(prefix: str, opt: torch.optim.Optimizer, meta: dict[str, Any],
                       tensors: dict[str, torch.Tensor]) -> None:
    state = {int(i): {name: tensors[f"{prefix}.state.{i}.{name}"] for name in names}
             for i, names in meta["state_keys"].items()}
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(run_dir: Path, *, step: int, modules: dict[str, torch.nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer], extra: dict[str, Any]) -> Path:
    """Write the checkpoint for ``step`` and remove the previous one."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for k, v in module.state_dict().items():
            tensors[f"{name}.{k}"] = v.detach().clone().contiguous()
    opt_meta = {name: _flatten_optimizer(f"opt_{name}", opt, tensors) for name, opt in optimizers.items()}
    tensor_file = f"state-{step:08d}.safetensors"
    with atomic_path(run_dir / tensor_file, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"format": _FORMAT})
    previous = _read_state(run_dir) if (run_dir / "state.json").exists() else None
    write_json_atomic(run_dir / "state.json", {"format": _FORMAT, "step": step, "tensors": tensor_file,
                                               "optimizers": opt_meta, **extra})
    if previous and previous.get("tensors") != tensor_file:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / previous["tensors"]).unlink()
    return run_dir / "state.json"


def _read_state(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "state.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable training state ({exc})") from None
    if state.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a caloquant training checkpoint (format {state.get('format')!r})")
    return state


def load_checkpoint(run_dir: Path, *, modules: dict[str, torch.nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    """Restore modules and optimizers in place; return the JSON state (step, history, ...)."""
    from safetensors.torch import load_file

    state = _read_state(run_dir)
    tensor_path = run_dir / state["tensors"]
    try:
        tensors = load_file(str(tensor_path))
    except Exception as exc:
        raise CheckpointError(f"{tensor_path}: corrupt or missing checkpoint tensors ({exc.__class__.__name__})") \
            from None
    for name, module in modules.items():
        prefix = f"{name}."
        sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(sub)
        except RuntimeError as exc:
            raise CheckpointError(f"{tensor_path}: {name} weights do not match this model "
                                  f"({str(exc).splitlines()[0]})") from None
    for name, opt in optimizers.items():
        _restore_optimizer(f"opt_{name}", opt, state["optimizers"][name], tensors)
    return state
