"""The targeting table's types and written forms: HeldOut, TargetingRow and TargetingTable,
the columns of targeting.csv and their meanings, targeting.json and the targeting/* metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctdc_risk.stats import wilson_interval
from ctdc_risk.targeting.crossfit import SchemeSummary
from ctdc_risk.targeting.profiles import TargetingSpec

TRANSPORT_SCHEMES = ("country", "temporal")
"""Ways of holding cases out beside the study's own folds (:mod:`ctdc_risk.transport`)."""


COLUMNS = (
    "rank", "profile", "n_cases", "folds_found", "folds", "n_heldout", "rate", "rate_low",
    "rate_high", "training_rate", "lift", "training_lift", "lift_shrinkage", "coverage",
    "cumulative_coverage", "cumulative_share_of_cases", "lift_country", "lift_temporal",
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
    "lift": "rate / the outcome rate of all held-out cases of the folds that found it",
    "training_lift": "training_rate / the outcome rate of the training rows of those folds",
    "lift_shrinkage": "training_lift - lift: how much of the profile's concentration does not "
    "carry over to cases not used to learn it",
    "coverage": "share of the held-out outcome cases (of the folds that found it) in the profile",
    "cumulative_coverage": "share of all held-out outcome cases a program reaching each fold's "
    "profiles of this and higher rank would reach",
    "cumulative_share_of_cases": "share of all held-out cases in each fold's profiles of this "
    "and higher rank",
    "lift_country": "lift on held-out cases with folds grouped by country of citizenship "
    "(profiles learnt without the cases of the held-out countries)",
    "lift_temporal": "lift on the cases registered after the temporal cut (profiles learnt on "
    "the earlier ones)",
}


SCHEME_WORDS = {
    "default": "the study's folds",
    "country": "folds grouped by country",
    "temporal": "later years",
}


@dataclass(frozen=True)
class HeldOut:
    """A profile's figures on cases not used to learn it."""

    n: int
    positive: int
    training_n: int
    training_positive: int
    folds_total_n: int
    folds_total_positive: int
    training_total_n: int
    training_total_positive: int

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

    @property
    def lift(self) -> float:
        """The held-out rate over the rate of all held-out cases of the folds that found it."""
        return self.rate / (self.folds_total_positive / self.folds_total_n)

    @property
    def training_lift(self) -> float:
        """The training rate over the rate of all training rows of those folds."""
        return self.training_rate / (self.training_total_positive / self.training_total_n)

    @property
    def lift_shrinkage(self) -> float:
        """``training_lift - lift``."""
        return self.training_lift - self.lift


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
    transport_lift: tuple[tuple[str, float | None], ...] = ()
    """Held-out lift under each transport scheme; None where not learnt again there, its
    held-out counts fall under k, or the scheme could not be made."""


