"""``ctdc-risk compare``: several runs side by side, and the factors whose label differs.

The tracking adapter fetches each run's metrics, tags and factor table into a
:class:`RunSummary`; this module, which knows nothing of MLflow, lines them up:

- a metrics table (one row per headline metric, one column per run);
- a factor table: one row per factor level that ranks in the top ``top`` factors of any run,
  each cell the level's label and its factor's SHAP rank in that run ("risk #2"), and a
  ``differs`` mark where the runs do not agree on the label (risk, protective, unclear).

When the runs are two studies of separate groups (cohorts boys and girls, children aged 0-8 and
9-17, adults and children) of the same outcome and data, a label that differs is no evidence of
a difference: the smaller group has the wider intervals, so one odds ratio can be "unclear" in
one group and "protective" in the other. Then ``differs`` comes from a test instead: each level's
adjusted odds ratios (same reference level in both runs) are compared by a z-test on the
difference of their log odds ratios, with standard errors read from the published 95 %
intervals (the groups are independent samples), and Holm's (or Benjamini-Hochberg's, as the
runs were configured) correction across every level tested. A level differs when its q-value is
below alpha and the interval of the ratio of odds ratios excludes 1.

Both are written as Markdown, CSV and one self-contained HTML page (no script, no request).
Everything in them is already an aggregate of a published run: no record counts below k.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ctdc_risk.metric_names import COMPARED_METRICS as METRICS
from ctdc_risk.outputs import write_csv, write_text
from ctdc_risk.stats import Z95, bh_adjust, holm_adjust, two_sided_p

CONTEXT_TAGS = ("cohort", "target", "model", "data_release")
_COMPARED_LABELS = frozenset({"risk", "protective", "unclear"})
# Cohorts that share no case: two runs of one pair are independent samples.
DISJOINT_COHORTS = (
    frozenset({"boys", "girls"}),
    frozenset({"children_0_8", "children_9_17"}),
    frozenset({"adults", "children"}),
)
_NOT_CASE_LEVELS = frozenset({"unknown", "not recorded", "other (fewer than k cases)"})


@dataclass(frozen=True)
class RunSummary:
    """What the comparison needs of one run."""

    run_id: str
    name: str
    status: str
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    factors: Sequence[Mapping[str, str]]  # factors.csv rows: factor_label, level, rank, label
    params: Mapping[str, str] = field(default_factory=dict)
    """The run's flattened config (``explain.alpha``, ``explain.multiplicity``)."""


@dataclass(frozen=True)
class FactorRow:
    factor: str
    level: str
    cells: list[str]
    best_rank: int
    differs: bool
    ratio: tuple[float, float, float] | None = None
    """Ratio of the runs' adjusted odds ratios with its 95 % interval (groups compared)."""
    q_value: float | None = None


@dataclass(frozen=True)
class GroupTest:
    """How two runs of separate groups were compared: a test, not a count of labels."""

    groups: tuple[str, str]
    sizes: tuple[float | None, float | None]
    n_tested: int
    alpha: float
    multiplicity: str
    label_differences: int
    """Levels shown whose labels differ (reported, and not counted as differences)."""


@dataclass
class Comparison:
    columns: list[str]
    runs: list[RunSummary]
    metric_rows: list[tuple[str, list[float | None]]] = field(default_factory=list)
    context_rows: list[tuple[str, list[str]]] = field(default_factory=list)
    factor_rows: list[FactorRow] = field(default_factory=list)
    top: int = 15
    group_test: GroupTest | None = None

    @property
    def n_differ(self) -> int:
        return sum(r.differs for r in self.factor_rows)

    def headline(self) -> str:
        """What the factor table says about differences, in one or two sentences."""
        test = self.group_test
        if test is None:
            return (
                f"{self.n_differ} of {len(self.factor_rows)} levels differ in label between "
                "runs (marked ≠)."
            )
        (a, b), (na, nb) = test.groups, test.sizes
        sizes = f" ({na:,.0f} against {nb:,.0f} cases)" if na is not None and nb is not None else ""
        words = "Holm's correction" if test.multiplicity == "holm" else "Benjamini-Hochberg"
        intro = (
            f"These runs study separate groups, cohorts {a} and {b}{sizes}. Labels differ for "
            f"{test.label_differences} of {len(self.factor_rows)} levels shown; a label that "
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
                f"of the log odds ratios, {words} across {test.n_tested} levels), "
                f"{self.n_differ} differ (marked ≠; q below {test.alpha:g} and the ratio's "
                "interval excludes 1)."
            )
        within = (
            " For the interaction test within one model of both groups, run "
            "experiment=boys_girls_interactions."
            if frozenset(test.groups) in DISJOINT_COHORTS[:2]
            else ""
        )
        return f"{intro} {found}{within}"


