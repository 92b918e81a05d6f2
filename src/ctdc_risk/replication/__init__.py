"""Does a finding hold across releases? One study's factor tables side by side, pooled, judged.

The same study run on several CTDC files (releases, vintages or layouts) gives one
:class:`~ctdc_risk.factors.factor_rows.FactorTable` per file. :func:`build_replication_table` aligns
their factor levels (every level of every release is kept: a level absent, suppressed or not
estimable in a release is reported as such), pools each level's adjusted odds ratios and
judges whether the finding replicates:

- the log odds ratio and its standard error per release come from the table's 95 % interval,
  which is a Wald interval on the log scale: ``se = (log(high) - log(low)) / (2 * 1.959964)``;
- pooled by DerSimonian-Laird random effects (inverse-variance fixed effect when only one
  release is estimable), with Cochran's Q, its p-value, I² = max(0, (Q - df) / Q) and tau²;
- the verdict: **replicates** (same side of 1 and interval excluding 1 in every release where
  estimable, at least two), **same direction, not significant everywhere**, **direction
  differs** (point estimates on both sides of 1), or **cannot be tested** with the reason
  (estimable in fewer than two releases; a level that describes recording, not the case; a
  release that compares with another reference level).

Contrasts are comparable only against the same reference level: the pipeline pins each
factor's reference to the first release's, and a release lacking it is named in
``other_reference`` (its levels of that factor are then left out of the pooling, and said).
Pure: no files, no plotting. The verdicts and the result types are in
:mod:`ctdc_risk.replication.table`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ctdc_risk.encoding import POOLED
from ctdc_risk.factors.factor_rows import FactorRow, FactorTable
from ctdc_risk.factors.labels import NOT_CASE_LEVELS
from ctdc_risk.features import FACTORS
from ctdc_risk.replication.table import (
    ABSENT,
    CANNOT_TEST,
    DIRECTION_DIFFERS,
    ESTIMATED,
    FACTOR_ABSENT,
    IS_REFERENCE,
    NOT_ESTIMABLE,
    OTHER_REFERENCE,
    REFERENCE,
    REPLICATES,
    SAME_DIRECTION,
    SUPPRESSED,
    VERDICTS,
    ReleaseEstimate,
    ReleaseSummary,
    ReplicationRow,
    ReplicationTable,
)
from ctdc_risk.stats import Pooled, pool_log_odds_ratios

__all__ = [
    "ABSENT",
    "CANNOT_TEST",
    "DIRECTION_DIFFERS",
    "ESTIMATED",
    "FACTOR_ABSENT",
    "IS_REFERENCE",
    "NOT_ESTIMABLE",
    "OTHER_REFERENCE",
    "REFERENCE",
    "REPLICATES",
    "SAME_DIRECTION",
    "SUPPRESSED",
    "VERDICTS",
    "ReleaseEstimate",
    "ReleaseSummary",
    "ReplicationRow",
    "ReplicationTable",
    "build_replication_table",
]

# I² at or above this is called heterogeneous in a verdict's reason.
HIGH_I2 = 0.5


def build_replication_table(
    tables: Sequence[FactorTable],
    names: Sequence[str],
    *,
    k: int,
    other_reference: Mapping[int, Mapping[str, str]] | None = None,
) -> ReplicationTable:
    """Align the factor levels of several releases' tables, pool and judge each.

    Parameters
    ----------
    tables
        One factor table per release, in release order; the first release's references define
        the contrasts.
    names
        One name per release (table headings and reasons).
    k
        Privacy floor (cases under it are shown as ``"<k"``).
    other_reference
        Release index (0-based) -> factor -> why that release compares the factor's levels with
        another reference level (the pinned one is missing there): those estimates are shown
        but not pooled.
    """
    if len(tables) != len(names):
        raise ValueError(f"{len(tables)} tables but {len(names)} names; give one per release.")
    if len(tables) < 2:
        raise ValueError(f"replication needs at least two releases; got {len(tables)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"release names must differ; got {list(names)}.")
    moved = other_reference or {}
    reference = _references(tables)
    keys = _aligned_keys(tables, reference)
    rows = []
    for factor, level in keys:
        estimates = tuple(
            _estimate(t, factor, level, reference[factor], moved.get(i, {}).get(factor))
            for i, t in enumerate(tables)
        )
        rows.append(_judge(factor, level, reference[factor], estimates, names))
    return ReplicationTable(tuple(names), tuple(rows), k, reference)


def _references(tables: Sequence[FactorTable]) -> dict[str, str]:
    """Each factor's reference level: that of the first release holding the factor."""
    out: dict[str, str] = {}
    for table in tables:
        for row in table.rows:
            if row.label == "reference" and row.factor not in out:
                out[row.factor] = row.level
        for row in table.rows:  # a factor whose table row names its reference level only
            out.setdefault(row.factor, row.reference_level)
    return out


def _aligned_keys(
    tables: Sequence[FactorTable], reference: dict[str, str]
) -> list[tuple[str, str]]:
    """Every (factor, level) of any release: factors in order of first appearance (the first
    release's rank order), the reference level first, then levels in order of appearance."""
    factors: list[str] = []
    levels: dict[str, list[str]] = {}
    for table in tables:
        for row in table.rows:
            if row.factor not in levels:
                factors.append(row.factor)
                levels[row.factor] = []
            if row.level not in levels[row.factor]:
                levels[row.factor].append(row.level)
    keys = []
    for factor in factors:
        ref = reference[factor]
        ordered = [ref] if ref in levels[factor] else []
        ordered += [lv for lv in levels[factor] if lv != ref]
        keys += [(factor, lv) for lv in ordered]
    return keys


