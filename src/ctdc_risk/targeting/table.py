"""The targeting table: profiles with held-out rates, lift and coverage, and the gain curve.

Honest figures come from cross-fitting over the study's own folds: in each fold the profiles are
learnt again on the training rows only, and measured on the held-out rows.

- The table's rows are the profiles learnt on every case, in order of their rate. For each, the
  fold's version of the profile is the fold profile holding mostly the same cases (Jaccard
  overlap above one half over the cohort); its held-out cases give the row's held-out rate,
  lift and coverage, and ``folds_found`` says in how many folds it was learnt again. A profile
  no fold learnt again has no held-out figures: it rests on chance more than on the data.
- The cumulative columns and the gain curve follow what a program would do: take each fold's
  profiles in order of their training rate and count the held-out cases they reach, pooled over
  folds by rank.

The training figures (the same profiles on the rows they were learnt from) stay beside the
held-out ones: the gap is how much a profile's rate shrinks on cases not used to learn it.
Every published rate and coverage rests on at least k cases with and k without the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ctdc_risk.errors import StudyError
from ctdc_risk.stats import wilson_interval
from ctdc_risk.targeting.describe import describe_profile
from ctdc_risk.targeting.profiles import (
    ProfileTree,
    TargetingSpec,
    learn_profiles,
    min_profile_size,
    targeting_factors,
)

log = logging.getLogger(__name__)

COLUMNS = (
    "rank", "profile", "n_cases", "folds_found", "folds", "n_heldout", "rate", "rate_low",
    "rate_high", "training_rate", "shrinkage", "lift", "coverage", "cumulative_coverage",
    "cumulative_share_of_cases",
)  # fmt: skip
"""Columns of ``targeting.csv``; rates, coverage and shares are fractions of 1."""

COLUMN_MEANINGS = {
    "rank": "order of the profile by its outcome rate among all cases (1 = highest)",
    "profile": "the profile learnt on every case, in words",
    "n_cases": "cases in the profile (every case of the study)",
    "folds_found": "folds whose profiles, learnt without that fold's cases, include this one "
    "(mostly the same cases: Jaccard overlap above 0.5)",
    "folds": "cross-validation folds",
    "n_heldout": "held-out cases in the fold versions of the profile, pooled over folds",
    "rate": "share of those held-out cases with the outcome",
    "rate_low": "95 % Wilson interval, lower end",
    "rate_high": "95 % Wilson interval, upper end",
    "training_rate": "the fold versions' rate on the rows they were learnt from",
    "shrinkage": "training_rate - rate: how much the rate falls on cases not used to learn it",
    "lift": "rate / the outcome rate of all cases",
    "coverage": "share of the held-out outcome cases (of the folds that found it) in the profile",
    "cumulative_coverage": "share of all held-out outcome cases a program reaching each fold's "
    "profiles of this and higher rank would reach",
    "cumulative_share_of_cases": "share of all held-out cases in each fold's profiles of this "
    "and higher rank",
}
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class HeldOut:
    """A profile's figures on cases not used to learn it."""

    n: int
    positive: int
    training_n: int
    training_positive: int
    folds_total_n: int
    folds_total_positive: int

    @property
    def rate(self) -> float:
        return self.positive / self.n

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.positive, self.n)

    @property
    def training_rate(self) -> float:
        return self.training_positive / self.training_n

    @property
    def coverage(self) -> float:
        return self.positive / self.folds_total_positive


@dataclass(frozen=True)
class TargetingRow:
    """One profile of the table."""

    rank: int
    profile: str
    conditions: tuple[tuple[str, tuple[str, ...]], ...]
    n_cases: int
    folds_found: int
    heldout: HeldOut | None
    """None when no fold learnt the profile again, or its held-out counts fall under k."""
    lift: float | None
    cumulative: tuple[float, float] | None
    """(coverage, share of cases) of the ranks up to this one; None inside a pooled group."""