def column_names(runs: Sequence[RunSummary]) -> list[str]:
    """Short column headings: the sweep overrides that tell the runs apart, else run names."""
    tokens = [r.tags.get("sweep_overrides", "").split() for r in runs]
    if all(tokens):
        common = set.intersection(*(set(t) for t in tokens))
        names = [" ".join(t for t in ts if t not in common) for ts in tokens]
    else:
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


def build_comparison(runs: Sequence[RunSummary], *, top: int = 15) -> Comparison:
    """Line up ``runs``: metrics, context and the factor levels ranked in any run's top ``top``."""
    comparison = Comparison(column_names(runs), list(runs), top=top)
    for tag in CONTEXT_TAGS:
        comparison.context_rows.append((tag, [r.tags.get(tag, "") for r in runs]))
    comparison.context_rows.append(("status", [r.status for r in runs]))
    comparison.context_rows.append(("run id", [r.run_id for r in runs]))
    for metric in METRICS:
        values = [r.metrics.get(metric) for r in runs]
        if any(v is not None for v in values):
            comparison.metric_rows.append((metric, values))

    label_differences = 0
    keys: dict[tuple[str, str], int] = {}
    per_run: list[dict[tuple[str, str], Mapping[str, str]]] = []
    for run in runs:
        levels: dict[tuple[str, str], Mapping[str, str]] = {}
        for row in run.factors:
            if row.get("label") == "reference":
                continue
            key = (row.get("factor_label", row.get("factor", "")), row.get("level", ""))
            levels[key] = row
            rank = _rank(row)
            if rank is not None and rank <= top:
                keys[key] = min(keys.get(key, rank), rank)
        per_run.append(levels)

    tests = _group_tests(runs, per_run) if _separate_groups(runs) else None
    if tests is not None:
        # A level whose difference holds is shown even outside the top factors.
        for key, (_, _, holds) in tests[0].items():
            if holds and key not in keys:
                ranks = [_rank(levels[key]) for levels in per_run if key in levels]
                keys[key] = min((r for r in ranks if r is not None), default=10**6)
    for key, best in sorted(keys.items(), key=lambda kv: (kv[1], kv[0])):
        cells: list[str] = []
        labels: set[str] = set()
        for levels in per_run:
            if key not in levels:
                cells.append("")
                continue
            label = levels[key].get("label", "")
            rank = _rank(levels[key])
            cells.append(f"{label} #{rank}" if rank is not None else label)
            if label in _COMPARED_LABELS:
                labels.add(label)
        shown = FactorRow(key[0], key[1], cells, best, len(labels) > 1)
        if tests is not None:
            ratio, q, holds = tests[0].get(key, (None, None, False))
            shown = FactorRow(key[0], key[1], cells, best, holds, ratio, q)
            label_differences += len(labels) > 1
        comparison.factor_rows.append(shown)
    if tests is not None:
        cohorts = [r.tags.get("cohort", "") for r in runs]
        sizes = [r.metrics.get("target/n_rows") for r in runs]
        comparison.group_test = GroupTest(
            (cohorts[0], cohorts[1]), (sizes[0], sizes[1]), len(tests[0]), tests[1], tests[2],
            label_differences,
        )  # fmt: skip
    return comparison


