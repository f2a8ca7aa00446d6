"""All caloquant errors derive from one base, so the CLI can turn them into one-line messages."""

from __future__ import annotations

import numbers

__all__ = [
    "CaloquantError",
    "CheckpointError",
    "DataFormatError",
    "InputValueError",
    "OutputError",
    "PeerMissingError",
    "require_positive",
]


class CaloquantError(Exception):
    """Base class; the message is one line naming the file, key, option or value at fault."""

    exit_code = 2


class DataFormatError(CaloquantError):
    """A shower file is missing, unreadable, or does not have the expected keys or shapes."""


class InputValueError(CaloquantError, ValueError):
    """A value (energy, count, option) is outside what caloquant accepts."""


class OutputError(CaloquantError):
    """An output path cannot be written."""


class PeerMissingError(CaloquantError):
    """An optional peer tool (TFLite, Intel Neural Compressor on TensorFlow) is not installed."""


class CheckpointError(CaloquantError):
    """A model checkpoint is corrupt, foreign, or does not match the expected architecture."""


def require_positive(kind: str = "integer", /, **values: object) -> None:
    """The one check for every count, size, budget and rate a user passes: zero, negatives and NaN (``not
    value > 0``) are refused, and for ``kind="integer"`` also bools and fractions, in one line naming the
    parameter (a CLI flag where the caller passes one, e.g. ``**{"--count": n}``)."""
    for name, value in values.items():
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        wrong_type = not integral if kind == "integer" else not isinstance(value, numbers.Real)
        if wrong_type or not value > 0:  # type: ignore[operator]
            raise InputValueError(f"{name} {value!r}: must be a positive {kind}")
