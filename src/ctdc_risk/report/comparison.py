"""``ctdc-risk compare``: runs side by side, grouped by what they vary, level by level.

The tracking adapter fetches each run's metrics, tags, params and factor table into a
:class:`RunSummary`; this module, which knows nothing of MLflow, lines them up.

Runs are first grouped (:mod:`ctdc_risk.report.compare_groups`): labels of different targets
answer different questions and are never compared; within a target, one :class:`Section` per
setting the runs vary (the models, the cohorts, ...) holding the others fixed. Each section has

- the runs' metrics, one column per run, headed by what differs (``model=logistic``);
- per factor level (each level of a factor ranked in any of its runs' top ``top``, and every
  level whose label differs), each run's adjusted odds ratio [95 % CI], label and SHAP rank,
  or why the level has none in that run (suppressed under k, not estimable, pooled or absent,
  the factor dropped), and a ``differs`` mark;
- a headline: how many of the levels labelled in every run of the section differ in label.

When a section holds two studies of separate groups (cohorts boys and girls, children aged 0-8
and 9-17, adults and children) of the same outcome and data, a label that differs is no evidence
of a difference: the smaller group has the wider intervals. Then ``differs`` comes from a test
of the odds ratios (:mod:`ctdc_risk.report.compare_cohorts`).

Rendering (Markdown, CSV, one self-contained HTML page) is in
:mod:`ctdc_risk.report.comparison_render`. Everything shown is already an aggregate of a
published run; counts among the metrics under k are shown as ``<k``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ctdc_risk.metric_names import COMPARED_METRICS as METRICS
from ctdc_risk.privacy import marker_for
from ctdc_risk.report.compare_cohorts import (
    DISJOINT_COHORTS,
    NOT_CASE_LEVELS,
    OR_COLUMNS,
    POOLED,
    as_float,
    group_tests,
    separate_groups,
)
from ctdc_risk.report.compare_groups import Group, group_runs, run_settings

COMPARED_LABELS = frozenset({"risk", "protective", "unclear"})


@dataclass(frozen=True)
class RunSummary:
    """What the comparison needs of one run."""

    run_id: str
    name: str
    status: str
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    factors: Sequence[Mapping[str, str]]
    """``factors.csv`` rows: factor_label, level, reference_level, adjusted_or[_low|_high],
    rank, label, reason."""
    params: Mapping[str, str] = field(default_factory=dict)
    """The run's flattened config (``model.use``, ``explain.alpha``, ...)."""
    dropped: Mapping[str, str] = field(default_factory=dict)
    """Factor label -> why the study left it out (``factors.json``), when known."""


@dataclass(frozen=True)
class Cell:
    """One level in one run: its estimate and label, or why it has none."""

    label: str
    """A factor-table label, or ``""`` when the run has no row for the level."""
    rank: int | None = None
    odds_ratio: tuple[float, float | None, float | None] | None = None
    reference: str = ""
    reason: str = ""
    note: str = ""
    """Said beside a labelled level: ``against reference X`` when the runs' references differ."""

    def estimate(self) -> str:
        """``1.85 [1.20-2.85]``, or ``""`` without an estimate."""
        if self.odds_ratio is None:
            return ""
        value, low, high = self.odds_ratio
        if low is None or high is None:
            return f"{value:.2f}"
        return f"{value:.2f} [{low:.2f}-{high:.2f}]"

    def verdict(self) -> str:
        """``risk #2`` (label and SHAP rank of the factor); ``reference``; ``""`` otherwise."""
        if self.label == "reference":
            return self.label
        if self.label not in COMPARED_LABELS:
            return ""
        return f"{self.label} #{self.rank}" if self.rank is not None else self.label

    def why(self) -> str:
        """Why a level has no label in this run (suppressed, not estimable, absent)."""
        if self.label in COMPARED_LABELS or self.label == "reference":
            return self.note
        if not self.label or self.reason.startswith(self.label):
            return self.reason or self.label
        return f"{self.label}: {self.reason}" if self.reason else self.label


@dataclass(frozen=True)
class LevelRow:
    factor: str
    level: str
    cells: tuple[Cell, ...]
    best_rank: int
    comparable: bool
    """Labelled (risk, protective or unclear) against the same reference in every run."""
    differs: bool
    ratio: tuple[float, float, float] | None = None
    """Ratio of the runs' adjusted odds ratios with its 95 % interval (groups tested)."""
    q_value: float | None = None


@dataclass(frozen=True)
class GroupTest:
    """How two runs of separate groups were compared: a test, not a count of labels."""

    groups: tuple[str, str]
    sizes: tuple[float | None, float | None]
    n_tested: int
    alpha: float
    multiplicity: str


