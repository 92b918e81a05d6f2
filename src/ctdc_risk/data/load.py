"""Read, recognise, harmonise and validate a CTDC file in one call."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pandas as pd

from ctdc_risk.data.harmonise import harmonise
from ctdc_risk.data.io import DEFAULT_MAX_BYTES, read_table
from ctdc_risk.data.releases import detect_release
from ctdc_risk.data.report import DataReport, build_data_report
from ctdc_risk.data.schema import FlagSemantics
from ctdc_risk.data.validate import validate_canonical

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

    Raises
    ------
    ctdc_risk.errors.CtdcRiskError
        Any reading, recognition or value problem, with file, column and line.
    """
    raw = read_table(path, encoding=encoding, delimiter=delimiter, sheet=sheet, max_bytes=max_bytes)
    match = detect_release(raw.frame.columns, source=raw.source.path)
    log.info("recognised release %s", match.release.id)
    harmonised = harmonise(raw, match, latest_year=latest_year)
    validate_canonical(harmonised.frame, source=raw.source.path)
    n_dup = int(harmonised.frame.duplicated().sum())
    report = build_data_report(
        harmonised.frame, raw.source, match, harmonised.log, k=k, n_duplicate_rows=n_dup
    )
    return Dataset(harmonised.frame, report)


def dataset_from_frame(frame: pd.DataFrame, report: DataReport) -> Dataset:
    """Wrap an already-canonical frame (e.g. the synthetic generator's output)."""
    validate_canonical(frame, source=report.source.name)
    return Dataset(frame, report)
