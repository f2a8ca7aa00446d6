"""All caloquant errors derive from one base, so the CLI can turn them into one-line messages."""

from __future__ import annotations

__all__ = [
    "CaloquantError",
    "CheckpointError",
    "DataFormatError",
    "InputValueError",
    "OutputError",
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


class CheckpointError(CaloquantError):
    """A model checkpoint is corrupt, foreign, or does not match the expected architecture."""
