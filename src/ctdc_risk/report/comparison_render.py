"""``comparison.md``, ``comparison.csv`` and ``comparison.html``: a :class:`Comparison` on disk.

The HTML page is self-contained (no script, no request) and fits the width of the page: the
tables use a fixed layout over the page's width and long names wrap, so nothing scrolls
sideways at about 1000 px.
"""

from __future__ import annotations

import html
from pathlib import Path

from ctdc_risk.outputs import write_csv, write_text
from ctdc_risk.privacy import is_count_name, marker_for
from ctdc_risk.report.comparison import Cell, Comparison, LevelRow, Section

_CELL_WORDS = (
    "Each run's cell: the level's adjusted odds ratio against the factor's reference level "
    "(holding the other factors fixed) with its 95 % confidence interval, then the level's label "
    "(risk, protective or unclear, by the study's rule) and its factor's SHAP rank in that run "
    "(#1 = the factor that moves that run's model most). A level without a label in a run says "
    "why. The odds ratios describe identified victims, not a population."
)
_TEST_WORDS = (
    "ratio of odds ratios: how many times larger the level's adjusted odds ratio is in the "
    "first group than in the second, with its 95 % interval; q: its p-value after correction "
    "for testing every level."
)


def _is_count(metric: str) -> bool:
    return is_count_name(metric) or metric.endswith("n_rows")


def _metric(metric: str, value: float | None, k: int) -> str:
    if value is None:
        return ""
    if _is_count(metric):
        return marker_for(int(value), k) if 0 < value < k else f"{value:,.0f}"
    return f"{value:.3f}"


def _test_cells(s: Section, r: LevelRow) -> list[str]:
    if s.test is None:
        return []
    if r.ratio is None or r.q_value is None:
        return ["not tested", ""]
    value, low, high = r.ratio
    return [f"{value:.2f} [{low:.2f}-{high:.2f}]", f"{r.q_value:.2g}"]


def _test_heads(s: Section) -> list[str]:
    if s.test is None:
        return []
    a, b = s.test.groups
    return [f"ratio of odds ratios {a}/{b} [95 % CI]", "q"]


def _cell_text(c: Cell) -> str:
    parts = [c.estimate(), c.verdict()]
    text = " ".join(p for p in parts if p)
    why = c.why()
    if why:
        text = f"{text} ({why})" if text else why
    return text or "—"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_section(s: Section, k: int, top: int) -> list[str]:
    heads = list(s.group.heads)
    lines = [f"## {_md(s.title())}", "", _md(s.headline()).replace("≠", "**≠**"), ""]
    lines += ["| | " + " | ".join(_md(h) for h in heads) + " |", "|---|" + "---|" * len(heads)]
    lines.append("| run id | " + " | ".join(r.run_id for r in s.runs) + " |")
    for metric, values in s.metric_rows:
        lines.append(f"| {metric} | " + " | ".join(_metric(metric, v, k) for v in values) + " |")
    test_heads = _test_heads(s)
    lines += [
        "",
        f"Levels of the factors ranked in any run's top {top}, and every level that differs. "
        + _CELL_WORDS
        + (" " + _TEST_WORDS if s.test else ""),
        "",
        "| factor | level | " + " | ".join(_md(h) for h in [*heads, *test_heads]) + " | differs |",
        "|---|---|" + "---|" * (len(heads) + len(test_heads)) + "---|",
    ]
    for r in s.rows:
        cells = [_cell_text(c) for c in r.cells] + _test_cells(s, r)
        mark = "**≠**" if r.differs else ""
        lines.append(
            f"| {_md(r.factor)} | {_md(r.level)} | " + " | ".join(_md(x) for x in cells)
            + f" | {mark} |"
        )  # fmt: skip
    return [*lines, ""]


def to_markdown(c: Comparison, *, k: int = 10) -> str:
    lines = [f"# Comparison of {len(c.runs)} runs", ""]
    lines += _intro(c)
    for s in c.sections:
        lines += _md_section(s, k, c.top)
    return "\n".join(lines)


