"""The headline tables in their published forms: ``headline.json``, ``headline.csv`` and the
Markdown page of the ``describe`` command (:mod:`ctdc_risk.headline` computes them).
"""

from __future__ import annotations

from typing import Any

from ctdc_risk.data.schema import (
    FlagSemantics,
)
from ctdc_risk.headline import GROUPS, Headline, Ratio, Share
from ctdc_risk.privacy import Floor


def headline_json(h: Headline) -> dict[str, Any]:
    """The JSON document written as ``headline.json``."""

    def share(s: Share) -> dict[str, Any]:
        return {
            "n": s.n,
            "n_yes": s.n_yes,
            "share": _round(s.share),
            "ci95": [_round(s.ci95[0]), _round(s.ci95[1])] if s.ci95 else None,
            "suppressed": s.suppressed,
        }

    def ratio(r: Ratio) -> dict[str, Any]:
        return {
            "ratio": _round(r.ratio),
            "ci95": [_round(r.ci95[0]), _round(r.ci95[1])] if r.ci95 else None,
            "note": r.note or None,
        }

    doc: dict[str, Any] = {
        "cohort": h.cohort,
        "n_cohort": h.n_cohort if h.n_cohort >= h.k else None,
        "privacy_k": h.k,
        "flag_semantics": str(h.flag_semantics),
        "definition": "share recruited by a family member among cases whose recruiter "
        "relation is recorded",
    }
    for g, s in h.family.items():
        doc[g] = {
            "n_known_recruiter": s.n,
            "n_family": s.n_yes,
            "share": _round(s.share),
            "ci95": [_round(s.ci95[0]), _round(s.ci95[1])] if s.ci95 else None,
        }
    doc["child_adult_ratio"] = ratio(h.child_adult_ratio)
    doc["boy_girl_ratio"] = ratio(h.boy_girl_ratio)
    doc["tables"] = {
        name: [
            {
                "factor": r.column,
                "label": r.label,
                "children": share(r.children),
                "adults": share(r.adults),
            }
            for r in rows
        ]
        for name, rows in h.tables.items()
    }
    return doc


def headline_rows(h: Headline) -> tuple[list[str], list[list[object]]]:
    """Header and rows of ``headline.csv`` (one row per published figure)."""
    header = ["table", "group", "factor", "n", "n_yes", "share", "ci95_low", "ci95_high"]
    marker = Floor(h.k).marker
    rows: list[list[object]] = []

    def add(table: str, group: str, factor: str, s: Share) -> None:
        rows.append(
            [
                table,
                group,
                factor,
                s.n if s.n is not None else s.n_marker or marker,
                s.n_yes if s.n_yes is not None else s.yes_marker or marker,
                _round(s.share) if s.share is not None else marker,
                _round(s.ci95[0]) if s.ci95 else "",
                _round(s.ci95[1]) if s.ci95 else "",
            ]
        )

    for g, s in h.family.items():
        add("family recruitment", g, "recruiter_family", s)
    for name, table_rows in h.tables.items():
        for r in table_rows:
            add(name, "children", r.column, r.children)
            add(name, "adults", r.column, r.adults)
    return header, rows


def headline_markdown(h: Headline, *, source: str) -> str:
    """A readable ``headline.md``."""
    marker = f"{Floor(h.k).marker} (suppressed)"
    lines = [
        f"# Headline figures: {h.cohort}",
        "",
        f"Data: {source}. Cohort: {h.cohort}, {h.n_cohort:,} cases. Figures resting on fewer "
        f"than {h.k} cases are suppressed and marked `<{h.k}`.",
        "",
        "These are cases of identified victims, not a population sample: shares describe "
        "who was identified, not who is at risk.",
        "",
        "## Recruited by a family member (among cases with the recruiter's relation recorded)",
        "",
        "| group | cases with recruiter known | recruited by family | share | 95 % interval |",
        "|---|---:|---:|---:|---|",
    ]
    for g, s in h.family.items():
        lines.append(
            f"| {GROUPS[g]} | {_n(s.n, marker)} | {_n(s.n_yes, marker)} | {_pct(s.share, marker)}"
            f" | {_ci(s.ci95)} |"
        )
    lines += ["", _ratio_sentence("Children", "adults", h.child_adult_ratio)]
    lines += [_ratio_sentence("Boys", "girls", h.boy_girl_ratio), ""]
    if h.flag_semantics is FlagSemantics.POSITIVE_ONLY:
        lines += [
            "Flags in this release are positive-only: a blank means *not recorded*, not *no*. "
            "Shares below are of the cases in the group with at least one item of the table "
            "recorded (the number is given), each group in order of its own shares.",
            "",
        ]
    for name, rows in h.tables.items():
        children, adults = h.top(name, "children"), h.top(name, "adults")
        n_c = next((r.children.n for r in rows if r.children.n is not None), None)
        n_a = next((r.adults.n for r in rows if r.adults.n is not None), None)
        lines += [
            f"## Most common {name}",
            "",
            f"| rank | children (of {_n(n_c, marker)} with it recorded) | share "
            f"| adults (of {_n(n_a, marker)} with it recorded) | share |",
            "|---:|---|---:|---|---:|",
        ]
        for i in range(max(len(children), len(adults))):
            c = children[i] if i < len(children) else None
            a = adults[i] if i < len(adults) else None
            lines.append(
                f"| {i + 1} | {c.label if c else ''} | "
                f"{_pct(c.children.share, marker) if c else ''} | {a.label if a else ''} | "
                f"{_pct(a.adults.share, marker) if a else ''} |"
            )
        lines.append("")
    return "\n".join(lines)


def _ratio_sentence(a: str, b: str, r: Ratio) -> str:
    if r.ratio is None or r.ci95 is None:
        return f"{a} vs {b}: ratio not shown ({r.note})."
    return (
        f"{a} with a known recruiter were recruited by family {r.ratio:.1f} times as often as "
        f"{b} (95 % interval {r.ci95[0]:.1f} to {r.ci95[1]:.1f})."
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _n(x: int | None, marker: str) -> str:
    return marker if x is None else f"{x:,}"


def _pct(x: float | None, marker: str) -> str:
    return marker if x is None else f"{x:.1%}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"{ci[0]:.1%} to {ci[1]:.1%}"