@dataclass(frozen=True)
class TargetingTable:
    """Profiles, their held-out figures and the gain curves."""

    rows: tuple[TargetingRow, ...]
    factors: tuple[str, ...]
    """Factors the profiles could use."""
    left_out: tuple[str, ...]
    """Configured factors left out: they would leak the target or are not recorded."""
    folds: int
    n_cases: int
    n_positive: int
    spec: TargetingSpec
    k: int
    """The privacy floor: held-out figures resting on fewer cases on one side are not given."""
    min_size: int
    heldout_curve: tuple[tuple[float, float], ...]
    """(cumulative share of cases, cumulative share of outcome cases) by rank, from (0, 0)."""
    training_curve: tuple[tuple[float, float], ...]
    boundaries: tuple[int, ...]
    """Number of leading ranks at each point of the curves after (0, 0)."""

    @property
    def rate(self) -> float:
        return self.n_positive / self.n_cases

    @property
    def top(self) -> int:
        """How many leading profiles the summary figures count: ``spec.top``, or the end of the
        pooled group it falls in; never every profile when there is more than one group (that
        would be no targeting at all)."""
        inner = self.boundaries[:-1] or self.boundaries
        return next((b for b in inner if b >= self.spec.top), inner[-1])

    def top_point(self) -> tuple[int, float, float, float]:
        """(profiles, held-out coverage, share of cases, training coverage) of the top ones."""
        i = self.boundaries.index(self.top) + 1
        share, coverage = self.heldout_curve[i]
        return self.top, coverage, share, self.training_curve[i][1]

    def metrics(self) -> dict[str, float]:
        """Slash-named figures for the run's metrics (held-out unless named training)."""
        n = self.spec.top
        _, coverage, share, training = self.top_point()
        first_share, first_coverage = self.heldout_curve[1]
        out = {
            "targeting/profiles": float(len(self.rows)),
            "targeting/top_profiles": float(self.top),
            "targeting/top1_coverage": first_coverage,
            "targeting/top1_lift": first_coverage / first_share,
            f"targeting/top{n}_coverage": coverage,
            f"targeting/top{n}_share_of_cases": share,
            f"targeting/top{n}_lift": coverage / share,
            f"targeting/top{n}_coverage_training": training,
            f"targeting/top{n}_coverage_shrinkage": training - coverage,
            "targeting/profiles_found_in_every_fold": float(
                sum(r.folds_found == self.folds for r in self.rows) / len(self.rows)
            ),
        }
        return {key: round(value, 6) for key, value in out.items()}

    def records(self) -> list[list[Any]]:
        """The CSV rows, in :data:`COLUMNS` order; empty cells where a figure is not given."""
        out = []
        for r in self.rows:
            h = r.heldout
            held: list[Any] = ["", "", "", "", "", "", "", ""]
            if h is not None:
                low, high = h.interval
                held = [h.n, *(round(v, 6) for v in (
                    h.rate, low, high, h.training_rate, h.training_rate - h.rate,
                    r.lift or 0.0, h.coverage))]  # fmt: skip
            cumulative = ["", ""] if r.cumulative is None else [round(v, 6) for v in r.cumulative]
            out.append(
                [r.rank, r.profile, r.n_cases, r.folds_found, self.folds, *held, *cumulative]
            )
        return out

    def document(self) -> dict[str, Any]:
        """``targeting.json``: settings, the meaning of every column, the rows and the curves."""
        return {
            "method": "profiles learnt by a decision tree on training folds and measured on "
            "the held-out fold (see columns)",
            "factors": list(self.factors),
            "left_out_factors": list(self.left_out),
            "max_depth": self.spec.max_depth,
            "min_profile_cases": self.min_size,
            "folds": self.folds,
            "n_cases": self.n_cases,
            "outcome_rate": round(self.rate, 6),
            "columns": COLUMN_MEANINGS,
            "profiles": [
                {**{c: (None if v == "" else v) for c, v in zip(COLUMNS, record, strict=True)},
                 "conditions": {f: list(levels) for f, levels in row.conditions}}
                for record, row in zip(self.records(), self.rows, strict=True)
            ],
            "gain_curve_heldout": [list(p) for p in self.heldout_curve],
            "gain_curve_training": [list(p) for p in self.training_curve],
        }  # fmt: skip


def build_targeting_table(
    frame: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    spec: TargetingSpec,
    leakage: Sequence[str],
    k: int,
    positive_only: bool,
    on_fold: Callable[[], None] | None = None,
) -> TargetingTable:
    """Learn profiles, measure them on held-out folds, and build the targeting table.

    ``on_fold`` is called after each fold's profiles are learnt and measured (progress).

    Raises
    ------
    StudyError
        None of the configured factors is usable (all leak the target or are not recorded).
    """
    factors = targeting_factors(spec, leakage=leakage, frame=frame)
    left_out = tuple(f for f in spec.factors if f not in {x.name for x in factors})
    if not factors:
        raise StudyError(
            f"targeting.factors: none of {', '.join(spec.factors)} can describe a profile "
            "here (each leaks the target or is not recorded); choose others or set "
            "targeting=off."
        )
    if left_out:
        log.info("targeting: left out %s (leak the target or not recorded)", ", ".join(left_out))
    learn = partial(learn_profiles, factors=factors, spec=spec, k=k, positive_only=positive_only)
    final = learn(frame, y)
    members = final.assign(frame)
    m = len(final.profiles)
    by_rank = np.zeros((m, 2), dtype=np.int64)  # held-out cases, outcome cases
    trained_by_rank = np.zeros((m, 2), dtype=np.int64)
    by_profile = np.zeros((m, 4), dtype=np.int64)  # held-out n, pos; training n, pos
    found = np.zeros(m, dtype=np.int64)
    fold_totals = np.zeros((m, 2), dtype=np.int64)
    for train, test in splits:
        fold = learn(frame.iloc[train], y[train])
        placed = fold.assign(frame.iloc[test])
        y_test = y[test].astype(np.int64)
        # What a program would do: the fold's profiles in order of their training rate.
        rank = np.minimum(placed, m - 1)
        np.add.at(by_rank[:, 0], rank, 1)
        np.add.at(by_rank[:, 1], rank, y_test)
        for r in range(len(fold.profiles)):
            trained_by_rank[min(r, m - 1)] += (fold.train_n[r], fold.train_positive[r])
        # Each final profile's own version in this fold, if the fold learnt it again.
        for p, q in _matches(members, fold.assign(frame), m, len(fold.profiles)).items():
            found[p] += 1
            here = placed == q
            by_profile[p] += (here.sum(), y_test[here].sum(), fold.train_n[q],
                              fold.train_positive[q])  # fmt: skip
            fold_totals[p] += (len(test), y_test.sum())
        if on_fold is not None:
            on_fold()
    groups = _merge_small(by_rank, k)
    if len(groups) < m:
        log.info("targeting: %d ranks pooled into %d (held-out counts under k)", m, len(groups))
    total_n, total_pos = (int(v) for v in by_rank.sum(axis=0))
    rows = _rows(final, frame, by_profile, found, fold_totals, groups, by_rank, k=k)
    log.info(
        "targeting: %d profiles from %s (%d cases, %d folds; %d learnt again in every fold)",
        m, ", ".join(f.name for f in factors), len(y), len(splits),
        int((found == len(splits)).sum()),
    )  # fmt: skip
    ends = [g[-1] for g in groups]
    return TargetingTable(
        rows=rows,
        factors=tuple(f.name for f in factors),
        left_out=left_out,
        folds=len(splits),
        n_cases=total_n,
        n_positive=total_pos,
        spec=spec,
        k=k,
        min_size=min_profile_size(spec, k),
        heldout_curve=_curve(by_rank, ends),
        training_curve=_curve(trained_by_rank, ends),
        boundaries=tuple(e + 1 for e in ends),
    )


