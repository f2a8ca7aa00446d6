from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from caloquant._atomic import write_json_atomic
from caloquant.data import write_3dgan
from caloquant.report.builder import build_report, discover_inputs
from caloquant.simulator import default_simulator, draw_energies
from caloquant.workflows.acceptance import check_simulator
from caloquant.workflows.bench.simulate import bench_simulate
from caloquant.workflows.validation import run_validation

SECTIONS = ("Against Geant4", "Physics validation", "Reduced precision against float32", "Benchmarks")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    sim = default_simulator()
    for seed, name in ((21, "a.h5"), (22, "b.h5")):
        ep = draw_energies(seed, 400, 100.0, 500.0)
        write_3dgan(root / name, sim.simulate(ep, seed), ep.astype(np.float32))
    run_validation(root / "a.h5", root / "b.h5", root / "validate-sim", voxel_classifier=False, n_boot=20)
    write_json_atomic(root / "compare-sim.json", check_simulator([root / "b.h5"], oversample=1))
    write_json_atomic(root / "bench-simulate.json", bench_simulate(count=64, threads=1, repeats=1))
    # paired copies of a.h5 with small and larger multiplicative noise, standing in for fp16 and int8 outputs
    from caloquant.data import open_showers
    from caloquant.workflows.pairs import summarize_pairs

    ecal, ep = open_showers(root / "a.h5").read(0, 400)
    dirs = {}
    for label, noise in (("fp16", 1e-3), ("int8", 3e-2)):
        rng = np.random.default_rng(5)
        write_3dgan(root / f"{label}.h5", ecal * (1 + noise * rng.standard_normal(ecal.shape)).astype(np.float32), ep)
        dirs[label] = root / "pairs" / label
        run_validation(root / f"{label}.h5", root / "a.h5", dirs[label], paired=True, voxel_classifier=False,
                       plots=False, n_boot=20)
    write_json_atomic(root / "precision-pairs.json", summarize_pairs(dirs))
    return root


def test_precision_ratios(results: Path) -> None:
    r = json.loads((results / "precision-pairs.json").read_text())
    assert set(r["ratios"]) == {"int8 / fp16"}
    assert 20 < r["ratios"]["int8 / fp16"]["value"] < 40  # noise 3e-2 vs 1e-3
    assert r["paper_ratios"]["int8 / fp16 (TFLite)"] == pytest.approx(30.48, abs=0.01)
    from caloquant.workflows.pairs import summarize_pairs

    dirs = {"tflite-fp16": results / "pairs" / "fp16", "int8": results / "pairs" / "int8",
            "tflite-int8": results / "pairs" / "int8"}  # the demo's labels for paper A's peers
    assert set(summarize_pairs(dirs)["ratios"]) == {"int8 / tflite-fp16", "tflite-int8 / tflite-fp16"}


def test_report_has_every_section_and_embeds_images(results: Path) -> None:
    inputs = discover_inputs(results)
    assert inputs.compare and inputs.validations and inputs.benches
    html_path, md_path = build_report(inputs, results)
    page, md = html_path.read_text(), md_path.read_text()
    for section in SECTIONS:
        assert f"## {section}" in md and f">{section}</h2>" in page
    assert "data:image/png;base64," in page and "src='validate-sim" not in page  # self-contained
    assert "12.00 / 12.02" in md  # the paper's Table 3 beside ours
    assert "(validate-sim/shapes_all.png)" in md


def test_missing_inputs_are_said_not_hidden(tmp_path: Path) -> None:
    _, md = build_report(discover_inputs(tmp_path), tmp_path)
    text = md.read_text()
    assert "No compare-sim" in text and "No validate results" in text and "No benchmark results" in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
@pytest.mark.slow  # starts chromium
def test_report_renders_in_headless_chromium(results: Path, tmp_path: Path) -> None:
    html_path, _ = build_report(discover_inputs(results), results)
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                          "--dump-dom", html_path.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    for section in SECTIONS:
        assert section in dom.stdout
    assert json.loads((results / "validate-sim" / "metrics.json").read_text())["kind"] == "validate"


