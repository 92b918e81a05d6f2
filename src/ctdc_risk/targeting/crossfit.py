"""Cross-fitted targeting: profiles learnt without some cases and measured on them.

One way of holding cases out (a *scheme*) is a list of (train, test) splits: the study's own
folds, folds grouped by country of citizenship, or a temporal split (see
:mod:`ctdc_risk.transport`, which makes the splits). In every split the profiles are learnt
again on the training rows and the held-out rows are placed in them. :func:`cross_fit` counts
what that gives; :func:`summarise_scheme` turns the counts into the figures a program designer
reads: what reaching the leading profiles would reach, on held-out cases and where they were
learnt.

**Lift** is a rate over the rate of all cases: for the top profiles, the share of outcome cases
they hold (coverage) over the share of cases they hold. **Lift shrinkage** is the lift where the
profiles were learnt (training rows) minus the lift on held-out cases: how much of their
apparent concentration does not carry over to cases not used to learn them (0: none is lost;
``training lift - 1``: all of it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc_risk.targeting.profiles import ProfileTree

MIN_OVERLAP = 0.5
Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class CrossFit:
    """Counts from learning profiles on each training side and placing the held-out side.

    ``m`` is the number of final profiles (learnt on every case); a fold's ranks beyond ``m``
    count with the last one.
    """

    folds: int
    by_rank: np.ndarray
    """(m, 2): held-out cases and outcome cases in each fold's profile of that rank."""
    trained_by_rank: np.ndarray
    """(m, 2): the same on the rows the fold's profiles were learnt from."""
    by_profile: np.ndarray
    """(m, 4): each final profile's fold versions: held-out n, positive; training n, positive."""
    found: np.ndarray
    """(m,): folds that learnt the final profile again (Jaccard overlap above one half)."""
    heldout_totals: np.ndarray
    """(m, 2): held-out cases and outcome cases of the folds that found the profile."""
    training_totals: np.ndarray
    """(m, 2): training cases and outcome cases of the folds that found the profile."""


def cross_fit(
    frame: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[Split],
    learn: Callable[[pd.DataFrame, np.ndarray], ProfileTree],
    members: np.ndarray,
    m: int,
    on_fold: Callable[[], None] | None = None,
) -> CrossFit:
    """Learn profiles on every split's training rows and count its held-out rows in them.

    ``members`` is every case's final profile (learnt on all cases), used to find each final
    profile's version in a fold. ``on_fold`` is called after each fold (progress).
    """
    by_rank = np.zeros((m, 2), dtype=np.int64)
    trained_by_rank = np.zeros((m, 2), dtype=np.int64)
    by_profile = np.zeros((m, 4), dtype=np.int64)
    found = np.zeros(m, dtype=np.int64)
    heldout_totals = np.zeros((m, 2), dtype=np.int64)
    training_totals = np.zeros((m, 2), dtype=np.int64)
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
        for p, q in match_profiles(members, fold.assign(frame), m, len(fold.profiles)).items():
            found[p] += 1
            here = placed == q
            by_profile[p] += (here.sum(), y_test[here].sum(), fold.train_n[q],
                              fold.train_positive[q])  # fmt: skip
            heldout_totals[p] += (len(test), y_test.sum())
            training_totals[p] += (len(train), int(y[train].sum()))
        if on_fold is not None:
            on_fold()
    return CrossFit(
        len(splits), by_rank, trained_by_rank, by_profile, found, heldout_totals, training_totals
    )


def match_profiles(final: np.ndarray, fold: np.ndarray, m: int, m_fold: int) -> dict[int, int]:
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


def merge_small(by_rank: np.ndarray, k: int) -> list[list[int]]:
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


def gain_curve(cells: np.ndarray, ends: Sequence[int]) -> tuple[tuple[float, float], ...]:
    """(cumulative share of cases, cumulative share of outcome cases) at each group end."""
    reached = np.cumsum(cells, axis=0)
    total_n, total_pos = (int(v) for v in reached[-1])
    points = [(0.0, 0.0)]
    for end in ends:
        n, pos = (int(v) for v in reached[end])
        points.append((round(n / total_n, 6), round(pos / total_pos, 6)))
    return tuple(points)


def leading(boundaries: Sequence[int], top: int) -> int:
    """How many leading profiles the summary counts: ``top``, or the end of the pooled group it
    falls in; never every profile when there is more than one group (that would be no targeting
    at all)."""
    inner = boundaries[:-1] or boundaries
    return next((b for b in inner if b >= top), inner[-1])


