"""`caloquant bench ...`: every benchmark behind one sub-command group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caloquant.cli.common import console, handle_errors, parse_energy_range, progress_bar, require_positive

__all__ = ["register"]

bench_app = typer.Typer(help="Benchmarks: warm-up, repeated runs, medians; results as JSON.", no_args_is_help=True)


@bench_app.command("simulate")
@handle_errors
def bench_simulate_cmd(
    count: Annotated[int, typer.Option("-n", "--count", help="Showers per timed run.")] = 4096,
    threads: Annotated[int, typer.Option(help="Worker threads.")] = 2,
    repeats: Annotated[int, typer.Option(help="Timed runs (median reported).")] = 5,
    energy: Annotated[str, typer.Option(help="LO:HI GeV.")] = "100:500",
    seed: Annotated[int, typer.Option()] = 1,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file.")] = None,
    check: Annotated[bool, typer.Option(help="Exit 1 below the 2000 showers/s target.")] = False,
    params: Annotated[Path | None, typer.Option(help="Simulator parameters (default: the shipped fit).")] = None,
    baseline_params: Annotated[Path | None, typer.Option(help="Also time these parameters in the same run "
                                                         "(before/after a model change).")] = None,
) -> None:
    """Simulator throughput in memory (file writing reported separately), against Geant4."""
    from caloquant.workflows.bench.simulate import bench_simulate

    require_positive(count, "--count")
    require_positive(threads, "--threads")
    require_positive(repeats, "--repeats")
    lo, hi = parse_energy_range(energy)
    with progress_bar(transient=True) as bar:
        runs = (1 + repeats) * (2 if baseline_params else 1) + max(1, repeats // 2)
        task = bar.add_task("bench simulate", total=runs, rate="")
        result = bench_simulate(count=count, threads=threads, repeats=repeats, seed=seed, energy=(lo, hi),
                                params=params, baseline_params=baseline_params, on_step=lambda: bar.advance(task))
    mem, io = result["in_memory"], result["file_writing"]
    console.print(f"simulator, {threads} threads: [bold]{mem['throughput_per_s']:.0f} showers/s[/] in memory "
                  f"(median of {repeats}, spread {mem['spread']:.1%}); writing 3DGAN HDF5: "
                  f"{io['throughput_per_s']:.0f} showers/s")
    if result["baseline"]:
        base = result["baseline"]["in_memory"]
        console.print(f"baseline {baseline_params}: {base['throughput_per_s']:.0f} showers/s in memory "
                      f"(spread {base['spread']:.1%}), same run")
    console.print(f"Geant4 on the same {threads} cores: {result['geant4_showers_per_s_same_cores']:.2f} showers/s "
                  f"-> speed-up {result['speedup_over_geant4']:.0f}x; target {result['target_showers_per_s']:.0f} "
                  f"showers/s {'met' if result['meets_target'] else 'NOT met'}")
    if out is not None:
        from caloquant._atomic import write_json_atomic

        write_json_atomic(out, result)
    if check and not result["meets_target"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("train")
@handle_errors
def bench_train_cmd(
    model_size: Annotated[str, typer.Option(help="paper or tiny.")] = "paper",
    batch_size: Annotated[int, typer.Option(help="Samples per step.")] = 32,
    steps: Annotated[int, typer.Option(help="Timed steps per variant (median reported).")] = 3,
    threads: Annotated[int, typer.Option(help="Threads.")] = 2,
    variants: Annotated[str, typer.Option(help="Comma-separated: fp32, bf16, bf16+channels_last, "
                                          "bf16+compile.")] = "fp32,bf16,bf16+channels_last",
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file.")] = None,
) -> None:
    """Training throughput (samples/s) for CPU options: bf16 autocast, channels_last, torch.compile."""
    from caloquant.workflows.bench.train import bench_train

    require_positive(batch_size, "--batch-size")
    require_positive(steps, "--steps")
    require_positive(threads, "--threads")
    names = [v.strip() for v in variants.split(",") if v.strip()]
    with progress_bar(transient=True) as bar:
        task = bar.add_task("bench train", total=len(names) * (steps + 1), rate="")
        result = bench_train(model=model_size, batch_size=batch_size, steps=steps, threads=threads,
                             variants=names, on_step=lambda: bar.advance(task))
    for name, r in result["variants"].items():
        console.print(f"{name:22s} {r['samples_per_s']:7.1f} samples/s  ({r['speedup_vs_first']:.2f}x {names[0]})")
    if out is not None:
        from caloquant._atomic import write_json_atomic

        write_json_atomic(out, result)


@bench_app.command("validate")
@handle_errors
def bench_validate_cmd(
    count: Annotated[int, typer.Option("-n", "--count", help="Showers in each of the two files.")] = 10000,
    seed: Annotated[int, typer.Option()] = 1,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file.")] = None,
    check: Annotated[bool, typer.Option(help="Exit 1 above the 60 s target.")] = False,
) -> None:
    """Time `validate` on N against N simulated showers (all metrics and plots; voxel classifier apart)."""
    from caloquant.workflows.bench.validate import bench_validate

    require_positive(count, "--count")
    with console.status("bench validate") as status:
        result = bench_validate(count=count, seed=seed, on_stage=lambda s: status.update(f"bench validate: {s}"))
    console.print(f"validate {count} vs {count}: {result['seconds_without_voxel_classifier']:.1f} s without the "
                  f"voxel classifier (target {result['target_seconds']:.0f} s: "
                  f"{'met' if result['meets_target'] else 'NOT met'}), voxel classifier "
                  f"{result['seconds_voxel_classifier']:.1f} s")
    if out is not None:
        from caloquant._atomic import write_json_atomic

        write_json_atomic(out, result)
    if check and not result["meets_target"]:
        raise typer.Exit(1)


@bench_app.command("precision")
@handle_errors
def bench_precision_cmd(
    model: Annotated[Path | None, typer.Option(help="Weights file or run directory (default: shipped).")] = None,
    configs: Annotated[str, typer.Option(help="Comma-separated engine:precision:tool, tool caloquant, "
                                         "defaults or accuracy-control; engine tflite (`make peers`) runs fp32, fp16 "
                                         "and int8:defaults (default: all, TFLite where installed).")] = "",
    batch_size: Annotated[int, typer.Option(help="Showers per batch.")] = 128,
    threads: Annotated[int, typer.Option(help="Threads.")] = 2,
    repeats: Annotated[int, typer.Option(help="Timed batches (median reported).")] = 10,
    rounds: Annotated[int, typer.Option(help="Timings per model, interleaved over the models (the median round "
                                        "reported).")] = 3,
    physics_count: Annotated[int, typer.Option(help="Paired showers for the physics verdict (0: skip).")] = 2000,
    auto: Annotated[Path | None, typer.Option(help="A `quantize --precision auto` directory to time beside the "
                                              "others (default: the stored one of the shipped model).")] = None,
    qat: Annotated[Path | None, typer.Option(help="A `quantize --precision int8 --method qat` directory to time "
                                             "and judge beside the others.")] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file (Markdown next to it).")] = None,
) -> None:
    """Engine x precision x tool: showers/s, ms per batch, model size, peak memory, physics verdict."""
    from caloquant.errors import InputValueError
    from caloquant.workflows.bench.precision import bench_precision, default_configs, render_markdown

    require_positive(batch_size, "--batch-size")
    require_positive(threads, "--threads")
    require_positive(repeats, "--repeats")
    require_positive(rounds, "--rounds")
    pairs = default_configs()
    if configs:
        pairs = tuple(tuple(c.split(":")) for c in configs.split(","))  # type: ignore[misc]
        if any(len(p) != 3 or p[2] not in ("caloquant", "defaults", "accuracy-control") for p in pairs):
            raise InputValueError(f"--configs {configs!r}: expected engine:precision:tool[,...], tool caloquant, "
                                  "defaults or accuracy-control")
    if auto is None and model is None:
        from caloquant.models.shipped import shipped_auto_model

        auto = shipped_auto_model()
    extra = {("openvino", "auto", "caloquant auto (physics-driven tuner)"): auto} if auto is not None else {}
    if qat is not None:
        extra[("openvino", "int8", "caloquant QAT (self-distillation, physics loss)")] = qat
    with console.status("bench precision") as status:
        result = bench_precision(str(model) if model else None, configs=pairs, batch_size=batch_size,
                                 threads=threads, repeats=repeats, rounds=rounds, physics_count=physics_count,
                                 model_dirs=extra or None,
                                 on_stage=lambda s: status.update(f"bench precision: {s}"))
    table = render_markdown(result)
    console.print(table)
    if out is not None:
        from caloquant._atomic import write_json_atomic, write_text_atomic

        write_json_atomic(out, result)
        write_text_atomic(out.with_suffix(".md"), table)


@bench_app.command("inference")
@handle_errors
def bench_inference_cmd(
    model: Annotated[Path | None, typer.Option(help="Weights file or run directory (default: shipped).")] = None,
    configs: Annotated[str, typer.Option(help="Comma-separated engine:precision.")]
    = "torch:fp32,openvino:fp32,openvino:bf16,openvino:int8",
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,128",
    threads: Annotated[int, typer.Option(help="Threads.")] = 2,
    repeats: Annotated[int, typer.Option(help="Timed batches (median).")] = 10,
    grid: Annotated[str, typer.Option(help="streams x threads grid, e.g. 1x1,1x2,2x2 (empty: none).")] = "1x1,1x2,2x2",
    matmul_size: Annotated[int, typer.Option(help="Matrix size for the machine's rate (0: skip).")] = 2048,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file.")] = None,
) -> None:
    """Throughput and latency per engine, precision and batch size; streams x threads; matmul rates."""
    from caloquant.errors import InputValueError
    from caloquant.workflows.bench.inference_suite import bench_inference

    try:
        pairs = [tuple(c.split(":")) for c in configs.split(",") if c]
        sizes = [int(b) for b in batch_sizes.split(",") if b]
        cells = [tuple(int(v) for v in g.split("x")) for g in grid.split(",") if g]
    except ValueError:
        raise InputValueError(f"--batch-sizes {batch_sizes!r} / --grid {grid!r}: expected integers") from None
    if any(len(p) != 2 for p in pairs) or any(len(c) != 2 for c in cells) or any(b <= 0 for b in sizes):
        raise InputValueError("--configs engine:precision, --grid SxT, --batch-sizes positive integers")
    require_positive(threads, "--threads")
    with console.status("bench inference") as status:
        result = bench_inference(str(model) if model else None, configs=pairs, batch_sizes=sizes,  # type: ignore[arg-type]
                                 threads=threads, repeats=repeats, grid=cells,  # type: ignore[arg-type]
                                 matmul_size=matmul_size, on_stage=lambda s: status.update(f"bench inference: {s}"))
    for r in result["results"]:
        console.print(f"{r['engine']:12s} {r['precision']:5s} batch {r['batch_size']:4d}: {r['showers_per_s']:8.1f} "
                      f"showers/s, {r['ms_per_batch_median']:8.2f} ms median, {r['ms_per_batch_p99']:8.2f} ms p99, "
                      f"{r['speedup_over_geant4']:.0f}x Geant4")
    for precision, rate in result["matmul"].items():
        console.print(f"matrix product {precision}: {rate['gmac_per_s']:.0f} GMAC/s")
    if out is not None:
        from caloquant._atomic import write_json_atomic

        write_json_atomic(out, result)


@bench_app.command("produce")
@handle_errors
def bench_produce_cmd(
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the shipped model at OpenVINO "
                                                     "int8).")] = None,
    count: Annotated[int, typer.Option("-n", "--count", help="Showers per layout.")] = 4096,
    shard_size: Annotated[int, typer.Option(help="Showers per shard.")] = 1024,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file (Markdown beside it).")] = None,
) -> None:
    """Production throughput with 1 and 2 Dask workers against plain generate, writing included, and an
    estimate for 10 million showers on 100 such nodes."""
    from caloquant.workflows.bench.produce import bench_produce, render_markdown

    require_positive(count, "--count")
    require_positive(shard_size, "--shard-size")
    with progress_bar(transient=True) as bar:
        task = bar.add_task("bench produce", total=4, rate="")

        def stage(msg: str) -> None:
            bar.update(task, advance=1, description=msg)

        result = bench_produce(str(model) if model else None, count=count, shard_size=shard_size, on_stage=stage)
    table = render_markdown(result)
    console.print(table)
    if out is not None:
        from caloquant._atomic import write_json_atomic, write_text_atomic

        write_json_atomic(out, result)
        write_text_atomic(out.with_suffix(".md"), table)


@bench_app.command("autoq")
@handle_errors
def bench_autoq_cmd(
    seconds: Annotated[float, typer.Option(help="Wall time per trigger strategy.")] = 60.0,
    strategy: Annotated[str, typer.Option(help="Comma-separated: random, gradient, hgq2.")] = "random,gradient,hgq2",
    qat_epochs: Annotated[int, typer.Option(help="QAT epochs per trigger candidate.")] = 15,
    generator: Annotated[bool, typer.Option("--generator/--no-generator", help="Also time the generator search's "
                                            "steps (several minutes).")] = False,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON result file (Markdown beside it).")] = None,
) -> None:
    """Search time per trial for each autoq strategy, the hls4ml build and C simulation, and (opt-in) the
    generator search's reference, sensitivity pass and one candidate."""
    from caloquant.edge.autoq import STRATEGIES
    from caloquant.errors import InputValueError
    from caloquant.workflows.bench.autoq import bench_autoq, render_markdown

    if seconds <= 0:
        raise InputValueError(f"--seconds {seconds:g}: must be positive")
    require_positive(qat_epochs, "--qat-epochs")
    names = tuple(s.strip() for s in strategy.split(",") if s.strip())
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise InputValueError(f"--strategy {strategy!r}: expected some of {', '.join(STRATEGIES)}")
    with progress_bar(transient=True) as bar:
        task = bar.add_task("bench autoq", total=len(names) + 1 + 3 * generator, rate="")
        result = bench_autoq(seconds=seconds, strategies=names, qat_epochs=qat_epochs, generator=generator,
                             on_step=lambda m: bar.update(task, advance=1, description=m))
    table = render_markdown(result)
    console.print(table)
    if out is not None:
        from caloquant._atomic import write_json_atomic, write_text_atomic

        write_json_atomic(out, result)
        write_text_atomic(out.with_suffix(".md"), table)