def _intro(c: Comparison) -> list[str]:
    lines = [
        "Runs of different targets answer different questions and are never compared; within "
        "a target, each setting the runs vary is compared with the others held fixed, one "
        "section each.",
        "",
    ]
    lines += [f"- {_md(s.summary())}" for s in c.sections]
    lines += [
        f"- Not compared: {_md(c.columns[i])} ({c.runs[i].run_id}): {why}." for i, why in c.alone
    ]
    return [*lines, ""]


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.85rem;width:100%;
table-layout:fixed}
td,th{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere;word-break:break-word;hyphens:auto}
th{background:#f3f3f3}col.name{width:11rem}col.mark{width:4.5rem}
tr.differs td{background:#fff3cd}.risk{color:#D55E00;font-weight:600}
.protective{color:#0072B2;font-weight:600}.unclear{color:#666}.why{color:#555;font-size:.8rem}
.note{color:#555;font-size:.9rem}
"""


def _html_cell(c: Cell) -> str:
    e = html.escape
    parts = []
    if c.estimate():
        parts.append(e(c.estimate()))
    if c.verdict():
        cls = c.label.split(" ")[0]
        parts.append(f'<span class="{e(cls)}">{e(c.verdict())}</span>')
    why = c.why()
    if why:
        parts.append(f'<span class="why">{e(why)}</span>')
    return "<td>" + ("<br>".join(parts) or "—") + "</td>"


def _html_section(s: Section, k: int, top: int) -> str:
    e = html.escape
    heads = "".join(f"<th>{e(h)}</th>" for h in s.group.heads)
    cols = '<col class="name">' + "<col>" * len(s.runs)
    metrics = [
        "<tr><th>run id</th>" + "".join(f"<td>{e(r.run_id)}</td>" for r in s.runs) + "</tr>"
    ] + [
        f"<tr><th>{e(m)}</th>" + "".join(f"<td>{_metric(m, v, k)}</td>" for v in values) + "</tr>"
        for m, values in s.metric_rows
    ]  # fmt: skip
    test_heads = "".join(f"<th>{e(h)}</th>" for h in _test_heads(s))
    rows = []
    for r in s.rows:
        cells = "".join(_html_cell(c) for c in r.cells)
        cells += "".join(f"<td>{e(x)}</td>" for x in _test_cells(s, r))
        cls = ' class="differs"' if r.differs else ""
        mark = "≠" if r.differs else ""
        rows.append(
            f"<tr{cls}><td>{e(r.factor)}</td><td>{e(r.level)}</td>{cells}<td>{mark}</td></tr>"
        )
    level_cols = (
        '<col class="name"><col class="name">' + "<col>" * (len(s.runs) + len(_test_heads(s)))
        + '<col class="mark">'
    )  # fmt: skip
    words = _CELL_WORDS + (" " + _TEST_WORDS if s.test else "")
    return (
        f"<section><h2>{e(s.title())}</h2><p>{e(s.headline())}</p>"
        f'<table class="metrics"><colgroup>{cols}</colgroup><tr><th></th>{heads}</tr>'
        f"{''.join(metrics)}</table>"
        f'<p class="note">Levels of the factors ranked in any run\'s top {top}, and every level '
        f"that differs. {e(words)}</p>"
        f'<table class="factors"><colgroup>{level_cols}</colgroup><tr><th>factor</th>'
        f"<th>level</th>{heads}{test_heads}<th>differs</th></tr>{''.join(rows)}</table></section>"
    )


def to_html(c: Comparison, *, k: int = 10) -> str:
    e = html.escape
    intro = _intro(c)
    items = "".join(f"<li>{e(line[2:])}</li>" for line in intro if line.startswith("- "))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Comparison of {len(c.runs)} runs</title><style>{_STYLE}</style></head><body>"
        f"<h1>Comparison of {len(c.runs)} runs</h1><p>{e(intro[0])}</p><ul>{items}</ul>"
        + "".join(_html_section(s, k, c.top) for s in c.sections)
        + "</body></html>\n"
    )


CSV_HEADER = (
    "group", "compared", "run", "run_id", "row", "factor", "level", "reference_level",
    "adjusted_or", "adjusted_or_low", "adjusted_or_high", "label", "rank", "why", "value",
    "differs", "ratio_of_or", "ratio_low", "ratio_high", "q_value",
)  # fmt: skip


def _csv_rows(c: Comparison, k: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for s in c.sections:
        where, varies = s.group.where(), s.group.varies
        for head, run in zip(s.group.heads, s.runs, strict=True):
            base = [where, varies, head, run.run_id]
            for metric, values in s.metric_rows:
                value = values[s.runs.index(run)]
                small = value is not None and _is_count(metric) and 0 < value < k
                shown = marker_for(int(value), k) if small and value is not None else value
                rows.append([*base, "metric", metric, *[""] * 8, shown, *[""] * 5])
        for r in s.rows:
            test = [*(round(x, 6) for x in r.ratio), r.q_value] if r.ratio else [""] * 4
            for head, run, cell in zip(s.group.heads, s.runs, r.cells, strict=True):
                low_high = cell.odds_ratio or ("", "", "")
                rows.append([
                    where, varies, head, run.run_id, "level", r.factor, r.level, cell.reference,
                    *low_high, cell.label, "" if cell.rank is None else cell.rank, cell.why(),
                    "", "yes" if r.differs else "", *test,
                ])  # fmt: skip
    return rows


def write_comparison(c: Comparison, out_dir: Path, *, k: int) -> list[Path]:
    """``comparison.md``, ``comparison.csv`` and ``comparison.html`` in ``out_dir``."""
    return [
        write_text(out_dir, "comparison.md", to_markdown(c, k=k)),
        write_csv(out_dir, "comparison.csv", list(CSV_HEADER), _csv_rows(c, k), k=k),
        write_text(out_dir, "comparison.html", to_html(c, k=k)),
    ]