def _estimate(
    table: FactorTable, factor: str, level: str, reference: str, moved: str | None
) -> ReleaseEstimate:
    rows = [r for r in table.rows if r.factor == factor]
    if not rows:
        why = dict(table.dropped).get(factor, "not a covariate of this release's study")
        return ReleaseEstimate(FACTOR_ABSENT, note=why)
    row = next((r for r in rows if r.level == level), None)
    if row is None:
        return ReleaseEstimate(ABSENT, note="no cases at this level, or pooled with rare levels")
    n_cases = row.n_with
    if row.reference_level != reference or moved is not None:
        why = moved or f"compared with {row.reference_level!r}, not {reference!r}"
        return _with_or(row, OTHER_REFERENCE, n_cases, why)
    if row.label == "reference":
        return ReleaseEstimate(IS_REFERENCE, 1.0, n_cases=n_cases, label=row.label)
    if row.label == "suppressed":
        return ReleaseEstimate(SUPPRESSED, n_cases=n_cases, label=row.label)
    low, high = row.adjusted_or_low, row.adjusted_or_high
    if row.adjusted_or is None or low is None or high is None or not 0 < low < high:
        why = row.adjusted_note or row.reason or "no interval"
        return ReleaseEstimate(NOT_ESTIMABLE, n_cases=n_cases, label=row.label, note=why)
    return _with_or(row, ESTIMATED, n_cases, "")


def _with_or(row: FactorRow, status: str, n_cases: int | None, note: str) -> ReleaseEstimate:
    return ReleaseEstimate(
        status,
        row.adjusted_or,
        row.adjusted_or_low,
        row.adjusted_or_high,
        n_cases=n_cases,
        label=row.label,
        note=note,
    )


def _missing_words(names: Sequence[str], estimates: Sequence[ReleaseEstimate]) -> str:
    """Where a level has no usable estimate, grouped by why: "absent in A, B; suppressed in C"."""
    by_status: dict[str, list[str]] = {}
    for name, e in zip(names, estimates, strict=True):
        if e.status != ESTIMATED:
            by_status.setdefault(e.status, []).append(name)
    if len(by_status) == 1 and sum(map(len, by_status.values())) == len(names) > 1:
        return f"{next(iter(by_status))} in every release"
    return "; ".join(f"{status} in {', '.join(where)}" for status, where in by_status.items())


def _judge(
    factor: str,
    level: str,
    reference: str,
    estimates: tuple[ReleaseEstimate, ...],
    names: Sequence[str],
) -> ReplicationRow:
    label = FACTORS[factor].label if factor in FACTORS else factor
    used = [(n, e) for n, e in zip(names, estimates, strict=True) if e.status == ESTIMATED]
    missing = _missing_words(names, estimates)

    def row(pooled: Pooled | None, verdict: str, reason: str) -> ReplicationRow:
        return ReplicationRow(factor, label, level, reference, estimates, pooled, verdict, reason)

    if level == reference:
        elsewhere = [n for n, e in zip(names, estimates, strict=True) if e.status != IS_REFERENCE]
        reason = "the level the others of this factor are compared with"
        if elsewhere:
            reason += f" (not the reference in: {', '.join(elsewhere)})"
        return row(None, REFERENCE, reason)
    points = [(e.log_or, e.se) for _, e in used]
    pooled = None
    if points and level != POOLED:
        pooled = pool_log_odds_ratios(
            [y for y, _ in points if y is not None], [s for _, s in points if s is not None]
        )
    if level == POOLED:
        return row(None, CANNOT_TEST, "pooled rare levels: their make-up differs by release")
    if level in NOT_CASE_LEVELS:
        return row(pooled, CANNOT_TEST, "describes what was recorded, not the case")
    if len(used) < 2:
        return row(
            pooled,
            CANNOT_TEST,
            f"estimable in {len(used)} of {len(estimates)} releases ({missing})",
        )
    above = [n for n, e in used if e.odds_ratio is not None and e.odds_ratio > 1]
    below = [n for n, e in used if e.odds_ratio is not None and e.odds_ratio < 1]
    flat = [n for n, e in used if e.odds_ratio == 1]
    significant = [n for n, e in used if e.significant]
    not_significant = [n for n, e in used if not e.significant]
    also = f"; {missing}" if missing else ""
    size = ""
    if pooled is not None and pooled.i2 is not None and pooled.i2 >= HIGH_I2:
        size = f"; sizes differ (I² = {pooled.i2:.0%})"
    if sum(bool(side) for side in (above, below, flat)) > 1:
        sides = [
            f"{words} in {', '.join(group)}"
            for words, group in (("above 1", above), ("below 1", below), ("exactly 1", flat))
            if group
        ]
        where = (
            f"interval excludes 1 in {', '.join(significant)}"
            if significant
            else "no interval excludes 1"
        )
        return row(pooled, DIRECTION_DIFFERS, f"odds ratio {'; '.join(sides)} ({where}){also}")
    side = "above 1" if above else "below 1" if below else "exactly 1"
    if not not_significant and not flat:
        every = "both" if len(used) == 2 else f"all {len(used)}"
        reason = f"odds ratio {side} and interval excludes 1 in {every} estimable releases"
        return row(pooled, REPLICATES, reason + size + also)
    reason = f"odds ratio {side} everywhere; interval includes 1 in {', '.join(not_significant)}"
    return row(pooled, SAME_DIRECTION, reason + size + also)
