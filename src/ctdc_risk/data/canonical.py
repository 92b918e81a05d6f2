"""Build the canonical frame from parsed columns: the derived columns every release shares.

Child status, regions, cross-border, merged flag groups and the recruiter relation are derived
here the same way for every release (and for generated data), so a study never depends on
which release it read. :class:`HarmoniseLog` records what was derived or rewritten.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import numpy as np
import pandas as pd

from ctdc_risk.data.releases import (
    NOT_SPECIFIED_LABOUR,
    NOT_SPECIFIED_MEANS,
    RECRUITER_UNKNOWN,
    SEX_AND_LABOUR,
)
from ctdc_risk.data.schema import (
    CANONICAL_NAMES,
    CHILD_AGE_BANDS,
    CHILD_STATUS_SOURCES,
    COLUMN_BY_NAME,
    EXPLOIT_DETAIL,
    EXPLOIT_GROUPS,
    FLAG_COLUMNS,
    MEANS_DETAIL,
    MEANS_MERGE,
    RECRUITER_FLAGS,
    SECTOR_DETAIL,
    SECTOR_MERGE,
    categorical,
)

log = logging.getLogger(__name__)


@dataclass
class HarmoniseLog:
    """What harmonisation did, for the data report."""

    rows_in: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)
    rewrites: dict[str, Counter[str]] = field(default_factory=dict)
    unmapped_countries: dict[str, Counter[str]] = field(default_factory=dict)
    """Raw column -> unmapped value -> cells (values are listed only from k cells up)."""
    unmapped_reasons: dict[str, Counter[str]] = field(default_factory=dict)
    """Raw column -> reason it stayed unmapped (a fixed phrase, never a value) -> cells."""
    country_na_missing: dict[str, int] = field(default_factory=dict)
    """Raw column -> cells ``NA`` read as missing (the release does not write alpha-2)."""
    child_status_rule: dict[str, int] = field(default_factory=dict)
    inconsistencies: dict[str, int] = field(default_factory=dict)
    recruiter_from_text: int = 0

    def rewrite(self, column: str, what: str, n: int) -> None:
        if n:
            self.rewrites.setdefault(column, Counter())[what] += n


def _na_flag(n: int) -> pd.Series:
    return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool)))


def _yes(s: pd.Series) -> np.ndarray:
    return s.fillna(False).to_numpy(dtype=bool)


def _unknown_where(s: pd.Series, control: pd.Series | None) -> pd.Series:
    """Where a "not specified / unknown" control flag is yes, a recorded "no" means unknown."""
    if control is None:
        return s
    s = s.copy()
    s[_yes(control) & ~s.isna().to_numpy() & ~_yes(s)] = pd.NA
    return s


def _any_of(parts: Iterable[pd.Series]) -> pd.Series:
    """Kleene OR: yes if any part is yes, no if all are no, unknown otherwise."""
    return reduce(or_, parts)


def assemble_canonical(
    base: dict[str, pd.Series],
    flags: dict[str, pd.Series],
    n: int,
    hlog: HarmoniseLog | None = None,
    *,
    recruiter_text: tuple[list[object], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Build the canonical frame from parsed base columns and flags (internal names).

    Shared by harmonisation and the synthetic generator, so derived columns (merged groups,
    child status, cross-border, recruiter relation) follow one rule everywhere.
    """
    hlog = hlog if hlog is not None else HarmoniseLog(rows_in=n)
    out: dict[str, pd.Series] = dict(base)
    means_ns = flags.pop(NOT_SPECIFIED_MEANS, None)
    labour_ns = flags.pop(NOT_SPECIFIED_LABOUR, None)
    recruiter_unknown = flags.pop(RECRUITER_UNKNOWN, None)
    sex_and_labour = flags.pop(SEX_AND_LABOUR, None)

    def get(name: str) -> pd.Series:
        return flags[name] if name in flags else _na_flag(n)

    for name in MEANS_DETAIL:
        out[name] = _unknown_where(get(name), means_ns)
    for group, members in MEANS_MERGE.items():
        given = group in flags
        out[group] = flags[group] if given else _any_of(out[m] for m in members)
    for name in SECTOR_DETAIL:
        out[name] = _unknown_where(get(name), labour_ns)
    for group, members in SECTOR_MERGE.items():
        given = group in flags
        out[group] = flags[group] if given else _any_of(out[m] for m in members)
    for name in EXPLOIT_DETAIL:
        out[name] = get(name)
    for name in EXPLOIT_GROUPS:
        out[name] = get(name)
    if sex_and_labour is not None:
        out["exploit_forced_labour"] = out["exploit_forced_labour"] | sex_and_labour
        out["exploit_sexual"] = out["exploit_sexual"] | sex_and_labour
    if any(name in flags for name in EXPLOIT_DETAIL):
        out["exploit_other"] = _any_of([out["exploit_other"], *(out[d] for d in EXPLOIT_DETAIL)])
    for name in FLAG_COLUMNS:
        if name not in out:
            out[name] = get(name)
    _recruiter(out, recruiter_unknown, recruiter_text, hlog)
    _child_status(out, n, hlog)
    _cross_border(out, n)
    for name in CANONICAL_NAMES:
        if name not in out:
            out[name] = _empty_column(name, n)
    frame = pd.DataFrame({name: out[name].reset_index(drop=True) for name in CANONICAL_NAMES})
    return frame


