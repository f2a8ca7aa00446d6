"""Figures of a validation result: shapes with ratio panels, response, features, images, spectra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from caloquant.report.style import REFERENCE_COLOR, SAMPLE_COLOR, hep_style, new_figure, save_figure

__all__ = ["plot_mean_images", "plot_validation"]

_AXIS_LABEL = {"x": "x cell index", "y": "y cell index", "z": "layer (depth)"}


def _labels(metrics: dict[str, Any]) -> tuple[str, str]:
    return Path(metrics["samples"]["path"]).name, Path(metrics["reference"]["path"]).name


def _shapes(metrics: dict[str, Any], out: Path, label: str) -> list[Path]:
    """Mean energy per slice along x, y, z: linear and log panels with a ratio panel below."""
    entry = metrics["shapes"][label]
    sname, rname = _labels(metrics)
    fig = new_figure(13, 8)
    grid = fig.add_gridspec(3, 3, height_ratios=(2.2, 2.2, 1))
    for col, axis in enumerate(("x", "y", "z")):
        if axis not in entry or "sample" not in entry[axis] or "reference" not in entry[axis]:
            continue
        d = entry[axis]
        i = np.arange(len(d["sample"]))
        s, se, r, re = (np.asarray(d[k]) for k in ("sample", "sample_se", "reference", "reference_se"))
        top = None
        for row, log in ((0, False), (1, True)):
            ax = fig.add_subplot(grid[row, col], sharex=top)
            top = top or ax
            ax.errorbar(i, r, yerr=re, fmt="o", ms=3, color=REFERENCE_COLOR, label=rname)
            ax.errorbar(i, s, yerr=se, fmt="s", ms=3, color=SAMPLE_COLOR, label=sname, mfc="none")
            ax.set_ylabel("mean energy per slice [GeV]", fontsize=9)
            if log:
                ax.set_yscale("log")
            else:
                ax.set_title(f"{axis} profile, Ep {label} GeV")
            if col == 0 and row == 0:
                ax.legend(fontsize=8)
        rax = fig.add_subplot(grid[2, col], sharex=top)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = s / r
            err = ratio * np.hypot(se / s, re / r)
        rax.errorbar(i, ratio, yerr=err, fmt="s", ms=3, color=SAMPLE_COLOR)
        rax.axhline(1.0, color="k", lw=0.8)
        rax.set_ylim(0.5, 1.5)
        rax.set_xlabel(_AXIS_LABEL[axis])
        rax.set_ylabel("sample / reference", fontsize=9)
    return save_figure(fig, out, f"shapes_{label.replace('+-', 'pm')}")


def _response(metrics: dict[str, Any], out: Path) -> list[Path]:
    sname, rname = _labels(metrics)
    resp = metrics["response"]
    fig = new_figure(11, 4.2)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for who, color, name, marker in (("reference", REFERENCE_COLOR, rname, "o"), ("sample", SAMPLE_COLOR, sname, "s")):
        d = resp[who]
        sf, sf_se = 100 * np.asarray(d["sampling_fraction"]), 100 * np.asarray(d["sampling_fraction_se"])
        ax1.errorbar(d["ep"], sf, yerr=sf_se, fmt=marker, color=color, label=name)
        ax2.errorbar(d["ep"], 100 * np.asarray(d["resolution"]), yerr=100 * np.asarray(d["resolution_se"]), fmt=marker,
                     color=color, label=name)
        fit = resp[f"fit_{who}"]
        if fit is None:
            continue
        e = np.linspace(100, 500, 100)
        ax2.plot(e, 100 * np.sqrt(fit["a"] ** 2 / e + fit["b"] ** 2), "-", color=color, lw=1,
                 label=f"a = {100 * fit['a']:.1f} %/sqrt(E), b = {100 * fit['b']:.2f} %")
    ax1.set_xlabel("Ep [GeV]")
    ax1.set_ylabel("sampling fraction [%]")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("Ep [GeV]")
    ax2.set_ylabel("resolution (IQR/1.349) [%]")
    ax2.legend(fontsize=7)
    return save_figure(fig, out, "response")


def _features(metrics: dict[str, Any], out: Path) -> list[Path]:
    feats = {f["name"]: f for f in metrics["hlf"]["features"]}
    chosen = ["Etot/Ep", *[n for n in metrics["hlf"]["worst_separation"] if n != "Etot/Ep"][:4],
              "E_layer12/Ep", "wx_layer12", "sparsity_layer12"]
    chosen = list(dict.fromkeys(c for c in chosen if c in feats))[:8]
    fig = new_figure(14, 6)
    sname, rname = _labels(metrics)
    for j, name in enumerate(chosen):
        f = feats[name]
        ax = fig.add_subplot(2, 4, j + 1)
        edges = np.asarray(f["edges"])
        ax.stairs(f["reference_hist"], edges, color=REFERENCE_COLOR, label=rname)
        ax.stairs(f["sample_hist"], edges, color=SAMPLE_COLOR, label=f"{sname}\nsep. power {f['separation_power']:.3f}")
        ax.set_xlabel(name.replace("cx", "centre x [mm] ").replace("wx", "width x [mm] "))
        ax.set_ylabel("fraction")
        ax.legend(fontsize=6)
    return save_figure(fig, out, "features")


def _images(metrics: dict[str, Any], out: Path) -> list[Path]:
    sname, rname = _labels(metrics)
    return plot_mean_images(metrics["mean_images"], out, sname, rname)


def plot_mean_images(images: dict[str, dict[str, Any]], out: Path, sample_name: str, reference_name: str,
                     name: str = "mean_image") -> list[Path]:
    """Mean energy summed over y (x cell against layer) per energy bin: reference, sample, ratio; one row
    per bin, so stripes, rows of energy and blobs that one bin has and another hides show up."""
    from matplotlib.colors import LogNorm

    labels = list(images)
    fig = new_figure(13, 3.6 * len(labels))
    for row, label in enumerate(labels):
        s, r = np.asarray(images[label]["sample"]), np.asarray(images[label]["reference"])
        vmax = max(s.max(), r.max(), 1e-12)
        for j, (data, title) in enumerate(((r, reference_name), (s, sample_name))):
            ax = fig.add_subplot(len(labels), 3, 3 * row + j + 1)
            im = ax.imshow(np.maximum(data, vmax * 1e-6), origin="lower", aspect="auto",
                           norm=LogNorm(vmax * 1e-6, vmax))
            ax.set_title(f"{title}, {label}: mean energy (sum over y)", fontsize=9)
            ax.set_xlabel("layer")
            ax.set_ylabel("x cell")
            fig.colorbar(im, ax=ax, label="GeV")
        ax = fig.add_subplot(len(labels), 3, 3 * row + 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(r > vmax * 1e-5, s / r, np.nan)
        im = ax.imshow(ratio, origin="lower", aspect="auto", norm=LogNorm(0.25, 4.0), cmap="RdBu_r")
        ax.set_title(f"ratio sample / reference, {label}", fontsize=9)
        ax.set_xlabel("layer")
        fig.colorbar(im, ax=ax)
    return save_figure(fig, out, name)


def _spectrum_and_moments(metrics: dict[str, Any], out: Path) -> list[Path]:
    sname, rname = _labels(metrics)
    fig = new_figure(14, 6)
    ax = fig.add_subplot(2, 4, 1)
    cs = metrics["cell_spectrum"]
    edges = np.asarray(cs["edges_log10_gev"])
    ax.stairs(cs["reference_per_event"], edges, color=REFERENCE_COLOR, label=rname)
    ax.stairs(cs["sample_per_event"], edges, color=SAMPLE_COLOR, label=sname)
    ax.set_yscale("log")
    ax.set_xlabel("log10(cell energy / GeV)")
    ax.set_ylabel("cells per shower")
    ax.legend(fontsize=6)
    for j, (name, h) in enumerate(list(metrics["moment_distributions"].items())[:6]):
        ax = fig.add_subplot(2, 4, j + 2)
        e = np.asarray(h["edges"])
        ax.stairs(h["reference_hist"], e, color=REFERENCE_COLOR)
        ax.stairs(h["sample_hist"], e, color=SAMPLE_COLOR)
        ax.set_xlabel(f"{name} [cells{'^2' if name.startswith('M2') else ''}]")
        ax.set_ylabel("fraction")
    ax = fig.add_subplot(2, 4, 8)
    lc = metrics["layer_correlations"]
    im = ax.imshow(np.asarray(lc["sample"]) - np.asarray(lc["reference"]), origin="lower", vmin=-0.2, vmax=0.2,
                   cmap="RdBu_r")
    ax.set_title("layer-energy correlation: sample - reference", fontsize=8)
    ax.set_xlabel("layer")
    ax.set_ylabel("layer")
    fig.colorbar(im, ax=ax)
    return save_figure(fig, out, "spectrum_moments_correlations")


def plot_validation(metrics: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """All validation figures (PNG and PDF) into ``out_dir``; returns the written paths."""
    out = Path(out_dir)
    paths: list[Path] = []
    with hep_style():
        for label in metrics["shapes"]:
            if label == "all" or "+-" not in label:  # acceptance bins; narrow bins stay in metrics.json
                paths += _shapes(metrics, out, label)
        paths += _response(metrics, out)
        paths += _features(metrics, out)
        paths += _images(metrics, out)
        paths += _spectrum_and_moments(metrics, out)
    return paths
