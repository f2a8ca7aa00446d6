"""Intel Neural Compressor on TensorFlow (`neural-compressor-tf`, paper A's iLoT line): post-training int8
of the Keras port of the generator with INC's defaults on our calibration latents, run by TensorFlow, in
the peers' environment. Only the tool's defaults (`ToolDefaultsConfig`): its options are not ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caloquant.errors import InputValueError
from caloquant.precision.backends.peer_inputs import peer_inputs, peer_loader
from caloquant.precision.recipes import ToolDefaultsConfig
from caloquant.precision.registry import EngineEntry, register_engine

__all__ = ["ENTRY"]


def _quantize(src: Any, recipe: Any, out: Path) -> dict[str, Any]:
    from caloquant.engines.peer_process import run_peer_command

    if not isinstance(recipe, ToolDefaultsConfig):
        raise InputValueError(f"engine inc-tf: recipe {type(recipe).__name__} is not INC's; inc-tf runs INC's "
                              "post-training int8 with its defaults (ToolDefaultsConfig, `quantize --method "
                              "defaults`)")
    with peer_inputs(src, recipe, "inc-tf") as (weights, calibration):
        info = run_peer_command("inc", weights, str(out), str(calibration))
    files = sorted(str(p.relative_to(out)) for p in (out / "saved_model").rglob("*") if p.is_file())
    return {"files": files, "layer_precisions": {}, "tf_ops": info.pop("ops", {}), "calibration": info}


ENTRY = register_engine(EngineEntry("inc-tf", ("int8",), _quantize, peer_loader("saved_model", "inc-tf"),
                                    "Intel Neural Compressor int8 on TensorFlow (paper A's iLoT line; `make peers`)"))
