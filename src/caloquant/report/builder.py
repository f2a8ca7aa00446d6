"""`caloquant report`: one self-contained HTML file (images embedded) and Markdown from result JSONs.

The report only reads results: compare-sim/compare-gan JSON, `validate` directories (metrics.json and
figures), `bench` JSON. Sections whose inputs are missing say so instead of disappearing.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caloquant.errors import DataFormatError
from caloquant.paper import PAPER_INFERENCE, PAPER_MSE, PAPER_PIXELWISE, PAPER_SHAPES
from caloquant.report.paper_ratios import TABLE3_KIND, paper_ratio_rows, table3_rows

__all__ = ["ReportInputs", "build_report", "discover_inputs"]


@dataclass
class ReportInputs:
    compare: list[Path] = field(default_factory=list)  # compare-sim / compare-gan JSON
    validations: dict[str, Path] = field(default_factory=dict)  # title -> validate output directory
    benches: list[Path] = field(default_factory=list)  # bench JSON
    pairs: list[Path] = field(default_factory=list)  # precision pairs JSON (reduced precision vs fp32)
    tables3: list[Path] = field(default_factory=list)  # paper A's Table 3 per precision (scripts/paper_table3.py)


def discover_inputs(root: str | os.PathLike[str]) -> ReportInputs:
    """Find result files under ``root`` (a demo directory) by their 'kind'. A .json that cannot be read
    is an error naming it (a report that silently leaves out a broken result reads as complete); valid
    JSON without a 'kind' is someone else's file and is passed over."""
    inputs = ReportInputs()
    for path in sorted(Path(root).rglob("*.json")):
        data = _read_json(path)
        kind = data.get("kind", "") if isinstance(data, dict) else ""
        if not isinstance(kind, str):
            raise DataFormatError(f"{path}: 'kind' is {kind!r}; expected a caloquant result name")
        if kind in ("compare-sim", "compare-gan"):
            inputs.compare.append(path)
        elif kind == "validate":
            inputs.validations[path.parent.name] = path.parent
        elif kind.startswith("bench"):
            inputs.benches.append(path)
        elif kind == "precision pairs":
            inputs.pairs.append(path)
        elif kind == TABLE3_KIND:
            inputs.tables3.append(path)
    return inputs


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not UTF-8 text; the report reads every .json under its folder") from None
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); the report reads every "
                              ".json under its folder") from None


@contextlib.contextmanager
def _result(path: Path) -> Iterator[Any]:
    """A result file as the section reads it; a missing or mistyped field is one line naming the file."""
    data = _read_json(path)
    try:
        yield data
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
        what = f"no field {exc.args[0]!r}" if isinstance(exc, KeyError) else f"a field of the wrong type ({exc})"
        raise DataFormatError(f"{path}: a {data.get('kind', 'caloquant') if isinstance(data, dict) else ''} "
                              f"result with {what}; written by another caloquant version?") from None