@dataclass
class Section:
    """The runs of one group side by side."""

    group: Group
    runs: list[RunSummary]
    metric_rows: list[tuple[str, list[float | None]]] = field(default_factory=list)
    rows: list[LevelRow] = field(default_factory=list)
    n_levels: int = 0
    """Case-describing levels (not unknown, not pooled) labelled in every run."""
    n_label_differ: int = 0
    n_incomplete: int = 0
    """Case-describing levels without a label in some run (suppressed, not estimable, absent)."""
    same_estimates: bool = False
    """Every level labelled in every run has the same odds ratio and interval in each."""
    test: GroupTest | None = None
    k: int = 10
    """The privacy floor: a group size under it is shown as ``<k``."""

    @property
    def n_differ(self) -> int:
        return sum(r.differs for r in self.rows) if self.test else self.n_label_differ

    def title(self) -> str:
        return f"Within {self.group.where()}: {self.group.what()}"

    def summary(self) -> str:
        """One short line: how many levels differ (the console shows it)."""
        g = self.group
        if self.test is not None:
            return (
                f"Within {g.where()}: {self.n_differ} of {self.test.n_tested} levels differ "
                f"between cohorts {' and '.join(self.test.groups)} (z-test, "
                f"{_WORDS[self.test.multiplicity]})."
            )
        if not self.n_levels:
            return f"Within {g.where()}, no level is labelled in every run of {g.what()}."
        return (
            f"Within {g.where()}, {g.what()} disagree on {self.n_label_differ} of "
            f"{self.n_levels} levels labelled in every run."
        )

    def headline(self) -> str:
        """What the section's table says, in plain words."""
        missing = (
            f" {self.n_incomplete} more case-describing levels have no label in at least one "
            "run (suppressed under the privacy floor, not estimable, pooled or absent) or are "
            "compared with another reference level; the table says why for those it shows."
            if self.n_incomplete
            else ""
        )
        same = (
            " The adjusted odds ratios and intervals are the same in every run (they come from "
            "the same adjusted model of the same cases); labels and ranks differ only through "
            "each run's own model (its SHAP direction and rank) and bootstrap refits."
            if self.same_estimates and self.n_levels
            else ""
        )
        if self.test is None:
            return (
                f"{self.summary()} A label is risk, protective or unclear by the study's rule; "
                f"levels whose labels differ are marked ≠.{missing}{same}"
            )
        return f"{self._test_text()}{missing}"

    def _test_text(self) -> str:
        test = self.test
        assert test is not None
        (a, b), (na, nb) = test.groups, test.sizes
        shown = [f"{n:,.0f}" if n >= self.k else marker_for(int(n), self.k) for n in (na, nb) if n]
        sizes = f" ({shown[0]} against {shown[1]} cases)" if len(shown) == 2 else ""
        intro = (
            f"These runs study separate groups, cohorts {a} and {b}{sizes}. Labels differ for "
            f"{self.n_label_differ} of {self.n_levels} levels labelled in both; a label that "
            "differs between groups of different sizes is not evidence that a factor acts "
            "differently (the smaller group has the wider intervals), so the groups are "
            "compared by a test instead."
        )
        if test.n_tested == 0:
            found = (
                "No level could be compared: none has an estimable odds ratio against the same "
                "reference level in both runs (levels under the privacy floor are suppressed)."
            )
        else:
            found = (
                "Comparing each level's adjusted odds ratios directly (z-test on the difference "
                f"of the log odds ratios, {_WORDS[test.multiplicity]} across {test.n_tested} "
                f"levels), {self.n_differ} differ (marked ≠; q below {test.alpha:g} and the "
                "ratio's interval excludes 1)."
            )
        within = (
            " For the interaction test within one model of both groups, run "
            "experiment=boys_girls_interactions."
            if frozenset(test.groups) in DISJOINT_COHORTS[:2]
            else ""
        )
        return f"{intro} {found}{within}"


_WORDS = {"holm": "Holm's correction", "bh": "Benjamini-Hochberg"}


@dataclass
class Comparison:
    runs: list[RunSummary]
    columns: list[str]
    """One short description per run: the settings that differ (``model=logistic ...``)."""
    sections: list[Section] = field(default_factory=list)
    alone: list[tuple[int, str]] = field(default_factory=list)
    """Runs compared with none, with why."""
    top: int = 15

    @property
    def n_differ(self) -> int:
        return sum(s.n_differ for s in self.sections)

    def headline(self) -> str:
        """The console's summary: one short line per section, then the runs left alone."""
        lines = [s.summary() for s in self.sections]
        lines += [f"Not compared: {self.columns[i]}: {why}." for i, why in self.alone]
        return "\n  ".join(lines) or "No two runs could be compared."