def _matches(final: np.ndarray, fold: np.ndarray, m: int, m_fold: int) -> dict[int, int]:
    """Final profile -> the fold profile holding mostly the same cases (Jaccard > 0.5).

    Above one half the match is one-to-one: two disjoint profiles cannot both share more than
    half of their union with a third.
    """
    both = np.zeros((m, m_fold), dtype=np.int64)
    np.add.at(both, (final, fold), 1)
    size_final = both.sum(axis=1, keepdims=True)
    size_fold = both.sum(axis=0, keepdims=True)
    jaccard = both / np.maximum(size_final + size_fold - both, 1)
    out = {}
    for p in range(m):
        q = int(np.argmax(jaccard[p]))
        if jaccard[p, q] > MIN_OVERLAP:
            out[p] = q
    return out


def _merge_small(by_rank: np.ndarray, k: int) -> list[list[int]]:
    """Ranks grouped so every group has at least k held-out cases with and without the outcome
    (a short rank joins the next lower one; the last joins the one above)."""
    groups = [[i] for i in range(len(by_rank))]

    def short(g: list[int]) -> bool:
        n, pos = by_rank[g].sum(axis=0)
        return bool(pos < k or n - pos < k)

    i = 0
    while len(groups) > 1 and i < len(groups):
        if short(groups[i]):
            j = i + 1 if i + 1 < len(groups) else i - 1
            lo, hi = min(i, j), max(i, j)
            groups[lo : hi + 1] = [groups[lo] + groups[hi]]
            i = lo
        else:
            i += 1
    return groups


def _rows(
    final: ProfileTree,
    frame: pd.DataFrame,
    by_profile: np.ndarray,
    found: np.ndarray,
    fold_totals: np.ndarray,
    groups: list[list[int]],
    by_rank: np.ndarray,
    *,
    k: int,
) -> tuple[TargetingRow, ...]:
    children = bool(frame["is_child"].fillna(False).all())
    levels = final.encoder.levels_
    total_n, total_pos = (int(v) for v in by_rank.sum(axis=0))
    cumulative: dict[int, tuple[float, float]] = {}
    reached = np.cumsum(by_rank, axis=0)
    for g in groups:
        n, pos = (int(v) for v in reached[g[-1]])
        cumulative[g[-1]] = (pos / total_pos, n / total_n)
    rows = []
    for p, profile in enumerate(final.profiles):
        n, pos, tn, tpos = (int(v) for v in by_profile[p])
        heldout = None
        if found[p] and min(pos, n - pos) >= k:
            heldout = HeldOut(n, pos, tn, tpos, *(int(v) for v in fold_totals[p]))
        rows.append(
            TargetingRow(
                rank=p + 1,
                profile=describe_profile(profile.conditions, levels, children=children),
                conditions=profile.conditions,
                n_cases=int(final.train_n[p]),
                folds_found=int(found[p]),
                heldout=heldout,
                lift=None if heldout is None else heldout.rate / (total_pos / total_n),
                cumulative=cumulative.get(p),
            )
        )
    return tuple(rows)


def _curve(cells: np.ndarray, ends: list[int]) -> tuple[tuple[float, float], ...]:
    reached = np.cumsum(cells, axis=0)
    total_n, total_pos = (int(v) for v in reached[-1])
    points = [(0.0, 0.0)]
    for end in ends:
        n, pos = (int(v) for v in reached[end])
        points.append((round(n / total_n, 6), round(pos / total_pos, 6)))
    return tuple(points)
