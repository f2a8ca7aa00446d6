"""Try Intel Neural Compressor 3.7 (accuracy-driven fallback tuning, paper A's tool lineage) on our stack.

INC 3.7 declares numpy<2.0 (we run numpy 2.x with torch 2.13), so it is not a caloquant dependency. Set it up
beside the project environment without touching it, then run this script; it tries INC's three entry points
on the tiny generator and prints, for each, whether it ran or the first line of the error:

    .venv/bin/pip install --target /tmp/inc --no-deps neural-compressor==3.7 deprecated wrapt pandas \\
        python-dateutil tzdata prettytable wcwidth py-cpuinfo pyyaml schema six "setuptools<81"
    PYTHONPATH=/tmp/inc .venv/bin/python scripts/try_inc37.py
"""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

import numpy as np
import torch

from caloquant.engines.export import export_onnx
from caloquant.models import GANConfig, Generator
from caloquant.precision.calibration import calibration_latents

BATCH = 16


def tiny_generator() -> Generator:
    torch.manual_seed(1)
    gen = Generator(GANConfig.tiny()).train()
    with torch.no_grad():
        for _ in range(3):
            gen(torch.randn(BATCH, 200) * 3)
    return gen.eval()


def main() -> None:
    from neural_compressor import PostTrainingQuantConfig, __version__, quantization
    from neural_compressor.config import AccuracyCriterion, TuningCriterion

    gen = tiny_generator()
    z = torch.from_numpy(calibration_latents(64, (100.0, 500.0), 1, 200))
    zv = torch.from_numpy(calibration_latents(64, (100.0, 500.0), 2, 200))
    with torch.no_grad():
        ref = gen(zv)

    def score(model) -> float:  # 1 - relative L1 distance to float32 on paired latents
        with torch.no_grad():
            out = torch.cat([model(zv[s : s + BATCH]) for s in range(0, len(zv), BATCH)])
        return 1.0 - float((out - ref).abs().sum() / ref.sum())

    class Loader:
        batch_size = BATCH

        def __iter__(self):
            for s in range(0, len(z), BATCH):
                yield z[s : s + BATCH].numpy() if self.numpy else z[s : s + BATCH], None if self.numpy else 0

        numpy = False

    conf = PostTrainingQuantConfig(approach="static", accuracy_criterion=AccuracyCriterion(
        criterion="absolute", tolerable_loss=0.01), tuning_criterion=TuningCriterion(timeout=300, max_trials=5))
    results = {}

    def attempt(name: str, fn) -> None:
        try:
            fn()
            results[name] = "ran"
        except Exception as exc:  # we want the reason, whatever it is
            last = traceback.extract_tb(exc.__traceback__)[-1]
            results[name] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:160]} ({Path(last.filename).name})"

    def onnx_backend() -> None:
        import onnx
        import onnxruntime as ort

        with tempfile.TemporaryDirectory() as tmp:
            path = export_onnx(gen, Path(tmp) / "fp32.onnx")
            loader = Loader()
            loader.numpy = True

            def eval_onnx(model) -> float:
                proto = model if isinstance(model, onnx.ModelProto) else model.model
                out = ort.InferenceSession(proto.SerializeToString()).run(None, {"z": zv.numpy()})[0]
                return 1.0 - float(np.abs(out - ref.numpy()).sum() / ref.numpy().sum())

            quantization.fit(model=str(path), conf=conf, calib_dataloader=loader, eval_func=eval_onnx)
            if not hasattr(onnx, "mapping"):
                raise RuntimeError("the ONNX adaptor calls onnx.mapping, removed in onnx 1.17 "
                                   f"(installed {onnx.__version__}); no model was produced")

    def fx_backend() -> None:
        q = quantization.fit(model=gen, conf=conf, calib_dataloader=Loader(), eval_func=score)
        if q is None:
            raise RuntimeError("no quantized model; INC logs the cause above (with torch 2.13: quantized::"
                               "conv2d_prepack rejects the generator's padding='same')")

    def pt2e_backend() -> None:
        from neural_compressor.torch.export import export
        from neural_compressor.torch.quantization import StaticQuantConfig, TuningConfig, autotune

        exported = export(gen, example_inputs=(z[:BATCH],))
        autotune(exported, TuningConfig(config_set=[StaticQuantConfig()], tolerable_loss=0.01, max_trials=5),
                 eval_fn=score, run_fn=lambda m: [m(z[s : s + BATCH]) for s in range(0, len(z), BATCH)],
                 example_inputs=(z[:BATCH],))

    attempt("2.x API, ONNX Runtime adaptor", onnx_backend)
    attempt("2.x API, PyTorch FX adaptor", fx_backend)
    attempt("3.x API, PT2E static quantization", pt2e_backend)
    print(f"neural-compressor {__version__}, torch {torch.__version__}, numpy {np.__version__}")
    for name, outcome in results.items():
        print(f"- {name}: {outcome}")


if __name__ == "__main__":
    main()
