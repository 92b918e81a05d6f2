"""Column names of a data file: how a header is matched, and which headers are refused."""

from __future__ import annotations

import re
from pathlib import Path

from ctdc_risk.errors import DataFileError

MAX_LISTED = 5
"""Problems listed by name in one error message (the rest are counted)."""


def check_column_names(names: list[str], path: Path) -> None:
    """Refuse blank or duplicate column names (pandas would rename duplicates silently)."""
    seen: dict[str, str] = {}
    dups: list[str] = []
    for i, name in enumerate(names, start=1):
        key = normalise_header(name)
        if not key:
            raise DataFileError(
                f"{path}: column {i} of the header has no name; every column needs a name."
            )
        if key in seen:
            dups.append(f"{seen[key]!r} and {name!r}" if seen[key] != name else repr(name))
        seen[key] = name
    if dups:
        raise DataFileError(
            f"{path}: duplicate column names in the header: {'; '.join(dups[:MAX_LISTED])}. "
            "Each column must appear once."
        )


def normalise_header(name: str) -> str:
    """Key used to match a header to a release: case, spaces, dashes and underscores ignored."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()
