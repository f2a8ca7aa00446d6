"""Silence third-party loggers and progress bars for the duration of a call, then restore them."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

__all__ = ["hide_tool_progress", "quiet_tool_logs"]


class _ErrorsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


@contextlib.contextmanager
def quiet_tool_logs(names: tuple[str, ...] = ("", "nncf")) -> Iterator[None]:
    """NNCF and ONNX Runtime's quantizer log every node at INFO/WARNING (on the root logger too). A filter,
    not only a level: NNCF sets its logger back to INFO when it is first imported, inside the call."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    only_errors = _ErrorsOnly()
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
            logger.addFilter(only_errors)
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeFilter(only_errors)
            logger.setLevel(level)


@contextlib.contextmanager
def hide_tool_progress() -> Iterator[None]:
    """NNCF draws its own progress bars on stdout ("Statistics collection", "Applying Fast Bias
    correction") in the middle of ours; around an NNCF call they go to a buffer that is dropped."""
    with contextlib.redirect_stdout(io.StringIO()), quiet_tool_logs():
        yield
