"""Does a label hold under another reading of the missing data?

In positive-only releases a blank item means "not recorded": it mixes "no" with "not asked".
Two sensitivity analyses rerun the adjusted model beside the primary one:

``recorded_groups``
    only cases with at least one item recorded in every item group used by the study (its
    yes/no covariates, and the outcome's own group): where something of a group was recorded,
    a blank is closer to a real "no". When no covariate is a yes/no item (a recruitment study
    adjusts for age, gender and citizenship), the groups are means of control and type of
    exploitation: the cases documented beyond the outcome itself;
``documentation``
    all cases, adjusting in addition for how thoroughly each case was documented (the number
    of item groups with anything recorded, from the groups that do not leak the outcome).

For every labelled level the primary and sensitivity odds ratios are set side by side with a
verdict: **robust** (same side of 1, interval still excluding 1, size within 25 %), **changes
size** (same side of 1 but the size moves by more than 25 % or the interval now includes 1),
**changes direction** (the other side of 1), or **not estimable** there.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from ctdc_risk.factors.associations import NOTE_REFERENCE, fit_adjusted
from ctdc_risk.factors.factor_rows import FactorTable
from ctdc_risk.features import FACTORS, FLAG_GROUPS, Factor, add_documented_groups

log = logging.getLogger(__name__)

ANALYSES: dict[str, str] = {
    "recorded_groups": "only cases with something recorded in every item group the study uses "
    "(for a study with no yes/no covariate: means of control and type of exploitation)",
    "documentation": "adjusted also for how many item groups were recorded in each case",
}
SIZE_CHANGE = math.log(1.25)


@dataclass(frozen=True)
class SensitivityRow:
    """One labelled level: its odds ratio in the primary analysis and in one sensitivity one."""

    analysis: str
    factor: str
    level: str
    primary_or: float | None
    primary_low: float | None
    primary_high: float | None
    sensitivity_or: float | None
    sensitivity_low: float | None
    sensitivity_high: float | None
    n_cases: int
    verdict: str

    def to_record(self) -> dict[str, Any]:
        return dict(zip(SENSITIVITY_COLUMNS, astuple(self), strict=True))


SENSITIVITY_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SensitivityRow))


@dataclass(frozen=True)
class SensitivityResult:
    rows: tuple[SensitivityRow, ...]
    skipped: tuple[tuple[str, str], ...]
    """``(analysis, reason)`` for analyses that could not be run."""

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in ANALYSES:
            rows = [r for r in self.rows if r.analysis == name]
            if rows:
                # A share of labelled levels (how many levels is not a count of people).
                out[f"sensitivity/{name}/robust_share"] = round(
                    sum(r.verdict == "robust" for r in rows) / len(rows), 6
                )
        return out


def verdict(primary: tuple[float, float, float], other: tuple[float, float, float] | None) -> str:
    """Robust, changes size, changes direction or not estimable (see the module docstring).

    Examples
    --------
    >>> verdict((2.0, 1.5, 2.7), (2.1, 1.4, 3.0))
    'robust'
    >>> verdict((2.0, 1.5, 2.7), (1.3, 0.9, 1.9))
    'changes size'
    >>> verdict((2.0, 1.5, 2.7), (0.8, 0.5, 1.2))
    'changes direction'
    """
    if other is None:
        return "not estimable"
    point, low, high = other
    if (point > 1) != (primary[0] > 1):
        return "changes direction"
    if low <= 1 <= high or abs(math.log(point) - math.log(primary[0])) > SIZE_CHANGE:
        return "changes size"
    return "robust"


def run_sensitivity(
    frame: pd.DataFrame,
    y: np.ndarray,
    factors: tuple[Factor, ...],
    records: np.ndarray,
    table: FactorTable,
    *,
    k: int,
    positive_only: bool,
    reference: Mapping[str, str],
    leakage_reason: Callable[[str], str | None],
    outcome_group: str | None,
) -> SensitivityResult:
    """Both sensitivity analyses for the labelled levels of ``table``."""
    labelled = [r for r in table.rows if r.label in ("risk", "protective")]
    rows: list[SensitivityRow] = []
    skipped: list[tuple[str, str]] = []
    if not labelled:
        return SensitivityResult((), (("all", "no level is labelled"),))
    groups = [
        name
        for name, cols in FLAG_GROUPS.items()
        if not any(leakage_reason(c) for c in cols if c not in _group_members(outcome_group))
    ]
    # (a) cases with something recorded in every group the study's covariates and outcome use.
    used = {g for f in factors for g, cols in FLAG_GROUPS.items() if f.name in cols}
    if not used:
        used = {g for g in ("means of control", "type of exploitation") if g in groups}
    if outcome_group:
        used.add(outcome_group)
    keep = np.ones(len(y), dtype=bool)
    for g in sorted(used):
        cols = [c for c in FLAG_GROUPS[g] if c in frame]
        keep &= np.logical_or.reduce([frame[c].fillna(False).to_numpy(dtype=bool) for c in cols])
    if keep.all():
        skipped.append(("recorded_groups", "every case already has something recorded in each "
                        "item group the study uses"))  # fmt: skip
    elif min(int(y[keep].sum()), int((~y[keep].astype(bool)).sum())) < k:
        skipped.append(("recorded_groups", f"fewer than {k} cases of one outcome remain"))
    else:
        sub = frame.loc[keep].reset_index(drop=True)
        estimates = _odds_ratios(sub, y[keep], factors, records[keep], k, positive_only, reference)
        rows += _compare("recorded_groups", labelled, estimates, int(keep.sum()))
    # (b) adjusted also for documentation.
    documented = add_documented_groups(frame, groups)
    if documented["documented_groups"].nunique() < 2:
        skipped.append(("documentation", "every case has the same number of item groups recorded"))
    else:
        with_doc = (*factors, FACTORS["documented_groups"])
        estimates = _odds_ratios(documented, y, with_doc, records, k, positive_only, reference)
        rows += _compare("documentation", labelled, estimates, len(y))
    for name, why in skipped:
        log.info("sensitivity analysis %s not run: %s", name, why)
    return SensitivityResult(tuple(rows), tuple(skipped))


def _group_members(group: str | None) -> tuple[str, ...]:
    return FLAG_GROUPS[group] if group else ()


def _odds_ratios(
    frame: pd.DataFrame,
    y: np.ndarray,
    factors: tuple[Factor, ...],
    records: np.ndarray,
    k: int,
    positive_only: bool,
    reference: Mapping[str, str],
) -> dict[tuple[str, str], tuple[float, float, float]]:
    kinds = tuple((f.name, f.kind) for f in factors)
    refs = {f: lv for f, lv in reference.items() if f in dict(kinds)}
    try:
        fitted = fit_adjusted(
            frame, y, kinds, k=k, positive_only=positive_only, reference=refs, groups=records
        )
    except ValueError as exc:  # the study's reference level is missing here
        log.info("sensitivity model not fitted: %s", exc)
        return {}
    return {
        (a.factor, a.level): (a.odds_ratio, a.ci95[0], a.ci95[1])
        for a in fitted.odds_ratios
        if a.note != NOTE_REFERENCE and a.odds_ratio is not None and a.ci95 is not None
    }


def _compare(
    analysis: str,
    labelled: list[Any],
    estimates: dict[tuple[str, str], tuple[float, float, float]],
    n_cases: int,
) -> list[SensitivityRow]:
    out = []
    for r in labelled:
        primary = (r.adjusted_or, r.adjusted_or_low, r.adjusted_or_high)
        other = estimates.get((r.factor, r.level))
        out.append(
            SensitivityRow(
                analysis=analysis,
                factor=r.factor,
                level=r.level,
                primary_or=r.adjusted_or,
                primary_low=r.adjusted_or_low,
                primary_high=r.adjusted_or_high,
                sensitivity_or=None if other is None else round(other[0], 6),
                sensitivity_low=None if other is None else round(other[1], 6),
                sensitivity_high=None if other is None else round(other[2], 6),
                n_cases=n_cases,
                verdict=verdict(primary, other),
            )
        )
    return out
