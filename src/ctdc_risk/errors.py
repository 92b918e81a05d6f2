"""Errors a user can cause and fix.

Every error raised for a user's mistake subclasses :class:`CtdcRiskError` (itself a
``ValueError``), so the CLI can print its message without a traceback. Messages name the file,
column, line or config key, say what was found and suggest a fix. They never quote a data cell:
cells may describe a survivor, and error messages end up in logs and terminals.
"""

from __future__ import annotations


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
