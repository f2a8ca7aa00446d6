"""One HEP plotting style for every figure, applied in a context so importing changes nothing global."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["hep_style", "new_figure", "save_figure"]

SAMPLE_COLOR, REFERENCE_COLOR = "#d62728", "#1f77b4"


@contextlib.contextmanager
def hep_style() -> Iterator[None]:
    import matplotlib
    import matplotlib.style
    import mplhep

    with matplotlib.style.context(mplhep.style.ROOT), matplotlib.rc_context({"font.size": 11,
                                                                             "axes.titlesize": 11}):
        yield


def new_figure(width: float = 10.0, height: float = 4.0):
    """A pyplot-free figure (no global state, safe in threads and tests)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, out_dir: Path, name: str) -> list[Path]:
    """Write NAME.png and NAME.pdf atomically."""
    from caloquant._atomic import atomic_path

    paths = []
    for ext in ("png", "pdf"):
        target = out_dir / f"{name}.{ext}"
        with atomic_path(target, suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=110)
        paths.append(target)
        fig.set_layout_engine("none")  # the layout is solved once; the second format reuses it
    return paths
