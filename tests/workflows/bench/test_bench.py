from __future__ import annotations

import numpy as np
import pytest

from caloquant.workflows.bench.simulate import bench_simulate
from caloquant.workflows.bench.train import bench_train


def test_bench_simulate_reports_in_memory_and_writing_separately() -> None:
    r = bench_simulate(count=64, threads=1, repeats=2)
    assert r["kind"] == "bench simulate" and r["schema_version"] == 1
    mem, io = r["in_memory"], r["file_writing"]
    assert len(mem["seconds"]) == 2 and mem["items"] == io["items"] == 64 and len(io["seconds"]) == 1
    assert mem["throughput_per_s"] == pytest.approx(64 / np.median(mem["seconds"]))
    assert r["speedup_over_geant4"] == r["in_memory"]["throughput_per_s"] / r["geant4_showers_per_s_same_cores"]
    assert r["baseline"] is None and r["params"] == "shipped"


def test_bench_simulate_times_baseline_parameters_in_the_same_run(tmp_path) -> None:
    from dataclasses import replace

    from caloquant.simulator import load_params

    old = tmp_path / "old.json"
    replace(load_params(), halo_fraction=(-25.0, 0.0, 0.0, 0.0), layer_sigma=(0.0, 0.0, 0.0)).save(old)
    r = bench_simulate(count=32, threads=1, repeats=1, baseline_params=old)
    assert r["baseline"]["params"] == str(old) and r["baseline"]["in_memory"]["items"] == 32
    assert r["baseline"]["in_memory"]["throughput_per_s"] > 0


def test_bench_train_compares_variants_on_the_tiny_model() -> None:
    r = bench_train(model="tiny", batch_size=4, steps=1, threads=1, variants=("fp32", "bf16"))
    fp32, bf16 = r["variants"]["fp32"], r["variants"]["bf16"]
    assert fp32["items"] == bf16["items"] == 4  # one step of a batch of 4
    assert bf16["speedup_vs_first"] == pytest.approx(bf16["samples_per_s"] / fp32["samples_per_s"])


def test_bench_validate_small() -> None:
    from caloquant.workflows.bench.validate import bench_validate

    r = bench_validate(count=300, plots=False)
    assert r["kind"] == "bench validate" and r["n_quantities"] > 50
    assert r["seconds_total"] >= r["seconds_without_voxel_classifier"]  # the voxel classifier is a part


def test_bench_precision_on_the_tiny_model(tmp_path) -> None:
    import torch

    from caloquant.models import GANConfig, Generator
    from caloquant.models.io import save_generator
    from caloquant.workflows.bench.precision import bench_precision, render_markdown

    torch.manual_seed(0)
    weights = tmp_path / "tiny.safetensors"
    save_generator(weights, Generator(GANConfig.tiny()).eval())
    r = bench_precision(str(weights), configs=(("torch", "fp32", "caloquant"), ("openvino", "fp32", "caloquant"),
                                                    ("openvino", "int8", "caloquant")),
                        batch_size=8, threads=1, repeats=2, rounds=3, physics_count=60, calibration_size=16)
    rows = {(x["engine"], x["precision"]): x for x in r["results"]}
    for x in rows.values():  # three interleaved rounds, the median one reported
        assert len(x["showers_per_s_rounds"]) == 3 and x["showers_per_s"] == sorted(x["showers_per_s_rounds"])[1]
    ov32, ov8 = rows[("openvino", "fp32")], rows[("openvino", "int8")]
    assert ov8["speedup_vs_openvino_fp32"] == pytest.approx(ov8["showers_per_s"] / ov32["showers_per_s"])
    assert rows[("openvino", "int8")]["model_bytes"] < rows[("openvino", "fp32")]["model_bytes"]
    assert "physics" in rows[("openvino", "int8")]
    same = rows[("torch", "fp32")]["physics"]["judge"]  # the reference against itself, by the tuner's rule
    assert same["passed"] and same["score"] == 0 and same["n_quantities"] > 0
    assert "sigma at 10000 showers" in rows[("openvino", "int8")]["physics"]["judge"]["rule"]
    paired = rows[("torch", "fp32")]["physics"]["paired_at_reference_size"]  # validate's tolerances, at 10k
    assert paired["passed"] and paired["n_quantities"] == same["n_quantities"]
    table = render_markdown(r)
    assert table.count("\n") == 5 and "paired check at 10k" in table and "median of 3 rounds" in table


def test_bench_inference_grid_and_matmul_on_the_tiny_model(tmp_path) -> None:
    import torch

    from caloquant.models import GANConfig, Generator
    from caloquant.models.io import save_generator
    from caloquant.workflows.bench.inference_suite import bench_inference

    torch.manual_seed(0)
    weights = tmp_path / "tiny.safetensors"
    save_generator(weights, Generator(GANConfig.tiny()).eval())
    r = bench_inference(str(weights), configs=(("openvino", "fp32"), ("openvino", "int8")), batch_sizes=(1, 4),
                        threads=1, repeats=2, grid=((1, 1), (2, 2)), grid_batch=4, matmul_size=128,
                        calibration_size=16)
    assert [(x["precision"], x["batch_size"]) for x in r["results"]] == [("fp32", 1), ("fp32", 4), ("int8", 1),
                                                                          ("int8", 4)]
    assert len(r["streams_threads"]["int8"]) == 2 and set(r["matmul"]) == {"fp32", "bf16", "int8"}
    assert all(x["fraction_of_matmul_rate"] > 0 and x["speedup_over_geant4"] > 0 for x in r["results"])