@dataclass(frozen=True)
class SchemeSummary:
    """What reaching the leading profiles reaches, under one way of holding cases out.

    A scheme that could not be made (too few countries, no registration years) has no folds,
    no curves and no figures; ``note`` says why.
    """

    scheme: str
    """``default`` (the study's folds), ``country`` or ``temporal``."""
    note: str
    """How the cases were held out, or why they could not be."""
    folds: int
    n_cases: int
    """Held-out cases (every case for folds, the later years for the temporal split)."""
    n_positive: int
    heldout_curve: tuple[tuple[float, float], ...] = ()
    """(cumulative share of cases, cumulative share of outcome cases) by rank, from (0, 0)."""
    training_curve: tuple[tuple[float, float], ...] = ()
    boundaries: tuple[int, ...] = ()
    """Number of leading ranks at each point of the curves after (0, 0)."""
    top: int = 0
    """Leading profiles the figures count (0 when the scheme could not be made)."""

    @property
    def made(self) -> bool:
        return self.folds > 0

    def _point(self, curve: tuple[tuple[float, float], ...]) -> tuple[float, float] | None:
        if not self.made:
            return None
        return curve[self.boundaries.index(self.top) + 1]

    @property
    def coverage(self) -> float | None:
        """Share of the held-out outcome cases in each fold's leading profiles."""
        point = self._point(self.heldout_curve)
        return None if point is None else point[1]

    @property
    def share(self) -> float | None:
        """Share of all held-out cases in each fold's leading profiles."""
        point = self._point(self.heldout_curve)
        return None if point is None else point[0]

    @property
    def lift(self) -> float | None:
        """Held-out coverage over held-out share: the leading profiles' rate over the rate of
        all held-out cases."""
        point = self._point(self.heldout_curve)
        return None if point is None else point[1] / point[0]

    @property
    def training_coverage(self) -> float | None:
        point = self._point(self.training_curve)
        return None if point is None else point[1]

    @property
    def training_lift(self) -> float | None:
        """The same lift on the rows the profiles were learnt from."""
        point = self._point(self.training_curve)
        return None if point is None else point[1] / point[0]

    @property
    def lift_shrinkage(self) -> float | None:
        """``training_lift - lift``: the concentration that does not carry over."""
        if self.lift is None or self.training_lift is None:
            return None
        return self.training_lift - self.lift

    @property
    def holds_every_case(self) -> bool:
        """The leading profiles hold every held-out case (one pooled group): no targeting."""
        return self.made and self.share is not None and self.share >= 1.0 - 1e-9

    def document(self) -> dict[str, object]:
        """The scheme in ``targeting.json``."""

        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "scheme": self.scheme,
            "held_out": self.note,
            "folds": self.folds,
            "n_heldout_cases": self.n_cases if self.made else None,
            "top_profiles": self.top if self.made else None,
            "coverage": r(self.coverage),
            "share_of_cases": r(self.share),
            "lift": r(self.lift),
            "training_coverage": r(self.training_coverage),
            "training_lift": r(self.training_lift),
            "lift_shrinkage": r(self.lift_shrinkage),
            "top_profiles_hold_every_case": self.holds_every_case,
            "gain_curve_heldout": [list(p) for p in self.heldout_curve],
            "gain_curve_training": [list(p) for p in self.training_curve],
        }


def summarise_scheme(
    scheme: str, note: str, fit: CrossFit | None, *, k: int, top: int
) -> tuple[SchemeSummary, list[list[int]]]:
    """The scheme's gain curves and leading figures, and its rank groups (each with at least k
    held-out cases with and without the outcome). ``fit`` None: the scheme was not made."""
    if fit is None:
        return SchemeSummary(scheme, note, 0, 0, 0), []
    groups = merge_small(fit.by_rank, k)
    ends = [g[-1] for g in groups]
    boundaries = tuple(e + 1 for e in ends)
    total_n, total_pos = (int(v) for v in fit.by_rank.sum(axis=0))
    summary = SchemeSummary(
        scheme=scheme,
        note=note,
        folds=fit.folds,
        n_cases=total_n,
        n_positive=total_pos,
        heldout_curve=gain_curve(fit.by_rank, ends),
        training_curve=gain_curve(fit.trained_by_rank, ends),
        boundaries=boundaries,
        top=leading(boundaries, top),
    )
    return summary, groups
