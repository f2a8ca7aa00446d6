"""Production planning without Dask: shard seeds and the limits of a plan."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("n_shards", [1, 7, 1000])
def test_a_shard_seed_is_the_spawned_child_built_directly(n_shards: int) -> None:
    """Resumed productions keep their streams; planning costs the same per shard however many there are."""
    import numpy as np

    from caloquant.production.plan import shard_seed

    children = np.random.SeedSequence(5).spawn(n_shards)
    for i in {0, n_shards // 2, n_shards - 1}:
        assert shard_seed(5, n_shards, i).spawn_key == children[i].spawn_key
        np.testing.assert_array_equal(shard_seed(5, n_shards, i).generate_state(8), children[i].generate_state(8))
    # spawning 10^12 children to pick the last one would exhaust memory; built directly it is one object
    assert shard_seed(5, 10**12, 10**12 - 1).spawn_key == (10**12 - 1,)


def test_plans_beyond_what_a_manifest_holds_are_refused_in_one_line() -> None:
    from caloquant.errors import InputValueError
    from caloquant.production.plan import ProductionParams

    with pytest.raises(InputValueError, match="raise shard_size to at least 1000000"):
        ProductionParams(model="m.safetensors", model_sha256="", count=10**12, energy=(100.0, 500.0), seed=1,
                         shard_size=10, threads=1, batch_size=16)


def test_dry_run_plans_ten_thousand_shards_and_writes_nothing(tmp_path) -> None:
    """Issue 16: `produce --dry-run` shows the plan (its timing is printed; the target, < 1 s for 10 000
    shards, is checked by reading it, not by a timed test) without a cluster or a file."""
    import re

    from typer.testing import CliRunner

    from caloquant.cli.main import app

    out = tmp_path / "prod"
    r = CliRunner().invoke(app, ["produce", "-n", "10000000", "--shard-size", "1000", "-o", str(out), "--dry-run"])
    assert r.exit_code == 0, r.output
    flat = "".join(r.output.split())  # rich wraps at 80 columns, anywhere in a long path
    assert "10000shardsofupto1000" in flat and "'spawn_key':[9999]" in flat and "nothingwritten" in flat
    assert re.search(r"plannedin\d+\.\d+s", flat)
    assert not out.exists()
