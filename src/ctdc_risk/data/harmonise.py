"""Harmonise a raw CTDC table of any release into the canonical frame.

Each raw column is read through a strict parser (:mod:`ctdc_risk.data.codes`): cells the
release does not allow are collected and reported together, with column and line numbers but
never the cell text; harmless spelling variants are rewritten and counted. Derived columns
(child status, regions, cross-border, merged flag groups, recruiter relation) are then built the
same way for every release, so a study never depends on which release it read.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc_risk.data import codes
from ctdc_risk.data.canonical import HarmoniseLog, assemble_canonical
from ctdc_risk.data.countries import (
    CountryInfo,
    is_missing_country,
    is_r_missing,
    map_countries,
    why_unmapped,
)
from ctdc_risk.data.io import RawTable
from ctdc_risk.data.releases import (
    HeaderMatch,
)
from ctdc_risk.data.schema import (
    AGE_BANDS,
    COLUMN_BY_NAME,
    DATASOURCES,
    GENDERS,
    MAJORITY,
    TRAFFICKING_MONTHS,
    UN_REGIONS,
    categorical,
)
from ctdc_risk.errors import DataValueError

log = logging.getLogger(__name__)

_MAX_PROBLEMS = 10
_MAX_LINES = 5

# The spellings each release itself uses; anything else that still parses (other case, dash,
# zero-padding, another release's word) is a rewrite and is counted in the data report.
_MISSING_SPELLINGS = frozenset({"-99", "Unknown", ""})
_OLD_GENDER = frozenset({"Female", "Male", "Transgender/NonConforming"})
_STANDARD: dict[str, dict[str, frozenset[str]]] = {
    "flag": {"*": frozenset({"0", "1", "-99", ""})},
    "age_band": {
        "*": frozenset({*AGE_BANDS, "-99", ""}),
        "synthetic_2021": frozenset({*AGE_BANDS, "09--17", ""}),
    },
    "gender": {
        "*": _OLD_GENDER | _MISSING_SPELLINGS,
        "synthetic_2024": frozenset({"Woman", "Man", "Trans/Transgender/NonConforming", ""}),
        "ctdc_risk_canonical": frozenset({*GENDERS, ""}),
    },
    "majority": {
        "*": frozenset({"Minor", "Adult"}) | _MISSING_SPELLINGS,
        "ctdc_risk_canonical": frozenset({*MAJORITY, ""}),
    },
    "datasource": {
        "*": frozenset({"Case Management", "Hotline"}) | _MISSING_SPELLINGS,
        "ctdc_risk_canonical": frozenset({*DATASOURCES, ""}),
    },
    "trafficking_months": {
        "*": frozenset({"0--12 (0-1 yr)", "13--24 (1-2 yrs)", ""}),
        "synthetic_2021": frozenset(
            {"0--12 (0-1 yr)", "13--24 (1-2 yrs)", "25--60 (2-5 yrs)", "61+ (5+ yrs)", ""}
        ),
        "synthetic_2024": frozenset({"0--12 (0-1 yr)", "13--24 (1-2 yrs)", "25+ (2+ yrs)", ""}),
        "ctdc_risk_canonical": frozenset({*TRAFFICKING_MONTHS, ""}),
    },
}


def _standard_spellings(role: str, release_id: str) -> frozenset[str] | None:
    by_release = _STANDARD.get(role)
    if by_release is None:
        return None
    return by_release.get(release_id, by_release["*"])


@dataclass(frozen=True)
class Harmonised:
    frame: pd.DataFrame
    log: HarmoniseLog


class _Problems:
    """Collects cells a release does not allow, so one error can list them all."""

    def __init__(self, source: str, row_word: str, line_of: np.ndarray) -> None:
        self.source = source
        self.row_word = row_word
        self.line_of = line_of
        self.items: list[str] = []

    def add(self, column: str, rows: np.ndarray, expected: str) -> None:
        lines = ", ".join(str(int(self.line_of[r])) for r in rows[:_MAX_LINES])
        more = ", ..." if len(rows) > _MAX_LINES else ""
        cells = "cell" if len(rows) == 1 else "cells"
        where = f"{self.row_word} {lines}{more}"
        self.items.append(f"column {column!r}: {len(rows):,} {cells} not {expected} ({where})")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:_MAX_PROBLEMS]
        rest = len(self.items) - len(shown)
        body = "\n  - ".join(shown) + (f"\n  - and {rest} more columns" if rest else "")
        raise DataValueError(
            f"{self.source}: values the release does not allow:\n  - {body}\n"
            "Fix these cells (or the column's coding) and run again; cell contents are not "
            "shown because they may describe a person."
        )


class _Reader:
    """Maps categorical raw columns through parsers using category codes (fast at 1M rows)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        problems: _Problems,
        hlog: HarmoniseLog,
        release_id: str,
        latest_year: int | None,
        country_coding: str,
    ) -> None:
        self.frame = frame
        self.problems = problems
        self.hlog = hlog
        self.release_id = release_id
        self.country_coding = country_coding
        self.latest_year = latest_year

    def _parse(
        self, raw: str, parser: Callable[[str], object], role: str, expected: str
    ) -> tuple[list[object], np.ndarray]:
        col = self.frame[raw]
        cats = [str(c) for c in col.cat.categories]
        codes_ = col.cat.codes.to_numpy()
        parsed = [parser(c) for c in cats]
        bad = [i for i, p in enumerate(parsed) if p is codes.INVALID]
        if bad:
            self.problems.add(raw, np.flatnonzero(np.isin(codes_, bad)), expected)
        standard = _standard_spellings(role, self.release_id)
        if standard is not None:
            counts = np.bincount(codes_[codes_ >= 0], minlength=len(cats))
            for cat, p, n in zip(cats, parsed, counts, strict=True):
                if p is not codes.INVALID and cat not in standard:
                    shown = "missing" if p is codes.MISSING else _show(p)
                    self.hlog.rewrite(raw, f"{cat.strip()!r} -> {shown}", int(n))
        return parsed, codes_

    def flag(self, raw: str) -> pd.Series:
        parsed, codes_ = self._parse(raw, codes.parse_flag, "flag", "1, 0 or -99")
        is_true = np.array([p is True for p in parsed] + [False])
        is_na = np.array([p is codes.MISSING or p is codes.INVALID for p in parsed] + [True])
        return pd.Series(pd.arrays.BooleanArray(is_true[codes_], is_na[codes_]))

    def category(
        self,
        raw: str,
        parser: Callable[[str], object],
        levels: tuple[str, ...],
        role: str,
        expected: str,
    ) -> pd.Series:
        parsed, codes_ = self._parse(raw, parser, role, expected)
        index = {lv: i for i, lv in enumerate(levels)}
        lookup = np.array([index.get(p, -1) if isinstance(p, str) else -1 for p in parsed] + [-1])
        return categorical(lookup[codes_], levels)

    def year(self, raw: str) -> pd.Series:
        latest = self.latest_year
        expected = f"a year from {codes.EARLIEST_YEAR} to {latest or 'now'}"
        parsed, codes_ = self._parse(
            raw, lambda t: codes.parse_year(t, latest=latest), "year", expected
        )
        values = np.array([p if isinstance(p, int) else 0 for p in parsed] + [0], dtype=np.int16)
        is_na = np.array([not isinstance(p, int) for p in parsed] + [True])
        return pd.Series(pd.arrays.IntegerArray(values[codes_], is_na[codes_]))

    def recruiter_text(self, raw: str) -> tuple[list[object], np.ndarray]:
        return self._parse(
            raw, codes.parse_recruiter_text, "recruiter_text", "a known recruiter relation list"
        )

    def country(self, raw: str, prefix: str) -> dict[str, pd.Series]:
        col = self.frame[raw]
        cats = [str(c) for c in col.cat.categories]
        codes_ = col.cat.codes.to_numpy()
        alpha2 = self.country_coding == "alpha2"
        to_map = [c for c in cats if not is_missing_country(c, alpha2=alpha2)]
        mapped = map_countries(to_map, alpha2=alpha2)
        reasons = why_unmapped([c for c in to_map if mapped[c] is None])
        counts = np.bincount(codes_[codes_ >= 0], minlength=len(cats))
        infos: list[CountryInfo | None] = []
        for cat, n in zip(cats, counts, strict=True):
            info = mapped.get(cat)
            infos.append(info)
            if not n:
                continue
            if cat in reasons:
                self.hlog.unmapped_countries.setdefault(raw, Counter())[cat.strip()] += int(n)
                self.hlog.unmapped_reasons.setdefault(raw, Counter())[reasons[cat]] += int(n)
            elif not alpha2 and is_r_missing(cat):
                # R writes a missing value as NA; outside alpha-2 releases it is not Namibia.
                na = self.hlog.country_na_missing
                na[raw] = na.get(raw, 0) + int(n)
        out: dict[str, pd.Series] = {}
        for part, attr in (("iso3", "iso3"), ("region", "region"), ("subregion", "subregion")):
            labels = [getattr(i, attr) if i else None for i in infos]
            levels = list(UN_REGIONS) if part == "region" else sorted({lb for lb in labels if lb})
            index = {lv: i for i, lv in enumerate(levels)}
            lookup = np.array([index[lb] if lb else -1 for lb in labels] + [-1])
            out[f"{prefix}_{part}"] = categorical(lookup[codes_], levels)
        return out


