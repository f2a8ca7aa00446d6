"""`caloquant bench autoq`: seconds per trial for each strategy and the hls4ml build, as JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caloquant.cli.main import app


@pytest.mark.slow  # starts the hls4ml C simulation
def test_bench_autoq_records_time_per_trial(tmp_path: Path) -> None:
    out = tmp_path / "bench-autoq.json"
    r = CliRunner().invoke(app, ["bench", "autoq", "--seconds", "1", "--strategy", "random,gradient",
                                 "--qat-epochs", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    for s in ("random", "gradient"):
        assert res["trigger"][s]["trials"] >= 1 and res["trigger"][s]["median_s"] > 0
    assert res["hls4ml"]["bit_exact_events"] == res["hls4ml"]["csim_events"] == 1200
    assert "| trigger | random |" in out.with_suffix(".md").read_text()


def test_bench_autoq_rejects_unknown_strategy() -> None:
    r = CliRunner().invoke(app, ["bench", "autoq", "--strategy", "annealing"])
    assert r.exit_code == 2 and "--strategy 'annealing'" in r.output, r.output
