"""Descriptive "headline" tables: family involvement in recruitment, children vs adults.

These are the figures of the 2017 IOM/CTDC data brief (family recruited 41 % of children vs
9 % of adults with a known recruiter), made repeatable for any release and cohort, with Wilson
95 % intervals, the child/adult ratio with its interval, and cells below the privacy floor k
suppressed (never silently dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc_risk.cohort import group_masks
from ctdc_risk.data.schema import (
    EXPLOIT_GROUPS,
    MEANS_GROUPS,
    SECTOR_DETAIL,
    FlagSemantics,
)
from ctdc_risk.privacy import SUPPRESSED, check_share, marker_for, suppress_partition
from ctdc_risk.stats import ratio_of_proportions, wilson_interval

GROUPS: dict[str, str] = {
    "children": "children",
    "adults": "adults",
    "boys": "boys (male children)",
    "girls": "girls (female children)",
}


@dataclass(frozen=True)
class Share:
    """``n_yes`` of ``n`` with a Wilson interval; ``None`` where the privacy floor hides it."""

    n: int | None
    n_yes: int | None
    share: float | None
    ci95: tuple[float, float] | None
    n_marker: str = ""
    """How a withheld ``n`` is shown: ``"<k"``, or ``"suppressed"`` when it is withheld so
    that a smaller group cannot be recovered by subtraction."""
    yes_marker: str = ""
    """How a withheld ``n_yes`` is shown: ``"<k"`` when it is under k, else ``"suppressed"``."""

    @property
    def suppressed(self) -> bool:
        return self.share is None


@dataclass(frozen=True)
class Ratio:
    """Ratio of two shares with a 95 % interval, or ``None`` with the reason."""

    ratio: float | None
    ci95: tuple[float, float] | None
    note: str = ""


@dataclass(frozen=True)
class FlagRow:
    column: str
    label: str
    children: Share
    adults: Share


@dataclass(frozen=True)
class Headline:
    """The headline tables of one cohort."""

    cohort: str
    n_cohort: int
    k: int
    flag_semantics: FlagSemantics
    family: dict[str, Share]
    child_adult_ratio: Ratio
    boy_girl_ratio: Ratio
    tables: dict[str, tuple[FlagRow, ...]]
    """Every item of each table; shares are of the group's cases with the table's question
    recorded (for a positive-only release: at least one item of the table recorded)."""
    top_n: int = 5

    def top(self, name: str, group: str) -> list[FlagRow]:
        """The table's ``top_n`` items for one group, in order of that group's own share."""
        rows = [r for r in self.tables[name] if getattr(r, group).share is not None]
        rows.sort(key=lambda r: (-(getattr(r, group).share or 0.0), r.column))
        return rows[: self.top_n]


def _share(n_yes: int, n: int, k: int) -> Share:
    cell = check_share(n_yes, n, k)
    if not cell.show_denominator:
        return Share(None, None, None, None)
    if not cell.show_share:
        return Share(n, None, None, None, yes_marker=marker_for(n_yes, k))
    return Share(n, n_yes, n_yes / n, wilson_interval(n_yes, n))


def _ratio(a: Share, b: Share, what: str) -> Ratio:
    if a.n_yes is None or b.n_yes is None or a.n is None or b.n is None:
        return Ratio(None, None, f"suppressed: a {what} cell rests on fewer than k records")
    result = ratio_of_proportions(a.n_yes, a.n, b.n_yes, b.n)
    if result is None:
        return Ratio(None, None, "undefined: a count is zero")
    return Ratio(result[0], result[1])


def _groups(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return group_masks(frame, ("children", "adults", "boys", "girls"))


def build_headline(
    frame: pd.DataFrame,
    *,
    cohort: str,
    k: int,
    flag_semantics: FlagSemantics,
    top_n: int = 5,
) -> Headline:
    """Compute the headline tables for a canonical frame (already restricted to a cohort).

    Family share = cases recruited by a family member among cases whose recruiter relation is
    recorded. Flag tables give the share of children and of adults with each exploitation
    type, labour sector (among forced-labour cases) and means of control; for positive-only
    releases the denominator is every case in the group and the share means "recorded".
    """
    groups = _groups(frame)
    known = frame["recruiter_known"].fillna(False).to_numpy(dtype=bool)
    family_yes = frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    family = {
        g: _share(int((family_yes & known & m).sum()), int((known & m).sum()), k)
        for g, m in groups.items()
    }
    family.update(_boys_and_girls(groups, known, family_yes, family, k))
    labour = frame["exploit_forced_labour"].fillna(False).to_numpy(dtype=bool)
    tables = {
        "exploitation type": _flag_table(frame, EXPLOIT_GROUPS, groups, None, k, flag_semantics),
        "labour sector (forced-labour cases)": _flag_table(
            frame, SECTOR_DETAIL, groups, labour, k, flag_semantics
        ),
        "means of control": _flag_table(frame, MEANS_GROUPS, groups, None, k, flag_semantics),
    }
    return Headline(
        cohort=cohort,
        n_cohort=len(frame),
        k=k,
        flag_semantics=flag_semantics,
        family=family,
        child_adult_ratio=_ratio(family["children"], family["adults"], "child or adult"),
        boy_girl_ratio=_ratio(family["boys"], family["girls"], "boy or girl"),
        tables=tables,
        top_n=top_n,
    )


def _boys_and_girls(
    groups: dict[str, np.ndarray],
    known: np.ndarray,
    family_yes: np.ndarray,
    family: dict[str, Share],
    k: int,
) -> dict[str, Share]:
    """Boys and girls under complementary suppression.

    Boys, girls and children of another or unrecorded gender add up to the children: with the
    children's figures published, boys' and girls' figures would give that third group back
    by subtraction, so they are withheld (the smaller first) when it is under k.
    """
    boys, girls = groups["boys"] & known, groups["girls"] & known
    rest = groups["children"] & known & ~boys & ~girls
    cells = (boys, girls, rest)
    withheld = suppress_partition(
        [int(m.sum()) for m in cells],
        [int((m & family_yes).sum()) for m in cells],
        k=k,
        unpublished=[False, False, True],
    )
    out = {}
    for i, g in enumerate(("boys", "girls")):
        s = family[g]
        if withheld.hide_n[i]:
            out[g] = Share(None, None, None, None, withheld.n_markers[i])
        elif withheld.hide_y[i]:
            out[g] = Share(s.n, None, None, None, yes_marker=s.yes_marker or SUPPRESSED)
        else:
            out[g] = s
    return out


def _flag_table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    groups: dict[str, np.ndarray],
    within: np.ndarray | None,
    k: int,
    semantics: FlagSemantics,
) -> tuple[FlagRow, ...]:
    rows = []
    any_recorded = np.logical_or.reduce(
        [frame[c].fillna(False).to_numpy(dtype=bool) for c in columns]
    )
    for column, label in columns.items():
        col = frame[column]
        if col.isna().all():
            continue  # the release does not carry this flag
        yes = col.fillna(False).to_numpy(dtype=bool)
        # Blank means "not recorded" in a positive-only release: the share is of the cases
        # where the question was answered at all, i.e. at least one item of the table recorded.
        positive_only = semantics is FlagSemantics.POSITIVE_ONLY
        base = any_recorded if positive_only else col.notna().to_numpy()
        if within is not None:
            base = base & within
        shares = {
            g: _share(int((yes & base & groups[g]).sum()), int((base & groups[g]).sum()), k)
            for g in ("children", "adults")
        }
        rows.append(FlagRow(column, label, shares["children"], shares["adults"]))
    rows.sort(key=lambda r: (-(r.children.share or -1.0), r.column))
    return tuple(rows)


@dataclass(frozen=True)
class ChildRuleShare:
    """Family recruitment of children and adults when children are counted by one rule.

    Counts are ``None`` when they (or their complement) fall under the privacy floor.
    """

    rule: str
    children_known: int | None
    children_family: float | None
    adults_known: int | None
    adults_family: float | None
    children_recorded_share: float | None
    """Share of the rule's children whose recruiter relation is recorded."""


