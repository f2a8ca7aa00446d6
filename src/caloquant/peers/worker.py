"""The peers' entry point in their own environment: `python -m caloquant.peers.worker COMMAND ...`.

    convert WEIGHTS PRECISION OUT [CALIBRATION.npy]   Keras port -> OUT/model.tflite; prints a JSON line
    inc WEIGHTS OUT CALIBRATION.npy                    Keras port -> INC int8 SavedModel OUT/saved_model
    keras WEIGHTS Z.npy OUT.npy                        the Keras port's showers for z (the port's check)
    autotune WEIGHTS OUT CALIBRATION.npy MAX_TRIALS    INC autotune judged by the caller over the pipe: reads
                                                       z, sends each candidate's showers of z, reads back
                                                       its metric; OUT/saved_model, OUT/inc_autotune.json
    serve MODEL THREADS                                z in, showers out over stdin/stdout (`read_array`);
                                                       MODEL: a .tflite file or an INC SavedModel folder

Arrays travel as .npy bytes behind an 8-byte little-endian length; a zero length ends `serve`.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["main", "read_array", "write_array"]


def write_array(stream: BinaryIO, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    data = buf.getvalue()
    stream.write(len(data).to_bytes(8, "little"))
    stream.write(data)
    stream.flush()


def read_array(stream: BinaryIO) -> np.ndarray | None:
    """The next array, or None at the end (a zero length or a closed stream)."""
    head = stream.read(8)
    size = int.from_bytes(head, "little") if len(head) == 8 else 0
    if not size:
        return None
    return np.load(io.BytesIO(stream.read(size)), allow_pickle=False)


def _keras(weights: str) -> object:
    from caloquant.peers.keras_generator import build_keras_generator, read_generator_file

    return build_keras_generator(*read_generator_file(weights))


def _convert(weights: str, precision: str, out: str, calibration: str | None) -> None:
    import tensorflow as tf

    from caloquant.peers.tflite import convert, op_precisions

    z = np.load(calibration, allow_pickle=False) if calibration else None
    model = convert(_keras(weights), precision, z)
    target = Path(out) / "model.tflite"
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(model)
    os.replace(tmp, target)
    from importlib.metadata import version

    print(json.dumps({"tool": f"TFLiteConverter (TensorFlow {tf.__version__})",
                      "interpreter": f"ai-edge-litert {version('ai-edge-litert')} (XNNPACK CPU delegate)",
                      "calibration_latents": 0 if z is None else len(z), "ops": op_precisions(model)}))


def _inc(weights: str, out: str, calibration: str) -> None:
    from importlib.metadata import version

    import tensorflow as tf

    from caloquant.peers.inc_tf import quantize_inc

    z = np.load(calibration, allow_pickle=False)
    ops = quantize_inc(_keras(weights), z, Path(out) / "saved_model")
    print(json.dumps({"tool": f"neural-compressor-tf {version('neural-compressor-tf')} quantize_model "
                              f"(StaticQuantConfig defaults; TensorFlow {tf.__version__})",
                      "calibration_latents": len(z), "ops": ops}))


def _autotune(weights: str, out: str, calibration: str, max_trials: int) -> None:
    from importlib.metadata import version

    import tensorflow as tf

    from caloquant.peers.inc_tf import autotune_inc

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    write_array(stdout, np.zeros(0, np.float32))  # ready
    z = read_array(stdin)
    if z is None:
        sys.exit("autotune: no latents to judge on")

    def evaluate(showers: np.ndarray) -> float:
        write_array(stdout, showers)
        metric = read_array(stdin)
        if metric is None:
            sys.exit("autotune: the judge closed the pipe")
        return float(metric[0])

    info = autotune_inc(_keras(weights), np.load(calibration, allow_pickle=False), Path(out) / "saved_model", z,
                        evaluate, max_trials)
    info["tool"] = (f"neural-compressor-tf {version('neural-compressor-tf')} autotune (TensorFlow "
                    f"{tf.__version__})")
    target = Path(out) / "inc_autotune.json"
    target.with_suffix(".tmp").write_text(json.dumps(info, indent=1))
    os.replace(target.with_suffix(".tmp"), target)
    stdout.write((0).to_bytes(8, "little"))  # the end of the showers
    stdout.flush()
    if info["chosen_trial"] is None:
        sys.exit(f"INC autotune returned no model after {len(info['trials'])} trials (its tuning space ran out)")


def _serve(model: str, threads: int) -> None:
    from caloquant.peers.inc_tf import INCRunner
    from caloquant.peers.tflite import TFLiteRunner

    path = Path(model)
    runner = INCRunner(path, threads) if path.is_dir() else TFLiteRunner(path.read_bytes(), threads)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    write_array(stdout, np.zeros(0, np.float32))  # ready
    while (z := read_array(stdin)) is not None:
        write_array(stdout, runner.run(z))


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up notes are not the user's
    args = sys.argv[1:] if argv is None else argv
    command, rest = (args[0], args[1:]) if args else ("", [])
    if command == "convert" and len(rest) in (3, 4):
        _convert(rest[0], rest[1], rest[2], rest[3] if len(rest) == 4 else None)
    elif command == "inc" and len(rest) == 3:
        _inc(rest[0], rest[1], rest[2])
    elif command == "keras" and len(rest) == 3:
        np.save(rest[2], _keras(rest[0]).predict(np.load(rest[1]), verbose=0))  # type: ignore[attr-defined]
    elif command == "autotune" and len(rest) == 4:
        _autotune(rest[0], rest[1], rest[2], int(rest[3]))
    elif command == "serve" and len(rest) == 2:
        _serve(rest[0], int(rest[1]))
    else:
        sys.exit(f"usage: {__doc__.splitlines()[2].strip()} | keras ... | serve ...")


if __name__ == "__main__":
    main()
