"""``ctdc-risk compare``: several runs side by side, and the factors whose label differs.

The tracking adapter fetches each run's metrics, tags and factor table into a
:class:`RunSummary`; this module, which knows nothing of MLflow, lines them up:

- a metrics table (one row per headline metric, one column per run);
- a factor table: one row per factor level that ranks in the top ``top`` factors of any run,
  each cell the level's label and its factor's SHAP rank in that run ("risk #2"), and a
  ``differs`` mark where the runs do not agree on the label (risk, protective, unclear).

Both are written as Markdown, CSV and one self-contained HTML page (no script, no request).
Everything in them is already an aggregate of a published run: no record counts below k.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ctdc_risk.outputs import write_csv, write_text

METRICS = (
    "cv/roc_auc_mean",
    "cv/roc_auc_std",
    "cv/average_precision_mean",
    "cv/brier_mean",
    "cv/ece_mean",
    "baseline/roc_auc_mean",
    "target/n_rows",
    "target/prevalence",
    "targeting/top3_coverage",
    "targeting/top3_share_of_cases",
    "targeting/top3_lift",
    "targeting/top3_lift_lowest",
)
CONTEXT_TAGS = ("cohort", "target", "model", "data_release")
_COMPARED_LABELS = frozenset({"risk", "protective", "unclear"})


@dataclass(frozen=True)
class RunSummary:
    """What the comparison needs of one run."""

    run_id: str
    name: str
    status: str
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    factors: Sequence[Mapping[str, str]]  # factors.csv rows: factor_label, level, rank, label


@dataclass(frozen=True)
class FactorRow:
    factor: str
    level: str
    cells: list[str]
    best_rank: int
    differs: bool


@dataclass
class Comparison:
    columns: list[str]
    runs: list[RunSummary]
    metric_rows: list[tuple[str, list[float | None]]] = field(default_factory=list)
    context_rows: list[tuple[str, list[str]]] = field(default_factory=list)
    factor_rows: list[FactorRow] = field(default_factory=list)
    top: int = 15

    @property
    def n_differ(self) -> int:
        return sum(r.differs for r in self.factor_rows)


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
        comparison.factor_rows.append(FactorRow(key[0], key[1], cells, best, len(labels) > 1))
    return comparison


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if metric.endswith("n_rows") else f"{value:.3f}"


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
        f"{c.n_differ} of {len(c.factor_rows)} levels differ in label between runs (marked **≠**).",
        "",
        "| factor | level | " + " | ".join(_md_cell(n) for n in c.columns) + " | differs |",
        "|---|---|" + "---|" * len(c.columns) + "---|",
    ]
    for r in c.factor_rows:
        mark = "**≠**" if r.differs else ""
        cells = " | ".join(_md_cell(x) for x in r.cells)
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
    factor_rows = []
    for r in c.factor_rows:
        cells = "".join(
            f'<td class="{e(x.split(" ")[0])}">{e(x)}</td>' if x else "<td></td>" for x in r.cells
        )
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
        f"<p>{c.n_differ} of {len(c.factor_rows)} levels differ in label between runs "
        "(highlighted).</p>"
        f'<table id="factors"><tr><th>factor</th><th>level</th>{heads}<th>differs</th></tr>'
        f"{''.join(factor_rows)}</table></body></html>\n"
    )


def write_comparison(c: Comparison, out_dir: Path, *, k: int) -> list[Path]:
    """``comparison.md``, ``comparison.csv`` and ``comparison.html`` in ``out_dir``."""
    header = ["section", "factor", "level", *c.columns, "differs"]
    rows: list[list[object]] = []
    for name, texts in c.context_rows:
        rows.append(["run", name, "", *texts, ""])
    for metric, values in c.metric_rows:
        rows.append(["metric", metric, "", *values, ""])
    for r in c.factor_rows:
        rows.append(["factor", r.factor, r.level, *r.cells, "yes" if r.differs else ""])
    return [
        write_text(out_dir, "comparison.md", to_markdown(c)),
        write_csv(out_dir, "comparison.csv", header, rows, k=k),
        write_text(out_dir, "comparison.html", to_html(c)),
    ]