def _empty_column(name: str, n: int) -> pd.Series:
    col = COLUMN_BY_NAME[name]
    if col.kind in ("flag", "bool"):
        return _na_flag(n)
    if col.kind == "year":
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, np.int16), np.ones(n, dtype=bool)))
    return categorical(np.full(n, -1), col.levels)


def _recruiter(
    out: dict[str, pd.Series],
    unknown: pd.Series | None,
    text: tuple[list[object], np.ndarray] | None,
    hlog: HarmoniseLog,
) -> None:
    names = list(RECRUITER_FLAGS)
    # The text list is a fallback for rows whose flags are all missing (-99), not for rows whose
    # flags were recorded (even as 0) or whose relation is explicitly coded unknown.
    all_missing = np.logical_and.reduce([out[name].isna().to_numpy() for name in names])
    if unknown is not None:
        all_missing &= ~_yes(unknown)
    for name in names:
        out[name] = _unknown_where(out[name], unknown)
    if text is not None:
        parsed, codes_ = text
        is_list = np.array([isinstance(p, frozenset) for p in parsed] + [False])[codes_]
        usable = is_list & all_missing
        if usable.any():
            for name in names:
                named = np.array(
                    [isinstance(p, frozenset) and name in p for p in parsed] + [False]
                )[codes_]
                col = out[name].copy()
                col[usable] = named[usable]
                out[name] = col
            hlog.recruiter_from_text = int(usable.sum())
    known = np.logical_or.reduce([_yes(out[name]) for name in names])
    out["recruiter_known"] = pd.Series(pd.array(known, dtype="boolean"))


def _child_status(out: dict[str, pd.Series], n: int, hlog: HarmoniseLog) -> None:
    age = out.get("age_band")
    ms = out.get("majority_status")
    mse = out.get("majority_status_at_exploit")
    conditions: list[np.ndarray] = []
    values: list[np.ndarray] = []
    decided = np.zeros(n, dtype=bool)
    for source, col, child_levels in (
        ("age_band", age, CHILD_AGE_BANDS),
        ("majority_status", ms, frozenset({"minor"})),
        ("majority_status_at_exploit", mse, frozenset({"minor"})),
    ):
        if col is None:
            conditions.append(np.zeros(n, dtype=bool))
            values.append(np.zeros(n, dtype=bool))
            continue
        cond = col.notna().to_numpy() & ~decided
        decided |= cond
        conditions.append(cond)
        values.append(col.isin(child_levels).to_numpy())
        hlog.child_status_rule[source] = int(cond.sum())
    is_child = np.select(conditions, values, default=False)
    hlog.child_status_rule["undetermined"] = int((~decided).sum())
    out["is_child"] = pd.Series(pd.arrays.BooleanArray(is_child, ~decided))
    source_codes = np.select(conditions, [0, 1, 2], default=-1)
    out["child_status_source"] = categorical(source_codes, CHILD_STATUS_SOURCES)
    if age is not None and ms is not None:
        both = age.notna().to_numpy() & ms.notna().to_numpy()
        clash = both & (age.isin(CHILD_AGE_BANDS).to_numpy() != (ms == "minor").to_numpy())
        if clash.any():
            hlog.inconsistencies["majority_status contradicts age_band"] = int(clash.sum())


def _cross_border(out: dict[str, pd.Series], n: int) -> None:
    cit = out.get("citizenship_iso3")
    exp = out.get("exploitation_iso3")
    if cit is None or exp is None:
        out["cross_border"] = _na_flag(n)
        return
    c = cit.astype(object).to_numpy()
    e = exp.astype(object).to_numpy()
    known = cit.notna().to_numpy() & exp.notna().to_numpy()
    differs = np.zeros(n, dtype=bool)
    differs[known] = c[known] != e[known]
    out["cross_border"] = pd.Series(pd.arrays.BooleanArray(differs, ~known))