def family_share_by_child_rule(frame: pd.DataFrame, *, k: int) -> tuple[ChildRuleShare, ...]:
    """The headline (family share, children vs adults) under every child rule.

    A sensitivity line: how much the headline depends on who counts as a child.
    """
    from ctdc_risk.data.child_status import CHILD_RULES, child_status

    known = frame["recruiter_known"].fillna(False).to_numpy(dtype=bool)
    family = frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    out = []
    published: list[tuple[np.ndarray, np.ndarray]] = []
    for rule in CHILD_RULES:
        status, _ = child_status(frame, rule)
        child = status.fillna(False).to_numpy(dtype=bool)
        adult = (~status.astype("boolean")).fillna(False).to_numpy(dtype=bool)
        # Two rules' groups differ by the cases one rule counts and the other does not: a row
        # is published only if, against every row already published, that difference is 0 or
        # at least k cases with and k without the outcome (no small group by subtraction).
        if any(_small_difference(mine, theirs, known, family, k) for mine, theirs in
               ((m, t) for c, a in published for m, t in ((child, c), (adult, a)))):  # fmt: skip
            out.append(ChildRuleShare(rule, None, None, None, None, None))
            continue
        published.append((child, adult))
        shares = [_share(int((family & known & m).sum()), int((known & m).sum()), k) for m in
                  (child, adult)]  # fmt: skip
        recorded = _share(int((known & child).sum()), int(child.sum()), k)
        out.append(
            ChildRuleShare(
                rule=rule,
                children_known=shares[0].n,
                children_family=shares[0].share,
                adults_known=shares[1].n,
                adults_family=shares[1].share,
                children_recorded_share=recorded.share,
            )
        )
    return tuple(out)


def _small_difference(
    mine: np.ndarray, theirs: np.ndarray, known: np.ndarray, family: np.ndarray, k: int
) -> bool:
    """Whether the cases in one group and not the other, or the reverse, are a small group."""
    for extra in (mine & ~theirs, theirs & ~mine):
        for cells in (extra & known & family, extra & known & ~family, extra & ~known):
            n = int(cells.sum())
            if 0 < n < k:
                return True
    return False
