"""Issue 16: the defects a hostile user finds, one test each (docs/reliability.md lists them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app


def test_a_check_that_compares_nothing_does_not_pass(tmp_path: Path, small_showers, tiny) -> None:
    """compare-gan against one Geant4 shower compared nothing and said compatible (exit 0)."""
    from caloquant.data import write_3dgan
    from caloquant.models.io import save_generator

    ecal, ep = small_showers
    one = tmp_path / "one.h5"
    write_3dgan(one, ecal[:1], ep[:1])
    weights = tmp_path / "tiny.safetensors"
    save_generator(weights, tiny, info={"energy_range_gev": [100.0, 500.0]})
    r = CliRunner().invoke(app, ["compare-gan", "-r", str(one), "--model", str(weights), "--check"])
    assert r.exit_code == 1, r.output
    assert "INSUFFICIENT STATISTICS" in r.output and "overall: compatible" not in r.output


def test_verdict_needs_something_compared() -> None:
    from caloquant.physics.stats import INSUFFICIENT, verdict

    assert verdict([]) == INSUFFICIENT
    assert verdict([True, True]) == "compatible" and verdict([True, False]) == "incompatible"


def test_an_output_never_overwrites_an_input(tmp_path: Path, tiny) -> None:
    """generate --model DIR -o DIR/model.bin replaced the model it was reading and exited 0."""
    from caloquant.precision import FP32Config, quantize

    model = quantize(tiny, FP32Config(), engine="openvino", out=tmp_path / "m")
    before = (model / "model.bin").read_bytes()
    link = tmp_path / "link.bin"
    link.symlink_to(model / "model.bin")
    for target in (model / "model.bin", link, model):
        r = CliRunner().invoke(app, ["generate", "--model", str(model), "-n", "4", "-o", str(target)])
        assert r.exit_code == 2 and "would overwrite the input model" in r.output, r.output
    assert (model / "model.bin").read_bytes() == before
    r = CliRunner().invoke(app, ["generate", "--model", str(model), "-n", "4", "-o", str(tmp_path / "ok.h5")])
    assert r.exit_code == 0, r.output


def test_an_unset_string_option_is_not_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    """`bench precision -o OUT` refused every output: its empty --configs read as the folder '.'."""
    from caloquant._atomic import refuse_output_over_input
    from caloquant.errors import OutputError

    monkeypatch.chdir(tmp_path)
    refuse_output_over_input({"out": Path("r.json")}, {"configs": "", "model": None})
    # fourteen configs are longer than a file name may be (stat raised ENAMETOOLONG, a traceback)
    refuse_output_over_input({"out": Path("r.json")}, {"configs": ",".join(["openvino:int8:caloquant"] * 14)})
    with pytest.raises(OutputError, match="would overwrite the input data"):
        refuse_output_over_input({"out": Path("r.json")}, {"data": "."})


def test_a_truncated_model_file_is_refused_on_load(tmp_path: Path, tiny) -> None:
    """A truncated model.bin was loaded (or crashed) although caloquant.json holds its SHA-256."""
    from caloquant.precision import FP32Config, quantize

    model = quantize(tiny, FP32Config(), engine="openvino", out=tmp_path / "m")
    data = (model / "model.bin").read_bytes()
    (model / "model.bin").write_bytes(data[: len(data) // 2])
    r = CliRunner().invoke(app, ["generate", "--model", str(model), "-n", "4", "-o", str(tmp_path / "g.h5")])
    assert r.exit_code == 2 and "SHA-256 differs" in r.output and not (tmp_path / "g.h5").exists(), r.output


def test_an_unwritable_output_is_refused_before_any_work(tmp_path: Path, shower_file: Path, monkeypatch) -> None:
    """validate and compare-gan found out that -o could not be written after the whole computation."""
    import caloquant.physics.validate as validate_module
    import caloquant.workflows.acceptance as acceptance

    def must_not_run(*args, **kwargs):
        raise AssertionError("the computation ran before the output was checked")

    monkeypatch.setattr(validate_module, "validate", must_not_run)
    monkeypatch.setattr(acceptance, "check_generator", must_not_run)
    regular = tmp_path / "file"
    regular.write_text("x")
    r = CliRunner().invoke(app, ["validate", "--samples", str(shower_file), "--reference", str(shower_file),
                                 "-o", str(regular / "out")])
    assert r.exit_code == 2 and "is a regular file, not a directory" in r.output, r.output
    r = CliRunner().invoke(app, ["compare-gan", "-o", str(tmp_path / "missing" / "c.json")])
    assert r.exit_code == 2 and "does not exist" in r.output, r.output
    r = CliRunner().invoke(app, ["train", "-o", str(regular / "run"), "--steps", "1", "--model-size", "tiny"])
    assert r.exit_code == 2 and "is a regular file" in r.output, r.output


def test_validate_gives_degenerate_samples_a_verdict(tmp_path: Path, small_showers) -> None:
    """1 or 10 showers (selection metric traceback) and all-zero showers (curve_fit traceback)."""
    import numpy as np

    from caloquant.data import write_3dgan
    from caloquant.workflows.validation import run_validation

    ecal, ep = small_showers
    reference = tmp_path / "reference.h5"
    write_3dgan(reference, np.concatenate([ecal, ecal]), np.concatenate([ep, ep]))
    for n in (1, 10):
        write_3dgan(tmp_path / f"n{n}.h5", ecal[:n], ep[:n])
        r = CliRunner().invoke(app, ["validate", "--samples", str(tmp_path / f"n{n}.h5"), "--reference",
                                     str(reference), "-o", str(tmp_path / f"v{n}"), "--no-voxel-classifier",
                                     "--check"])
        assert r.exit_code == 1 and "INSUFFICIENT STATISTICS" in r.output, r.output
    zeros = tmp_path / "zeros.h5"
    write_3dgan(zeros, np.zeros_like(np.concatenate([ecal, ecal])), np.concatenate([ep, ep]))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the stderr noise is issue 16's item 9
            m, text = run_validation(zeros, reference, tmp_path / "vz", voxel_classifier=False, plots=False,
                                     n_boot=20)
    assert m["verdict"] == "incompatible" and "INCOMPATIBLE" in text


def test_interrupted_validate_leaves_the_folder_as_it_was(tmp_path: Path, shower_file: Path, monkeypatch) -> None:
    """Defect 5: Ctrl-C while validate wrote its plots left a partial folder (and said it had not)."""
    import pytest

    import caloquant.report.validation_plots as plots
    from caloquant.workflows.validation import run_validation

    def interrupted(metrics: dict, out_dir: Path) -> list[Path]:
        (Path(out_dir) / "profile.png").write_bytes(b"half a figure")
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_validation", interrupted)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(KeyboardInterrupt):
        run_validation(shower_file, shower_file, tmp_path / "new" / "val", voxel_classifier=False, n_boot=10)
    assert sorted(tmp_path.iterdir()) == before  # no folder, no parent, no staging debris
    old = tmp_path / "old"
    old.mkdir()
    (old / "metrics.json").write_text("{}")
    with pytest.raises(KeyboardInterrupt):
        run_validation(shower_file, shower_file, old, voxel_classifier=False, n_boot=10)
    assert sorted(p.name for p in old.iterdir()) == ["metrics.json"] and (old / "metrics.json").read_text() == "{}"
    assert sorted(tmp_path.iterdir()) == sorted([*before, old])


def test_interrupted_auto_quantize_leaves_no_folder_and_no_tune_debris(tmp_path: Path, tiny, monkeypatch) -> None:
    """Defect 5: an interrupted `quantize --precision auto` left its .tune-* folder (and an output folder)."""
    import pytest

    from caloquant.precision import AutoConfig, quantize
    from caloquant.precision.judge import PhysicsJudge

    def interrupted(self, engine):  # the first trial is being judged when Ctrl-C arrives
        raise KeyboardInterrupt

    monkeypatch.setattr(PhysicsJudge, "score", interrupted)
    cfg = AutoConfig(validation_size=300, reference_size=300, time_budget_s=1e6, max_trials=2, calibration_size=16,
                     threads=1, fallback="fp32")
    with pytest.raises(KeyboardInterrupt):
        quantize(tiny, cfg, engine="openvino", out=tmp_path / "auto")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_training_run_leaves_no_empty_folder(tmp_path: Path, monkeypatch) -> None:
    """Defect 5: a train run that failed before its first checkpoint left an empty run folder; one that
    failed later keeps its checkpoints (they resume)."""
    import pytest

    from caloquant.training import TrainConfig, Trainer
    from caloquant.training.batches import SimulatorBatches

    cfg = TrainConfig(model="tiny", batch_size=8, steps=4, ckpt_every=2, threads=1, seed=4)
    real_step = Trainer.train_step

    def failing_at(step: int):
        def train_step(self):
            if self.step == step:
                raise RuntimeError("boom")
            return real_step(self)
        return train_step

    monkeypatch.setattr(Trainer, "train_step", failing_at(0))
    with pytest.raises(RuntimeError):
        Trainer(tmp_path / "runs" / "a", cfg, SimulatorBatches(4)).run()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(Trainer, "train_step", failing_at(3))
    with pytest.raises(RuntimeError):
        Trainer(tmp_path / "b", cfg, SimulatorBatches(4)).run()
    resumed = Trainer(tmp_path / "b", cfg, SimulatorBatches(4))
    assert resumed.try_resume() and resumed.step == 2


def test_an_absurd_shower_count_is_refused_up_front(tmp_path: Path) -> None:
    """Defect 6: -n 1000000000000 tried to allocate 7 TiB of energies (traceback) in simulate and generate."""
    for command in ("simulate", "generate"):
        r = CliRunner().invoke(app, [command, "-n", "1000000000000", "-o", str(tmp_path / "x.h5")])
        assert r.exit_code == 2, r.output
        assert "would need at least 256 TB" in r.output and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_a_dataset_of_strings_is_named(tmp_path: Path) -> None:
    """Defect 6: an 'energy' dataset of strings crashed inside numpy."""
    import h5py
    import numpy as np

    path = tmp_path / "strings.h5"
    with h5py.File(path, "w") as fh:
        fh["ECAL"] = np.full((4, 25, 25, 25), 1e-3, dtype=np.float32)
        fh["energy"] = np.array([b"a", b"b", b"c", b"d"])
    validate = ["validate", "--samples", str(path), "--reference", str(path), "-o", str(tmp_path / "v")]
    for args in (["info", str(path)], validate):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and "'energy' holds |S1 values; expected numbers" in r.output, r.output


def test_simulator_parameters_that_are_not_a_shower_are_refused(tmp_path: Path) -> None:
    """Defect 6: --params given a binary file (traceback) or NaN / extreme values (a traceback, or empty
    images written without a word)."""
    import json

    from caloquant.simulator import load_params

    shipped = load_params().to_json()
    cases = {"binary": (b"\xb6\x00\xff" * 100, "not UTF-8 text"),
             "list": (b"[1, 2]", "expected a JSON object"),
             "nan": ({"rho": float("nan")}, "rho nan: not a finite number"),
             "kappa": ({"kappa": 1e300}, "expected a sampling fraction in (0, 1]"),
             "layers": ({"response": [1.0] * 3}, "response: expected 25 numbers"),
             "depth": ({"lnT": [50.0, 0.0]}, "the shower maximum at 100 GeV lies at"),
             "radius": ({"core_radius": [1e300, 0, 0, 0]}, "the exponent reaches 1e+300")}
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(content if isinstance(content, bytes) else json.dumps({**shipped, **content}).encode())
        r = CliRunner().invoke(app, ["simulate", "-n", "4", "--params", str(path), "-o", str(tmp_path / "s.h5")])
        assert r.exit_code == 2 and message in r.output and str(path) in r.output, (name, r.output)
    assert not (tmp_path / "s.h5").exists()


def test_report_names_a_broken_result_instead_of_leaving_it_out(tmp_path: Path, small_showers) -> None:
    """Defects 6 and 8: report --from a folder with a non-UTF-8 or wrong-schema JSON crashed or wrote a
    report without it, silently."""
    from caloquant.data import write_3dgan
    from caloquant.workflows.validation import run_validation

    ecal, ep = small_showers
    write_3dgan(tmp_path / "s.h5", ecal, ep)
    results = tmp_path / "results"
    run_validation(tmp_path / "s.h5", tmp_path / "s.h5", results / "validate", voxel_classifier=False, plots=False,
                   n_boot=10)
    assert CliRunner().invoke(app, ["report", "--from", str(results)]).exit_code == 0
    metrics = results / "validate" / "metrics.json"
    good = metrics.read_bytes()
    for content, message in ((b"\xb6\xff" * 10, "not UTF-8 text"), (b'{"kind": "validate"', "not valid JSON"),
                             (b'{"kind": "validate", "n": 1}', "a validate result with no field 'compatible'")):
        metrics.write_bytes(content)
        r = CliRunner().invoke(app, ["report", "--from", str(results), "-o", str(tmp_path / "rep")])
        assert r.exit_code == 2 and message in r.output and str(metrics) in r.output, r.output
        assert not (tmp_path / "rep").exists()
    metrics.write_bytes(b'{"not": "ours"}')  # someone else's JSON: the report says it has no validate result
    assert CliRunner().invoke(app, ["report", "--from", str(results)]).exit_code == 0
    assert "No validate results were given" in (results / "report.md").read_text()
    metrics.write_bytes(good)


def test_the_error_is_the_only_line_on_stderr(tmp_path: Path) -> None:
    """Defect 9: the progress bar left its stub line before the one-line error."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "caloquant.cli.main", "simulate", "-n", "1000000000000", "-o",
                        str(tmp_path / "x.h5")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [r.stderr.strip()] and r.stderr.startswith("error: count 1000000000000")