def _separate_groups(runs: Sequence[RunSummary]) -> bool:
    """Two runs of one outcome on one data set, in cohorts that share no case."""
    if len(runs) != 2:
        return False
    a, b = (r.tags for r in runs)
    return frozenset({a.get("cohort"), b.get("cohort")}) in DISJOINT_COHORTS and all(
        a.get(tag) == b.get(tag) for tag in ("target", "data_release", "data_sha256")
    )


def _log_or(row: Mapping[str, str]) -> tuple[float, float] | None:
    """Log odds ratio and its standard error from a published Wald interval."""
    try:
        value, low, high = (float(row.get(c) or "nan") for c in _OR_COLUMNS)
    except ValueError:
        return None
    if not all(math.isfinite(v) and v > 0 for v in (value, low, high)) or high <= low:
        return None
    return math.log(value), (math.log(high) - math.log(low)) / (2 * Z95)


_OR_COLUMNS = ("adjusted_or", "adjusted_or_low", "adjusted_or_high")


def _group_tests(
    runs: Sequence[RunSummary], per_run: list[dict[tuple[str, str], Mapping[str, str]]]
) -> tuple[dict[tuple[str, str], tuple[tuple[float, float, float], float, bool]], float, str]:
    """Per level in both runs: ratio of odds ratios [CI], q-value, whether the difference holds."""
    alphas = {r.params.get("explain.alpha", "0.05") for r in runs}
    methods = {r.params.get("explain.multiplicity", "holm") for r in runs}
    alpha = float(alphas.pop()) if len(alphas) == 1 else 0.05
    method = methods.pop() if len(methods) == 1 and methods <= {"holm", "bh"} else "holm"
    a, b = per_run
    found: dict[tuple[str, str], tuple[tuple[float, float, float], float]] = {}
    for key, row_a in a.items():
        row_b = b.get(key)
        if row_b is None or key[1] in _NOT_CASE_LEVELS:
            continue
        if row_a.get("reference_level") != row_b.get("reference_level"):
            continue
        ea, eb = _log_or(row_a), _log_or(row_b)
        if ea is None or eb is None:
            continue
        diff, se = ea[0] - eb[0], math.hypot(ea[1], eb[1])
        ratio = (math.exp(diff), math.exp(diff - Z95 * se), math.exp(diff + Z95 * se))
        found[key] = (ratio, two_sided_p(diff / se))
    adjust = holm_adjust if method == "holm" else bh_adjust
    qs = adjust([p for _, p in found.values()])
    out = {
        key: (ratio, q, q < alpha and not ratio[1] <= 1 <= ratio[2])
        for (key, (ratio, _)), q in zip(found.items(), qs, strict=True)
    }
    return out, alpha, method


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if metric.endswith("n_rows") else f"{value:.3f}"


def _ratio_cells(c: Comparison, r: FactorRow) -> list[str]:
    """The test's cells (ratio of odds ratios, q) when the runs are separate groups."""
    if c.group_test is None:
        return []
    if r.ratio is None or r.q_value is None:
        return ["not tested", ""]
    value, low, high = r.ratio
    return [f"{value:.2f} [{low:.2f}-{high:.2f}]", f"{r.q_value:.2g}"]