def column_names(runs: Sequence[RunSummary]) -> list[str]:
    """Short run descriptions: the settings that differ across the runs, else run names."""
    settings = run_settings(runs)
    names = [" ".join(f"{k}={v}" for k, v in s.items()) for s in settings]
    if not all(names):
        names = [r.name for r in runs]
    names = [n or r.run_id[:8] for n, r in zip(names, runs, strict=True)]
    if len(set(names)) < len(names):
        names = [f"{n} ({r.run_id[:8]})" for n, r in zip(names, runs, strict=True)]
    return names


def _rank(row: Mapping[str, str]) -> int | None:
    try:
        return int(float(row.get("rank", "")))
    except ValueError:
        return None


def _levels(run: RunSummary) -> dict[tuple[str, str], Mapping[str, str]]:
    return {
        (r.get("factor_label", r.get("factor", "")), r.get("level", "")): r for r in run.factors
    }


_Levels = Mapping[tuple[str, str], Mapping[str, str]]


def _cell(run: RunSummary, levels: _Levels, key: tuple[str, str]) -> Cell:
    row = levels.get(key)
    if row is None:
        return Cell("", reason=_absent(run, levels, key[0]))
    value, low, high = (as_float(row.get(c)) for c in OR_COLUMNS)
    label = row.get("label", "")
    estimate = None if value is None or label == "suppressed" else (value, low, high)
    reason = row.get("reason", "")
    if label == "reference":
        reason = "the reference level: the others of this factor are compared with it"
    return Cell(label, _rank(row), estimate, row.get("reference_level", ""), reason)


def _absent(run: RunSummary, levels: _Levels, factor: str) -> str:
    if factor in run.dropped:
        return f"factor left out of this study: {run.dropped[factor]}"
    if not any(f == factor for f, _ in levels):
        return (
            "factor not in this run's table: left out of the study (the same for every case, "
            "not recorded, or it would leak the outcome) or only described as context"
        )
    if (factor, POOLED) in levels:
        return (
            "no row of its own in this run: fewer than k cases, pooled into "
            f"'{POOLED}', or no such case in this cohort"
        )
    return "no case with this level in this run's cohort"


def build_comparison(runs: Sequence[RunSummary], *, top: int = 15, k: int = 10) -> Comparison:
    """Group ``runs`` by what they vary and line up each group's levels (see the module)."""
    groups, alone = group_runs(runs)
    comparison = Comparison(list(runs), column_names(runs), alone=alone, top=top)
    for group in groups:
        comparison.sections.append(_section(group, [runs[i] for i in group.runs], top, k))
    return comparison


def _section(group: Group, runs: list[RunSummary], top: int, k: int) -> Section:
    section = Section(group, runs, k=k)
    for metric in METRICS:
        values = [r.metrics.get(metric) for r in runs]
        if any(v is not None for v in values):
            section.metric_rows.append((metric, values))
    per_run = [_levels(r) for r in runs]
    keys = sorted({key for levels in per_run for key in levels})
    tests = group_tests(runs, per_run) if separate_groups(runs) else None
    ranks: dict[str, int] = {}
    for levels in per_run:
        for (factor, _), row in levels.items():
            rank = _rank(row)
            if rank is not None:
                ranks[factor] = min(ranks.get(factor, rank), rank)
    same = True
    for key in keys:
        cells = tuple(_cell(r, levels, key) for r, levels in zip(runs, per_run, strict=True))
        if all(c.label == "reference" for c in cells):
            continue
        references = {c.reference for c in cells if c.label}
        if len(references) > 1:  # odds ratios of other contrasts: said, not compared
            cells = tuple(replace(c, note=f"against reference {c.reference}") for c in cells)
        comparable = all(c.label in COMPARED_LABELS for c in cells) and len(references) == 1
        labels = {c.label for c in cells}
        case = key[1] not in NOT_CASE_LEVELS
        label_differs = comparable and case and len(labels) > 1
        if case and comparable:
            section.n_levels += 1
            section.n_label_differ += label_differs
            same = same and len({c.odds_ratio for c in cells}) == 1
        elif case:
            section.n_incomplete += 1
        ratio, q, holds = (None, None, False)
        if tests is not None:
            ratio, q, holds = tests[0].get(key, (None, None, False))
        differs = holds if tests is not None else label_differs
        best = ranks.get(key[0], 10**6)
        if best <= top or differs or label_differs:
            section.rows.append(
                LevelRow(key[0], key[1], cells, best, comparable, differs, ratio, q)
            )
    section.rows.sort(key=lambda r: (r.best_rank, r.factor, r.level))
    section.same_estimates = same
    if tests is not None:
        cohorts = [r.tags.get("cohort", "") for r in runs]
        sizes = [r.metrics.get("target/n_rows") for r in runs]
        section.test = GroupTest(
            (cohorts[0], cohorts[1]), (sizes[0], sizes[1]), len(tests[0]), tests[1], tests[2]
        )
    return section
