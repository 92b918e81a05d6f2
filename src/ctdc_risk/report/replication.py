"""The replication report: one study across releases, in words, tables and forest plots.

Renders a :class:`~ctdc_risk.replication.ReplicationTable` and the releases it compares as
Markdown, one self-contained HTML page and one forest plot per labelled factor (a factor with a
level labelled risk or protective in any release). Everything shown is already an aggregate of
the releases' own published factor tables: no count under the privacy floor k.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ctdc_risk.privacy import Floor
from ctdc_risk.replication import (
    ABSENT,
    CANNOT_TEST,
    DIRECTION_DIFFERS,
    ESTIMATED,
    FACTOR_ABSENT,
    IS_REFERENCE,
    NOT_ESTIMABLE,
    OTHER_REFERENCE,
    REFERENCE,
    REPLICATES,
    SAME_DIRECTION,
    SUPPRESSED,
    ReleaseEstimate,
    ReleaseSummary,
    ReplicationRow,
    ReplicationTable,
)
from ctdc_risk.report import figures
from ctdc_risk.report.markup import Section, sections_html, sections_markdown

VERDICT_WORDS = {
    REPLICATES: "the odds ratio is on the same side of 1 in every release where it could be "
    "estimated (at least two), and each release's 95 % interval excludes 1.",
    SAME_DIRECTION: "the odds ratios all lie on the same side of 1, but in at least one release "
    "the interval includes 1: consistent, not confirmed everywhere.",
    DIRECTION_DIFFERS: "the odds ratio is above 1 in some releases and below 1 in others: the "
    "finding does not replicate.",
    CANNOT_TEST: "fewer than two releases give an estimate (the level is absent, suppressed "
    "under the privacy floor, not estimable, or compared with another reference there), or the "
    "level describes what was recorded rather than the case (unknown, pooled rare levels). The "
    "reason says which.",
    REFERENCE: "the level the factor's other levels are compared with (odds ratio 1).",
}
COLUMN_WORDS = (
    "factor level / compared with: the level and its factor's reference level. The reference is "
    "the first release's, pinned for every other release, so each column compares the same two "
    "groups.",
    "one column per release: the adjusted odds ratio of the level against the reference with "
    "its 95 % interval (Firth logistic regression holding the study's other covariates fixed; "
    "interval clustered on identical records), or why there is none.",
    "pooled: the releases' log odds ratios combined by DerSimonian-Laird random effects, which "
    "widens the interval when releases disagree (one release: its own estimate).",
    "Q (p): Cochran's Q, how far the releases' estimates are from one another given their "
    "intervals, and the chance of a Q this large if they estimated the same quantity.",
    "I²: the share of the spread between releases beyond chance (0 % = all agree within their "
    "uncertainty; above 50 % = they disagree about the size).",
    "verdict and why: see below.",
)
STATUS_WORDS = {
    ABSENT: "absent",
    FACTOR_ABSENT: "factor absent",
    SUPPRESSED: "suppressed",
    NOT_ESTIMABLE: "not estimable",
    OTHER_REFERENCE: "other reference",
    IS_REFERENCE: "reference",
}


@dataclass(frozen=True)
class RenderedReplication:
    html: str
    markdown: str
    figures: dict[str, bytes]
    """file name -> PNG bytes (written to figures/ for the Markdown version)."""


def _ci(e: ReleaseEstimate) -> str:
    if e.status == ESTIMATED and e.odds_ratio is not None:
        return f"{_num(e.odds_ratio)} [{_num(e.low)}-{_num(e.high)}]"
    if e.status == OTHER_REFERENCE and e.odds_ratio is not None:
        return f"other reference ({_num(e.odds_ratio)})"
    return STATUS_WORDS.get(e.status, e.status)


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _pooled(row: ReplicationRow) -> list[str]:
    p = row.pooled
    if p is None:
        return ["", "", ""]
    q = "" if p.q is None or p.q_p is None else f"{p.q:.2f} ({p.q_p:.2g})"
    i2 = "" if p.i2 is None else f"{p.i2:.0%}"
    return [f"{_num(p.odds_ratio)} [{_num(p.low)}-{_num(p.high)}]", q, i2]


def _verdict(row: ReplicationRow) -> str:
    return row.verdict if row.verdict == REFERENCE else f"{row.verdict}: {row.reason}"


def slug(factor: str) -> str:
    """A file-name-safe form of a factor name."""
    return re.sub(r"[^a-z0-9_]+", "_", factor.lower()).strip("_") or "factor"


def labelled_factors(table: ReplicationTable) -> list[str]:
    """Factors with a level labelled risk or protective in at least one release."""
    out: list[str] = []
    for row in table.rows:
        if row.factor in out:
            continue
        if any(e.label in ("risk", "protective") for e in row.estimates):
            out.append(row.factor)
    return out


def build_forest_figures(table: ReplicationTable) -> dict[str, bytes]:
    """``replication_<factor>.png`` per labelled factor: its levels across releases."""
    out = {}
    for factor in labelled_factors(table):
        rows = [r for r in table.rows if r.factor == factor and r.verdict != REFERENCE]
        rows = [r for r in rows if any(e.status == ESTIMATED for e in r.estimates)]
        if not rows:
            continue
        estimates = [
            [
                (e.odds_ratio, e.low, e.high)
                if e.status == ESTIMATED and e.odds_ratio and e.low and e.high
                else None
                for e in r.estimates
            ]
            for r in rows
        ]
        # One release's "pooled" estimate is that release's own: not drawn twice.
        pooled = [
            (r.pooled.odds_ratio, r.pooled.low, r.pooled.high)
            if r.pooled is not None and r.pooled.q is not None
            else None
            for r in rows
        ]
        title = f"{rows[0].factor_label}: each level vs {rows[0].reference_level}, per release"
        out[f"replication_{slug(factor)}.png"] = figures.release_forest_plot(
            [r.level for r in rows],
            estimates,
            pooled,
            list(table.releases),
            title=title,
        )
    return out


def _sections(
    table: ReplicationTable,
    releases: Sequence[ReleaseSummary],
    study: dict[str, str],
    figs: dict[str, bytes],
) -> list[Section]:
    k = table.k
    counts = table.counts()
    n_levels = sum(counts.values())
    summary = [
        f"The same study ({study['description']}; cohort {study['cohort']}; covariates from "
        f"feature set {study['features']}; models {study['models']}) was run on "
        f"{len(releases)} files. Each factor level's adjusted odds ratio against the same "
        "reference level is set side by side, pooled, and judged.",
        f"{n_levels} factor levels compared: "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
        + ".",
    ]
    for row in table.rows:
        if row.verdict in (REPLICATES, DIRECTION_DIFFERS):
            summary.append(f"{row.display} (vs {row.reference_level}): {row.verdict}.")
    release_rows = [
        [
            r.name, r.file, r.release_label,
            "yes only (blank = not recorded)" if r.flag_semantics == "positive_only"
            else "yes / no / unknown",
            f"{r.n_cases:,}" if r.n_cases is not None else Floor(k).marker,
            f"{r.n_outcome:,}" if r.n_outcome is not None else "suppressed",
            r.folder,
        ]
        for r in releases
    ]  # fmt: skip
    header = [
        "factor level", "compared with",
        *[f"{name}: OR [95 % CI]" for name in table.releases],
        "pooled OR [95 % CI]", "Q (p)", "I²", "verdict",
    ]  # fmt: skip
    body = [
        [row.display, row.reference_level, *[_ci(e) for e in row.estimates], *_pooled(row),
         _verdict(row)]
        for row in table.rows
    ]  # fmt: skip
    blocks: list[tuple[str, Any]] = [
        ("p", "Each file's own study, with its full report, is in the folder named in the "
              "table."),
        ("table", (["release", "file", "layout", "yes/no items", "cases in the study",
                    "with the outcome", "folder"], release_rows)),
    ]  # fmt: skip
    moved = [
        f"{r.name}: {factor} {why}" for r in releases for factor, why in r.other_reference.items()
    ]
    if moved:
        blocks += [("p", "Reference levels that could not be pinned:"), ("ul", moved)]
    sections: list[Section] = [
        ("summary", "Summary", [("ul", summary)]),
        ("releases", "Releases", blocks),
        ("table", "Replication table", [("table", (header, body))]),
    ]
    if figs:
        images: list[tuple[str, Any]] = [
            ("p", "One chart per factor with a level labelled risk or protective in any release: "
                  "each release's odds ratio and 95 % interval side by side (one colour per "
                  "release), the pooled estimate as a black diamond. Right of the dashed line: "
                  "higher odds of the outcome than the reference level."),
        ]  # fmt: skip
        images += [("img", (name, f"forest plot of {name[12:-4]} per release")) for name in figs]
        sections.append(("forest", "Side by side", images))
    sections.append((
        "reading", "How to read the table",
        [("ul", list(COLUMN_WORDS)),
         ("ul", [f"{verdict}: {words}" for verdict, words in VERDICT_WORDS.items()])],
    ))  # fmt: skip
    sections.append(("caveats", "What replication here can and cannot show", [("ul", CAVEATS)]))
    return sections


CAVEATS = [
    "CTDC releases are not independent samples: later vintages contain earlier records, and the "
    "synthetic releases are generated from the same registry. Agreement between releases is "
    "partly built in, and the pooled interval is narrower than independent evidence would "
    "give. Read 'replicates' as 'holds across releases and layouts', not as confirmation by "
    "new data.",
    "Layouts differ in what they can hold. The 2024-2026 synthetic layout has no majority "
    "status, so children are found by age band only; its means-of-control items are merged; "
    "synthetic releases record yes/no items only when yes. A difference between releases can "
    "come from the layout rather than from the cases.",
    "Each release's interval is its own 95 % interval, not adjusted for the many levels "
    "compared; the releases' own labels (risk, protective), which do require a Holm or BH "
    "adjusted q-value, SHAP agreement and bootstrap stability, are in each release's report.",
    "CTDC holds records of identified victims, not a sample of any population: a factor "
    "describes who was identified and how, not who is at risk of being trafficked.",
    "Every count rests on at least k cases; smaller cells are suppressed (<k) in every release.",
]


def render_replication(
    table: ReplicationTable, releases: Sequence[ReleaseSummary], study: dict[str, str]
) -> RenderedReplication:
    """The replication report as Markdown and self-contained HTML, with its forest plots.

    ``study`` names what was run: ``title``, ``description``, ``cohort``, ``features``,
    ``models``.
    """
    figs = build_forest_figures(table)
    sections = _sections(table, releases, study, figs)
    title = study["title"]
    return RenderedReplication(
        sections_html(title, sections, figs), sections_markdown(title, sections), figs
    )
