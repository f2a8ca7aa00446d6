"""Silence third-party loggers for the duration of a call, then restore them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["quiet_tool_logs"]


@contextlib.contextmanager
def quiet_tool_logs(names: tuple[str, ...] = ("", "nncf")) -> Iterator[None]:
    """NNCF and ONNX Runtime's quantizer log every node at INFO/WARNING (on the root logger too)."""
    levels = {name: logging.getLogger(name).level for name in names}
    try:
        for name in names:
            logging.getLogger(name).setLevel(logging.ERROR)
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
