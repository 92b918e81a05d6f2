"""Read, recognise, harmonise and validate a CTDC file in one call."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ctdc_risk.data.columns import rename_header
from ctdc_risk.data.data_report import DataReport, build_data_report
from ctdc_risk.data.harmonise import harmonise
from ctdc_risk.data.io import DEFAULT_MAX_BYTES, read_head_rows, read_table
from ctdc_risk.data.releases import detect_release
from ctdc_risk.data.schema import FlagSemantics
from ctdc_risk.data.validate import validate_canonical
from ctdc_risk.errors import CtdcRiskError, DataFileError, ReleaseDetectionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dataset:
    """A canonical frame with what is known about where it came from."""

    frame: pd.DataFrame
    report: DataReport

    @property
    def flag_semantics(self) -> FlagSemantics:
        return FlagSemantics(self.report.flag_semantics)

    @property
    def release_id(self) -> str:
        return self.report.release_id


def load_dataset(
    path: str | os.PathLike[str],
    *,
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    k: int = 10,
    latest_year: int | None = None,
    columns: Mapping[str, str] | None = None,
) -> Dataset:
    """Load any supported CTDC release as the canonical frame.

    Parameters
    ----------
    path, encoding, delimiter, sheet, max_bytes
        See :func:`ctdc_risk.data.io.read_table`.
    k
        Privacy threshold: unmapped values rarer than ``k`` are counted, never listed.
    latest_year
        Latest plausible registration year (default: the current year).
    columns
        Your own column names: ``{name in the file: CTDC name}``, applied to the header before
        the release is recognised (see :mod:`ctdc_risk.data.columns`).

    Raises
    ------
    ctdc_risk.errors.CtdcRiskError
        Any reading, recognition or value problem, with file, column and line.
    """
    try:
        raw = read_table(
            path, encoding=encoding, delimiter=delimiter, sheet=sheet, max_bytes=max_bytes
        )
        if columns:
            renames = rename_header(raw.frame.columns, columns, source=str(Path(path)))
            raw = replace(raw, frame=raw.frame.rename(columns=renames))
            log.info("renamed columns: %s", renames)
        match = detect_release(raw.frame.columns, source=raw.source.path)
    except (DataFileError, ReleaseDetectionError):
        # A title or notes above the header make any of several errors (a single column, rows
        # longer than the header, no known release); name the real cause when it is that.
        row = _header_row(
            path, encoding=encoding, delimiter=delimiter, sheet=sheet, max_bytes=max_bytes
        )
        if row is None:
            raise
        raise DataFileError(
            f"{Path(path)}: the header must be on the first row (found it on row {row}); "
            f"delete the {row - 1} row(s) above it (a title, notes or blank lines) and try "
            "again."
        ) from None
    log.info("recognised release %s", match.release.id)
    harmonised = harmonise(raw, match, latest_year=latest_year)
    validate_canonical(harmonised.frame, source=raw.source.path)
    n_dup = _count_duplicates(harmonised.frame)
    report = build_data_report(
        harmonised.frame, raw.source, match, harmonised.log, k=k, n_duplicate_rows=n_dup
    )
    return Dataset(harmonised.frame, report)


def _header_row(
    path: str | os.PathLike[str],
    *,
    encoding: str,
    delimiter: str,
    sheet: str | int | None,
    max_bytes: int,
) -> int | None:
    """The row (from 2) holding a complete CTDC header, or ``None`` if no early row does."""
    try:
        readings = read_head_rows(
            path, encoding=encoding, delimiter=delimiter, sheet=sheet, max_bytes=max_bytes
        )
    except CtdcRiskError:
        return None
    for rows in readings:
        for number, row in enumerate(rows[1:], start=2):
            names = [c for c in row if c.strip()]
            if len(names) < 2:
                continue
            try:
                detect_release(names, source=str(path))
            except ReleaseDetectionError:
                continue
            return number
    return None


def dataset_from_frame(frame: pd.DataFrame, report: DataReport) -> Dataset:
    """Wrap an already-canonical frame (e.g. the synthetic generator's output)."""
    validate_canonical(frame, source=report.source.name)
    return Dataset(frame, report)


def load_synthetic(n_rows: int, *, seed: int, k: int = 10) -> Dataset:
    """Generate the built-in synthetic data as a :class:`Dataset` with its data report."""
    from ctdc_risk.data.canonical import HarmoniseLog
    from ctdc_risk.data.io import SourceInfo
    from ctdc_risk.data.releases import CANONICAL, HeaderMatch
    from ctdc_risk.data.synthetic import generate_synthetic

    frame = generate_synthetic(n_rows, seed=seed)
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    source = SourceInfo(
        path="<built-in synthetic generator>",
        name=f"synthetic CTDC-like data (n_rows={n_rows}, seed={seed})",
        sha256=digest.hexdigest(),
        n_bytes=0,
        file_format="generated",
    )
    match = HeaderMatch(CANONICAL, {c: c for c in CANONICAL.columns}, (), ())
    hlog = HarmoniseLog(rows_in=n_rows)
    report = build_data_report(
        frame, source, match, hlog, k=k, n_duplicate_rows=_count_duplicates(frame)
    )
    return dataset_from_frame(frame, report)


def _count_duplicates(frame: pd.DataFrame) -> int:
    """Rows identical to an earlier row (CTDC releases repeat heavily; counted, not dropped)."""
    return int(pd.util.hash_pandas_object(frame, index=False).duplicated().sum())