def test_quantize_prints_only_its_own_lines(tmp_path: Path, tiny) -> None:
    """Defect 9: NNCF's INFO lines and progress bars (and ONNX Runtime's coloured log lines) appeared in the
    middle of caloquant's output; NNCF resets its logger to INFO when first imported, inside the call."""
    import subprocess
    import sys

    from caloquant.models.io import save_generator

    weights = tmp_path / "tiny.safetensors"
    save_generator(weights, tiny, info={"energy_range_gev": [100.0, 500.0]})
    for engine in ("openvino", "onnxruntime"):
        r = subprocess.run([sys.executable, "-m", "caloquant.cli.main", "quantize", "--model", str(weights),
                            "--engine", engine, "--precision", "int8", "-o", str(tmp_path / engine)],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        out = "".join(r.stdout.split())  # rich wraps long paths anywhere, at 80 columns without a terminal
        assert out.startswith(f"wrote{tmp_path / engine}") and out.count("wrote") == 1, r.stdout
        assert r.stderr == "", r.stderr


def test_quantize_method_and_fallback_choices_are_named(tmp_path: Path) -> None:
    """An unknown --method names every method; a bf16 fallback ONNX Runtime cannot run is refused in one
    line, and an accuracy-driven search on an engine without one is refused before any work."""
    cases = [(["--method", "bogus"], "expected ptq, qat, defaults or accuracy-control"),
             (["--engine", "onnxruntime", "--fallback", "bf16"], "no bf16 kernels on CPU"),
             (["--engine", "onnxruntime", "--method", "accuracy-control"], "runs on openvino, not onnxruntime")]
    for extra, message in cases:
        r = CliRunner().invoke(app, ["quantize", "--precision", "int8", *extra, "-o", str(tmp_path / "q")])
        assert r.exit_code == 2, r.output
        assert message in " ".join(r.output.split()) and "Traceback" not in r.output
        assert not (tmp_path / "q").exists()