@dataclass(frozen=True)
class TargetingTable:
    """Profiles, their held-out figures and the gain curves, under each way of holding out."""

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
    schemes: tuple[SchemeSummary, ...]
    """The study's own folds first (``default``), then ``country`` and ``temporal`` when the
    study passed them (made or not, with why)."""

    @property
    def default(self) -> SchemeSummary:
        return self.schemes[0]

    @property
    def heldout_curve(self) -> tuple[tuple[float, float], ...]:
        """(cumulative share of cases, cumulative share of outcome cases) by rank, from (0, 0),
        on the study's own folds."""
        return self.default.heldout_curve

    @property
    def training_curve(self) -> tuple[tuple[float, float], ...]:
        return self.default.training_curve

    @property
    def boundaries(self) -> tuple[int, ...]:
        """Number of leading ranks at each point of the curves after (0, 0)."""
        return self.default.boundaries

    @property
    def rate(self) -> float:
        return self.n_positive / self.n_cases

    @property
    def top(self) -> int:
        """How many leading profiles the summary figures count: ``spec.top``, or the end of the
        pooled group it falls in; never every profile when there is more than one group (that
        would be no targeting at all)."""
        return self.default.top

    def top_point(self) -> tuple[int, float, float, float]:
        """(profiles, held-out coverage, share of cases, training coverage) of the top ones."""
        i = self.boundaries.index(self.top) + 1
        share, coverage = self.heldout_curve[i]
        return self.top, coverage, share, self.training_curve[i][1]

    def most_conservative(self) -> SchemeSummary:
        """The scheme whose leading profiles have the lowest held-out lift (first of ties, the
        study's own folds first); one whose top profiles hold every case counts as lift 1."""
        made = [s for s in self.schemes if s.made]
        return min(made, key=lambda s: 1.0 if s.holds_every_case else (s.lift or 0.0))

    def metrics(self) -> dict[str, float]:
        """Slash-named figures for the run's metrics (held-out unless named training).

        ``targeting/topN_*`` are on the study's own folds; ``..._country`` and
        ``..._temporal`` the same with folds grouped by country and on later years (absent when
        that split could not be made); ``targeting/topN_lift_lowest`` the lowest of them.
        """
        n = self.spec.top
        _, coverage, share, training = self.top_point()
        first_share, first_coverage = self.heldout_curve[1]
        default = self.default
        out = {
            "targeting/profiles": float(len(self.rows)),
            "targeting/top_profiles": float(self.top),
            "targeting/top1_coverage": first_coverage,
            "targeting/top1_lift": first_coverage / first_share,
            f"targeting/top{n}_coverage": coverage,
            f"targeting/top{n}_share_of_cases": share,
            f"targeting/top{n}_lift": coverage / share,
            f"targeting/top{n}_coverage_training": training,
            f"targeting/top{n}_lift_training": default.training_lift or 0.0,
            f"targeting/top{n}_lift_shrinkage": default.lift_shrinkage or 0.0,
            "targeting/profiles_found_in_every_fold": float(
                sum(r.folds_found == self.folds for r in self.rows) / len(self.rows)
            ),
        }
        for scheme in self.schemes[1:]:
            if scheme.made:
                name = scheme.scheme
                out[f"targeting/top{n}_coverage_{name}"] = scheme.coverage or 0.0
                out[f"targeting/top{n}_share_of_cases_{name}"] = scheme.share or 0.0
                out[f"targeting/top{n}_lift_{name}"] = scheme.lift or 0.0
                out[f"targeting/top{n}_lift_shrinkage_{name}"] = scheme.lift_shrinkage or 0.0
        lowest = self.most_conservative()
        out[f"targeting/top{n}_lift_lowest"] = (
            1.0 if lowest.holds_every_case else (lowest.lift or 0.0)
        )
        return {key: round(value, 6) for key, value in out.items()}

    def records(self) -> list[list[Any]]:
        """The CSV rows, in :data:`COLUMNS` order; empty cells where a figure is not given."""
        out = []
        for r in self.rows:
            h = r.heldout
            held: list[Any] = ["", "", "", "", "", "", "", "", ""]
            if h is not None:
                low, high = h.interval
                held = [h.n, *(round(v, 6) for v in (
                    h.rate, low, high, h.training_rate, h.lift, h.training_lift,
                    h.lift_shrinkage, h.coverage))]  # fmt: skip
            cumulative = ["", ""] if r.cumulative is None else [round(v, 6) for v in r.cumulative]
            moved = dict(r.transport_lift)
            transport = [_cell(moved.get(s)) for s in TRANSPORT_SCHEMES]
            out.append(
                [r.rank, r.profile, r.n_cases, r.folds_found, self.folds, *held, *cumulative,
                 *transport]
            )  # fmt: skip
        return out

    def document(self) -> dict[str, Any]:
        """``targeting.json``: settings, the meaning of every column, the rows, the curves and
        the leading profiles' figures under each way of holding cases out."""
        lowest = self.most_conservative()
        return {
            "method": "profiles learnt by a decision tree on training folds and measured on "
            "the held-out fold (see columns); conditions name recorded levels only, and a "
            "profile that leaves a level out also holds the cases where that factor is not "
            "recorded",
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
            "lift_shrinkage": "training lift - held-out lift (lift: a rate over the rate of "
            "all cases; for the top profiles, coverage over share of cases)",
            "heldout_schemes": [s.document() for s in self.schemes],
            "most_conservative_scheme": lowest.scheme,
        }  # fmt: skip


def _cell(value: float | None) -> float | str:
    return "" if value is None else round(value, 6)