def _ratio_heads(c: Comparison) -> list[str]:
    if c.group_test is None:
        return []
    a, b = c.group_test.groups
    return [f"ratio of odds ratios {a}/{b} [95 % CI]", "q"]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(c: Comparison) -> str:
    head = "| | " + " | ".join(_md_cell(n) for n in c.columns) + " |"
    rule = "|---|" + "---|" * len(c.columns)
    lines = [f"# Comparison of {len(c.runs)} runs", "", head, rule]
    for name, texts in c.context_rows:
        lines.append(f"| {name} | " + " | ".join(_md_cell(t) for t in texts) + " |")
    for metric, values in c.metric_rows:
        lines.append(f"| {metric} | " + " | ".join(_fmt(metric, v) for v in values) + " |")
    lines += [
        "",
        f"## Factors: label and SHAP rank (levels in any run's top {c.top} factors)",
        "",
        c.headline().replace("≠", "**≠**"),
        "",
        "| factor | level | "
        + " | ".join(_md_cell(n) for n in [*c.columns, *_ratio_heads(c)])
        + " | differs |",
        "|---|---|" + "---|" * (len(c.columns) + len(_ratio_heads(c))) + "---|",
    ]
    for r in c.factor_rows:
        mark = "**≠**" if r.differs else ""
        cells = " | ".join(_md_cell(x) for x in [*r.cells, *_ratio_cells(c, r)])
        lines.append(f"| {_md_cell(r.factor)} | {_md_cell(r.level)} | {cells} | {mark} |")
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2rem;
color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}th{background:#f3f3f3}
tr.differs td{background:#fff3cd}.risk{color:#D55E00;font-weight:600}
.protective{color:#0072B2;font-weight:600}.unclear{color:#666}
"""


def to_html(c: Comparison) -> str:
    e = html.escape
    heads = "".join(f"<th>{e(n)}</th>" for n in c.columns)
    top_rows = [
        f"<tr><th>{e(name)}</th>" + "".join(f"<td>{e(t)}</td>" for t in texts) + "</tr>"
        for name, texts in c.context_rows
    ] + [
        f"<tr><th>{e(m)}</th>" + "".join(f"<td>{_fmt(m, v)}</td>" for v in values) + "</tr>"
        for m, values in c.metric_rows
    ]
    ratio_heads = "".join(f"<th>{e(h)}</th>" for h in _ratio_heads(c))
    factor_rows = []
    for r in c.factor_rows:
        cells = "".join(
            f'<td class="{e(x.split(" ")[0])}">{e(x)}</td>' if x else "<td></td>" for x in r.cells
        ) + "".join(f"<td>{e(x)}</td>" for x in _ratio_cells(c, r))
        cls = ' class="differs"' if r.differs else ""
        mark = "≠" if r.differs else ""
        factor_rows.append(
            f"<tr{cls}><td>{e(r.factor)}</td><td>{e(r.level)}</td>{cells}<td>{mark}</td></tr>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Comparison of {len(c.runs)} runs</title><style>{_STYLE}</style></head><body>"
        f"<h1>Comparison of {len(c.runs)} runs</h1>"
        f'<table id="metrics"><tr><th></th>{heads}</tr>{"".join(top_rows)}</table>'
        f"<h2>Factors: label and SHAP rank (levels in any run's top {c.top} factors)</h2>"
        f"<p>{e(c.headline())}</p>"
        f'<table id="factors"><tr><th>factor</th><th>level</th>{heads}{ratio_heads}'
        "<th>differs</th></tr>"
        f"{''.join(factor_rows)}</table></body></html>\n"
    )


_CSV_TEST = ("ratio_of_or", "ratio_low", "ratio_high", "q_value")
_BLANK = ("",) * len(_CSV_TEST)


def write_comparison(c: Comparison, out_dir: Path, *, k: int) -> list[Path]:
    """``comparison.md``, ``comparison.csv`` and ``comparison.html`` in ``out_dir``."""
    header = ["section", "factor", "level", *c.columns, *_CSV_TEST, "differs"]
    rows: list[list[object]] = []
    for name, texts in c.context_rows:
        rows.append(["run", name, "", *texts, *_BLANK, ""])
    for metric, values in c.metric_rows:
        rows.append(["metric", metric, "", *values, *_BLANK, ""])
    for r in c.factor_rows:
        test = [*(round(x, 6) for x in r.ratio), r.q_value] if r.ratio else list(_BLANK)
        rows.append(["factor", r.factor, r.level, *r.cells, *test, "yes" if r.differs else ""])
    return [
        write_text(out_dir, "comparison.md", to_markdown(c)),
        write_csv(out_dir, "comparison.csv", header, rows, k=k),
        write_text(out_dir, "comparison.html", to_html(c)),
    ]