def test_readme_results_block_is_replaced_in_place(results: Path, tmp_path: Path) -> None:
    from caloquant.errors import InputValueError
    from caloquant.report.readme_results import BEGIN, END, demo_results_markdown, update_readme

    text = demo_results_markdown(results)
    assert "int8 / fp16 = " in text and "paper A" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{BEGIN}\nold numbers\n{END}\nafter\n")
    update_readme(readme, text)
    new = readme.read_text()
    assert "old numbers" not in new and text in new and new.startswith("# title\n\nbefore\n") and new.endswith(
        f"{END}\nafter\n")
    readme.write_text("no markers here\n")
    with pytest.raises(InputValueError, match="no results markers"):
        update_readme(readme, text)
    assert readme.read_text() == "no markers here\n"


def test_sections_without_inputs_say_so(tmp_path: Path) -> None:
    from caloquant.report.builder import ReportInputs

    _, md = build_report(ReportInputs(), tmp_path)
    text = md.read_text()
    for section in SECTIONS:
        assert f"## {section}" in text
    assert text.count("results were given.") == len(SECTIONS)


def test_bench_precision_with_the_peers_shows_paper_as_ratios(tmp_path: Path) -> None:
    """The peers' rows of a `bench precision` run give paper A's pixel-wise ratios beside the paper's, and
    scripts/paper_table3.py's result its Table 3 per precision."""
    from caloquant.report.builder import ReportInputs

    def row(engine: str, precision: str, tool: str, pixelwise: float, passed: bool) -> dict:
        check = {"passed": passed, "score": 0.3 if passed else 9.0}
        return {"engine": engine, "precision": precision, "tool": tool, "showers_per_s": 100.0,
                "ms_per_batch_median": 1.0, "ms_per_batch_p99": 1.1, "model_bytes": 1e6,
                "speedup_vs_openvino_fp32": 3.0,
                "physics": {"compatible": passed, "n_incompatible": 0 if passed else 5,
                            "pixelwise_relative": pixelwise / 10, "pixelwise_abs_sum_gev": pixelwise,
                            "paired_at_reference_size": check}}

    bench = {"kind": "bench precision", "results": [
        row("tflite", "fp16", "TFLite converter, float16 weights", 0.002, True),
        row("tflite", "int8", "TFLite converter, full integer", 1.4, False),
        row("openvino", "int8", "caloquant (NNCF symmetric, float output layer)", 0.05, True)]}
    write_json_atomic(tmp_path / "bench-precision.json", bench)
    shapes = {n: {"sample": 1.0, "reference": 2.0} for n in ("y mean", "y std", "z mean", "z std")}
    (tmp_path / "t3").mkdir()
    write_json_atomic(tmp_path / "t3" / "paper-table3.json", {
        "kind": "paper table3", "reference": "g4.h5", "count": 10,
        "rows": {"tflite-int8": {"model": "m", "shapes": shapes, "mse": {"value": 0.5, "se": 0.1}}}})
    inputs = discover_inputs(tmp_path)
    assert inputs.tables3 == [tmp_path / "t3" / "paper-table3.json"]
    _, md = build_report(ReportInputs(benches=inputs.benches, tables3=inputs.tables3), tmp_path)
    text = md.read_text()
    assert "| tflite-int8 | 1.00 | 1.00 | 1.00 | 1.00 | 0.5 |" in text and "| Geant4 (this file) | 2.00 |" in text
    assert "| TFLite int8 / TFLite fp16 | 30.5 (TFLite int8 / TFLite fp16) | 700 |" in text
    assert "| caloquant int8 (PTQ) / TFLite fp16 | 11.7 (iLoT int8 / TFLite fp16) | 25 | 3.00x | pass |" in text
    assert "| TFLite int8 / caloquant int8 (PTQ) | 2.62 (TFLite int8 / iLoT int8) | 28 |" in text
