"""Errors a user can cause and fix.

Every error raised for a user's mistake subclasses :class:`CtdcRiskError` (itself a
``ValueError``), so the CLI can print its message without a traceback. Messages name the file,
column, line or config key, say what was found and suggest a fix. They never quote a data cell:
cells may describe a survivor, and error messages end up in logs and terminals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class CtdcRiskError(ValueError):
    """Base class of every error caused by input or configuration."""


class DataFileError(CtdcRiskError):
    """The data file cannot be read as a table (missing, empty, wrong format, ragged rows)."""


class ReleaseDetectionError(CtdcRiskError):
    """The header matches no known CTDC release."""


class DataValueError(CtdcRiskError):
    """Cells hold values that the release does not allow."""


class ConfigError(CtdcRiskError):
    """A configuration key or value is unknown or invalid."""


class TrackingError(CtdcRiskError):
    """The tracking store cannot be reached or used."""


class OutputError(CtdcRiskError):
    """The run folder cannot be written (read-only, full, no permission)."""


class StudyError(CtdcRiskError):
    """The data cannot answer the configured question (e.g. an empty cohort)."""


def reject_unknown_keys(
    data: Mapping[str, Any], allowed: Iterable[str], key: str, *, word: str = "key"
) -> None:
    """Raise :class:`ConfigError` naming the first key of ``data`` not in ``allowed``.

    Every spec built from a config calls this, so a typo is an error, never an ignored value.
    """
    allowed = sorted(allowed)
    unknown = sorted(set(map(str, data)) - set(allowed))
    if unknown:
        where = f"{key}: " if key else ""
        raise ConfigError(
            f"{where}unknown {word} {unknown[0]!r}; allowed {word}s are {', '.join(allowed)}."
        )