class _Doc:
    """Writes the same content as Markdown and as HTML."""

    def __init__(self) -> None:
        self.md: list[str] = []
        self.html: list[str] = []

    def h(self, level: int, text: str) -> None:
        self.md.append(f"{'#' * level} {text}\n")
        self.html.append(f"<h{level} id='{_slug(text)}'>{html.escape(text)}</h{level}>")

    def p(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("|" + "---|" * len(header))
        self.md.extend("| " + " | ".join(r) + " |" for r in rows)
        self.md.append("")
        head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        self.html.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def image(self, path: Path, link: str, caption: str) -> None:
        """Embed ``path`` in the HTML; Markdown links to ``link`` (relative to the report)."""
        self.md.append(f"![{caption}]({link})\n")
        data = base64.b64encode(path.read_bytes()).decode()
        self.html.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _pct(x: float) -> str:
    return f"{100 * x:+.2f} %"


def _open_section(doc: _Doc, title: str, inputs: Any, what: str) -> bool:
    """Start a section; one whose inputs are missing says so instead of disappearing."""
    doc.h(2, title)
    if not inputs:
        doc.p(f"No {what} results were given.")
    return bool(inputs)


def _compare_section(doc: _Doc, paths: list[Path]) -> None:
    if not _open_section(doc, "Against Geant4", paths, "compare-sim / compare-gan"):
        return
    for path in paths:
        with _result(path) as r:
            _compare_rows(doc, r)


def _compare_rows(doc: _Doc, r: dict[str, Any]) -> None:
    label = r.get("sample_label", "sample")
    for ref in r["references"]:
        verdict = "compatible" if ref["compatible"] else "INCOMPATIBLE"
        doc.h(3, f"{label} vs {ref['name']}: {verdict}")
        rows = [[e["bin"], e["quantity"], f"{e['sample']:.5g}", f"{e['reference']:.5g}", _pct(e["diff"]),
                 f"{100 * e['allowed']:.2f} %", "" if e["baseline"] is None else _pct(e["baseline"]),
                 "yes" if e["compatible"] else "NO"] for e in ref["summary"] if e["bin"] == "all"]
        doc.table(["bin", "quantity", label, "Geant4", "difference", "allowed", "split-half", "compatible"], rows)


def _validation_section(doc: _Doc, validations: dict[str, Path], root: Path) -> None:
    if not _open_section(doc, "Physics validation", validations, "validate"):
        return
    for title, d in validations.items():
        with _result(d / "metrics.json") as m:
            _validation_rows(doc, title, d, m, root)


def _validation_rows(doc: _Doc, title: str, d: Path, m: dict[str, Any], root: Path) -> None:
    doc.h(3, f"{title}: {'compatible' if m['compatible'] else 'INCOMPATIBLE'}")
    doc.p(f"{m['samples']['n']} showers ({Path(m['samples']['path']).name}) against {m['reference']['n']} "
          f"({Path(m['reference']['path']).name}); {len(m['quantities']) - m['n_incompatible']} of "
          f"{len(m['quantities'])} quantities agree within max(tolerance, {m['settings']['k']:g} sigma).")
    shapes = {q["name"]: q for q in m["quantities"] if q["bin"] == "all" and q["name"] in PAPER_SHAPES}
    rows = [[name, f"{q['reference']:.3f}", f"{q['sample']:.3f}", f"{q['sigma'] * abs(q['reference']):.3f}",
             " / ".join(f"{v:.2f}" for v in PAPER_SHAPES[name])] for name, q in shapes.items()]
    doc.table(["Table 3 quantity", "reference", "sample", "sigma of difference",
               "paper: Geant4 / fp32 / iLoT int8 / TFLite fp16 / TFLite int8"], rows)
    extra = [["MSE-based number (all energies)", f"{m['mse_projections']['all']['value']:.4g}",
              f"paper: fp32 {PAPER_MSE['fp32']}, iLoT {PAPER_MSE['iLoT int8']}, TFLite fp16 "
              f"{PAPER_MSE['TFLite fp16']}, TFLite int8 {PAPER_MSE['TFLite int8']} (own units: compare ratios)"],
             ["3DGAN selection metric", "n/a" if m["selection_metric"]["value"] is None
              else f"{m['selection_metric']['value']:.4g}", m["selection_metric"].get("bins", "")],
             ["FPD", *_fpd_cells(m["hlf"]["fpd"])],
             ["KPD", f"{m['hlf']['kpd']['value']:.3g} +- {m['hlf']['kpd']['se']:.2g}",
              f"split-half {m['hlf']['kpd']['baseline']:.3g}"]]
    for name, c in m["classifier"].items():
        extra.append([f"classifier AUC ({name})", f"{c['auc']:.3f} +- {c['auc_se']:.3f}", f"JSD {c['jsd']:.3f}"])
    if "paired" in m:
        p = m["paired"]
        extra.append(["pixel-wise mean sum|A-B| (GeV)", f"{p['pixelwise_abs_sum_gev']['value']:.4g}",
                      f"paper (fixed latent): TFLite fp16 {PAPER_PIXELWISE['TFLite fp16']}, TFLite int8 "
                      f"{PAPER_PIXELWISE['TFLite int8']}, iLoT int8 {PAPER_PIXELWISE['iLoT int8']}"])
    doc.table(["metric", "value", "note"], extra)
    for fig in m.get("figures", []):
        if fig.endswith(".png") and fig.split(".")[0] in ("shapes_all", "response", "features", "mean_image"):
            link = os.path.relpath(d / fig, root)
            doc.image(d / fig, Path(link).as_posix(), f"{title}: {fig[:-4].replace('_', ' ')}")


def _fpd_cells(f: dict[str, Any]) -> list[str]:
    if f["value"] is None:
        return ["not computed", f.get("reason", "")]
    return [f"{f['value']:.3g} +- {f['se']:.2g}",
            "split-half n/a" if f["baseline"] is None else f"split-half {f['baseline']:.3g}"]


def _pairs_section(doc: _Doc, pairs: list[Path], tables3: list[Path]) -> None:
    if not _open_section(doc, "Reduced precision against float32", pairs + tables3, "paired precision"):
        return
    for path in pairs:
        with _result(path) as r:
            _pairs_rows(doc, r)
    for path in tables3:
        with _result(path) as r:
            doc.h(3, f"Paper A's Table 3 and MSE-based number per precision, against Geant4 ({r['count']} showers "
                     "each)")
            doc.table(*table3_rows(r))


def _pairs_rows(doc: _Doc, r: dict[str, Any]) -> None:
    rows = [[x["precision"], str(x["n"]),
             f"{x['pixelwise_abs_sum_gev']['value']:.4g} +- {x['pixelwise_abs_sum_gev']['se']:.2g}",
             f"{100 * x['pixelwise_relative']['value']:.3g} %", f"{100 * x['tail_relative']['value']:.3g} %",
             f"{x['mse_projections']['value']:.3g}",
             "compatible" if x["compatible"] else f"{x['n_incompatible']} of {x['n_quantities']} off"]
            for x in r["rows"]]
    doc.table(["precision", "paired showers", "pixel-wise mean sum|A-fp32| (GeV)", "relative",
               "tail cells, relative", "MSE-based number", "physics vs fp32"], rows)
    ratios = [[k, f"{v['value']:.3g} +- {v['se']:.2g}"] for k, v in r["ratios"].items()]
    ratios += [[f"paper A: {k}", f"{v:.3g}"] for k, v in r["paper_ratios"].items()]
    doc.table(["pixel-wise ratio", "value"], ratios)
    doc.p("Paper A's numbers are in its own units (TFLite fp16 0.133, TFLite int8 4.054, iLoT int8 1.550): "
          "only the ratios between precisions compare.")


def _bench_section(doc: _Doc, benches: list[Path]) -> None:
    if not _open_section(doc, "Benchmarks", benches, "benchmark"):
        return
    machine = None
    for path in benches:
        with _result(path) as r:
            machine = machine or r.get("machine")
            _bench_rows(doc, r)
    if machine:
        doc.p(f"Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, {machine['platform']}; "
              f"ISA: {', '.join(machine['isa_flags'])}.")


def _bench_physics_cells(ph: dict[str, Any] | None) -> list[str]:
    if not ph:
        return ["-", "-", "-"]
    check = ph.get("paired_at_reference_size")
    return [("pass" if ph["compatible"] else f"fail ({ph['n_incompatible']})"),
            "-" if not check else f"{'pass' if check['passed'] else 'fail'} ({check['score']:.2f})",
            f"{100 * ph['pixelwise_relative']:.3g} %"]


def _bench_rows(doc: _Doc, r: dict[str, Any]) -> None:
    kind = r["kind"]
    doc.h(3, kind)
    if kind == "bench precision":
        rows = [[x["engine"], x["precision"], x["tool"], f"{x['showers_per_s']:.0f}",
                 f"{x['ms_per_batch_median']:.1f} / {x['ms_per_batch_p99']:.1f}",
                 f"{x.get('speedup_vs_openvino_fp32', float('nan')):.2f}x",
                 f"{x.get('speedup_vs_torch_fp32', float('nan')):.2f}x", f"{x['model_bytes'] / 1e6:.2f}",
                 *_bench_physics_cells(x.get("physics"))]
                for x in r["results"]]
        doc.table(["engine", "precision", "tool", "showers/s", "ms/batch median / p99", "vs OpenVINO fp32",
                   "vs torch fp32", "model MB", "validate --paired", "paired check at 10k", "pixel-wise rel."],
                  rows)
        ratios = paper_ratio_rows(r["results"])
        if ratios:
            doc.table(["pixel-wise ratio, this run", "paper A", "this run", "numerator vs OpenVINO fp32",
                       "numerator's paired check"], ratios)
            doc.p("Pixel-wise: the mean over the paired showers of sum |X_fp32 - X| in GeV; paper A's used one "
                  "fixed latent vector in its own units, so only ratios compare.")
        doc.p(f"Paper A (2x Xeon 8280, 56 threads): float32 {PAPER_INFERENCE['fp32_ms']} ms, iLoT int8 "
              f"{PAPER_INFERENCE['int8_ms']} ms, {PAPER_INFERENCE['speedup']}x. Ratios are measured in one run; "
              "absolute times belong to the machine below.")
    elif kind == "bench simulate":
        doc.p(f"Simulator: {r['in_memory']['throughput_per_s']:.0f} showers/s in memory, writing "
              f"{r['file_writing']['throughput_per_s']:.0f} showers/s; {r['speedup_over_geant4']:.0f}x Geant4 on "
              f"the same cores.")
    elif kind == "bench validate":
        doc.p(f"validate {r['conditions']['count_each']} vs {r['conditions']['count_each']}: "
              f"{r['seconds_without_voxel_classifier']:.1f} s without the voxel classifier, "
              f"{r['seconds_voxel_classifier']:.1f} s for it.")
    elif kind == "bench train":
        rows = [[k, f"{v['samples_per_s']:.1f}", f"{v['speedup_vs_first']:.2f}x"] for k, v in r["variants"].items()]
        doc.table(["training variant", "samples/s", "ratio"], rows)


_CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f0f0f0}"
        "img{max-width:100%}figcaption{font-size:12px;color:#555}")


def build_report(inputs: ReportInputs, out_dir: str | os.PathLike[str], *, title: str = "caloquant report",
                 meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write out_dir/report.html (self-contained) and out_dir/report.md atomically."""
    from caloquant._atomic import write_text_atomic
    from caloquant.metadata import metadata

    out = Path(out_dir)
    doc = _Doc()
    doc.h(1, title)
    info = meta or metadata()
    doc.p(f"caloquant {info['caloquant_version']}; " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()
                                                                if v and k != "caloquant"))
    _compare_section(doc, inputs.compare)
    _validation_section(doc, inputs.validations, out)
    _pairs_section(doc, inputs.pairs, inputs.tables3)
    _bench_section(doc, inputs.benches)
    md_path, html_path = out / "report.md", out / "report.html"
    write_text_atomic(md_path, "\n".join(doc.md) + "\n")
    write_text_atomic(html_path, f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                      f"</title><style>{_CSS}</style></head><body>{''.join(doc.html)}</body></html>\n")
    return html_path, md_path