def _show(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


_COUNTRY_ROLES = {
    "citizenship": "citizenship",
    "citizenship_iso3": "citizenship",
    "exploitation_country": "exploitation",
    "exploitation_iso3": "exploitation",
}
_TEXT_ROLES: dict[str, tuple[Callable[[str], object], tuple[str, ...], str, str]] = {
    "gender": (codes.parse_gender, GENDERS, "gender", "a known gender"),
    "age_band": (codes.parse_age_band, AGE_BANDS, "age_band", "a known age band"),
    "majority_status": (codes.parse_majority, MAJORITY, "majority", "Minor or Adult"),
    "majority_status_at_exploit": (codes.parse_majority, MAJORITY, "majority", "Minor or Adult"),
    "datasource": (codes.parse_datasource, DATASOURCES, "datasource", "a known data source"),
    "trafficking_months": (
        codes.parse_trafficking_months,
        TRAFFICKING_MONTHS,
        "trafficking_months",
        "a known duration band",
    ),
}

# Canonical columns derived below; when reading the canonical frame they are recomputed rather
# than trusted, so a file can never carry an inconsistent is_child or region.
_DERIVED = frozenset(
    {
        "is_child",
        "child_status_source",
        "citizenship_region",
        "citizenship_subregion",
        "exploitation_region",
        "exploitation_subregion",
        "cross_border",
        "recruiter_known",
    }
)


def harmonise(raw: RawTable, match: HeaderMatch, *, latest_year: int | None = None) -> Harmonised:
    """Harmonise a raw table of a detected release into the canonical frame.

    Raises
    ------
    DataValueError
        Cells hold values the release does not allow; the message lists every such column
        with the number of cells and their line numbers.
    """
    release = match.release
    hlog = HarmoniseLog(rows_in=raw.n_rows)
    frame = _drop_blank_rows(raw.frame, hlog, set(match.raw_for.values()))
    if len(frame) == 0:
        raise DataValueError(
            f"{raw.source.path}: every data row is blank in the CTDC columns "
            f"({raw.n_rows:,} rows); there is nothing to analyse."
        )
    row_word = "rows" if raw.source.file_format in ("xlsx", "parquet") else "lines"
    line_of = raw.line_numbers()[frame.index.to_numpy()]
    problems = _Problems(raw.source.path, row_word, line_of)
    frame = frame.reset_index(drop=True)
    reader = _Reader(frame, problems, hlog, release.id, latest_year, release.country_coding)
    base: dict[str, pd.Series] = {}
    flags: dict[str, pd.Series] = {}
    recruiter_text: tuple[list[object], np.ndarray] | None = None
    for col, role in release.text.items():
        raw_name = match.raw_for.get(col)
        if raw_name is None or col in _DERIVED:
            continue
        if role == "canonical":
            role = _canonical_role(col)
        if role == "flag":
            flags[col] = reader.flag(raw_name)
        elif role == "year":
            base["year_of_registration"] = reader.year(raw_name)
        elif role in _COUNTRY_ROLES:
            base.update(reader.country(raw_name, _COUNTRY_ROLES[role]))
        elif role == "recruiter_text":
            recruiter_text = reader.recruiter_text(raw_name)
        elif role in _TEXT_ROLES:
            parser, levels, std_role, expected = _TEXT_ROLES[role]
            base[role] = reader.category(raw_name, parser, levels, std_role, expected)
        else:  # pragma: no cover - a release definition error, not a user error
            raise AssertionError(f"unknown role {role!r} for {col}")
    for col, name in release.flags.items():
        raw_name = match.raw_for.get(col)
        if raw_name is not None:
            flags[name] = reader.flag(raw_name)
    problems.raise_if_any()
    n = len(frame)
    out = assemble_canonical(base, flags, n, hlog, recruiter_text=recruiter_text)
    log.info("harmonised %s: %d rows in, %d rows out", release.id, raw.n_rows, len(out))
    return Harmonised(out, hlog)


def _canonical_role(col: str) -> str:
    kind = COLUMN_BY_NAME[col].kind
    if kind in ("flag", "bool"):
        return "flag"
    if kind == "year":
        return "year"
    if kind == "iso3":
        return col
    return col


BLANK_ROW = "all cells blank"
BLANK_CTDC_ROW = "blank in every CTDC column (text only in extra columns, e.g. a note)"


def _drop_blank_rows(frame: pd.DataFrame, hlog: HarmoniseLog, used: set[str]) -> pd.DataFrame:
    """Drop rows with no CTDC value: a note such as "Source: ..." in an extra column is no case."""

    def blank_in(names: Iterable[str]) -> np.ndarray:
        blank = np.ones(len(frame), dtype=bool)
        for name in names:
            col = frame[name]
            empty = [i for i, c in enumerate(col.cat.categories) if str(c).strip() == ""]
            blank &= np.isin(col.cat.codes.to_numpy(), [*empty, -1])
        return blank

    ctdc_blank = blank_in(c for c in frame.columns if c in used)
    if not ctdc_blank.any():
        return frame
    all_blank = ctdc_blank & blank_in(c for c in frame.columns if c not in used)
    for why, n in ((BLANK_ROW, all_blank.sum()), (BLANK_CTDC_ROW, (ctdc_blank & ~all_blank).sum())):
        if n:
            hlog.rows_dropped[why] = int(n)
    return frame.loc[~ctdc_blank]
