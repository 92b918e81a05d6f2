"""The report's effect-modification sections: "Does it differ for boys and girls?".

One section per modifier the study tested (or skipped, saying why): plain sentences naming the
interactions that hold, what the test means, and the table of every tested level. The words
follow the report's vocabulary: associations among identified victims ("went with"), never
causes; a difference that does not hold is never described as an absence of difference.
"""

from __future__ import annotations

import math
from typing import Any

from ctdc_risk.factors.interaction_table import InteractionRow, InteractionTable, ModifierSummary
from ctdc_risk.report.phrases import level_phrase, short_phrase

Block = tuple[str, Any]
_CORRECTION = {"holm": "Holm's correction", "bh": "the Benjamini-Hochberg correction"}


def _or(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "suppressed"
    if low is None or high is None:
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}-{high:.2f}]"


def section_title(mod: ModifierSummary) -> str:
    """ "Does it differ for boys and girls?" """
    return f"Does it differ for {mod.group_words} and {mod.comparison_words}?"


def difference_sentence(row: InteractionRow, mod: ModifierSummary, outcome_words: str) -> str:
    """One sentence about an interaction that holds."""
    if row.result != "holds" or row.ratio_of_or is None:
        raise ValueError("only interactions that hold get a sentence")
    g, c = mod.group_words, mod.comparison_words
    assert row.or_group is not None and row.or_comparison is not None
    what = level_phrase(row.factor, row.level)
    ref = level_phrase(row.factor, row.reference_level)
    lg, lc = math.log(row.or_group), math.log(row.or_comparison)
    figures = (
        f"odds ratio {row.or_group:.2f} for {g} against {row.or_comparison:.2f} for {c}; ratio "
        f"of the two odds ratios {row.ratio_of_or:.2f} (95 % interval {row.ratio_low:.2f}-"
        f"{row.ratio_high:.2f}, q = {row.q_value:.2g})"
    )
    if lg * lc > 0:
        odds = "higher" if lg > 0 else "lower"
        more = "more strongly" if abs(lg) > abs(lc) else "less strongly"
        return (
            f"For {g}, cases {what} (compared with cases {ref}) went with {odds} odds of being "
            f"{outcome_words} {more} than for {c}: {figures}."
        )
    odds = "higher" if lg > lc else "lower"
    return (
        f"For {g}, cases {what} (compared with cases {ref}) went with {odds} odds of being "
        f"{outcome_words}, unlike for {c}: {figures}."
    )


def meaning(mod: ModifierSummary, table: InteractionTable) -> str:
    """What the interaction test asks and how to read it."""
    g, c = mod.group_words, mod.comparison_words
    return (
        f"What the test asks: among the cases recorded as {g} or {c}, one model lets a "
        f"level's odds ratio differ between {g} and {c}, with the other factors taken into "
        "account, and asks whether that fits the cases better than one odds ratio for both by "
        "more than chance alone would (a penalised likelihood-ratio test, widened for repeated "
        f"records, with {_CORRECTION[table.rule.multiplicity]} across every such test of the "
        f"study). The ratio of odds ratios is the odds ratio for {g} divided by the one for "
        f"{c}: 1 means the level went with the outcome alike in both groups. An interaction "
        f"holds when its q is below {table.rule.alpha:g} and the ratio's 95 % interval excludes "
        "1. One that does not hold is not shown to be absent: with few cases in a group, a "
        "real difference can go unseen. Labels that differ between separate studies of each "
        "group are not a test of a difference: the smaller group has the wider intervals."
    )


def difference_blocks(
    mod: ModifierSummary, table: InteractionTable, outcome_words: str
) -> list[Block]:
    """Sentences, the meaning of the test and the table for one modifier."""
    g, c = mod.group_words, mod.comparison_words
    if mod.skipped:
        return [("p", f"Not tested: {mod.skipped}.")]
    rows = [r for r in table.rows if r.modifier == mod.name]
    holding = [r for r in rows if r.result == "holds"]
    tested = [r for r in rows if r.q_value is not None]
    blocks: list[Block] = []
    if holding:
        blocks.append(("ul", [difference_sentence(r, mod, outcome_words) for r in holding]))
    elif tested:
        n = len(tested)
        which = "the one level tested" if n == 1 else f"each of the {n} levels tested"
        blocks.append((
            "p", f"No difference between {g} and {c} held: for {which}, the difference between "
                 f"the odds ratios among {g} and among {c} was within what chance alone could "
                 "give.",
        ))  # fmt: skip
    else:
        what = (
            "no level was labelled risk or protective"
            if table.levels == "labelled" and not rows
            else f"no level had at least {table.k} cases with and without the outcome in each group"
        )
        blocks.append(("p", f"No level could be tested: {what}."))
    blocks.append(("p", meaning(mod, table)))
    if rows:
        header = [
            "factor level", "compared with", f"odds ratio, {g} [95 % CI]",
            f"odds ratio, {c} [95 % CI]", "ratio [95 % CI]", "q", "result", "why",
        ]  # fmt: skip
        body = [
            [
                short_phrase(r.factor, r.level),
                short_phrase(r.factor, r.reference_level),
                _or(r.or_group, r.or_group_low, r.or_group_high),
                _or(r.or_comparison, r.or_comparison_low, r.or_comparison_high),
                _or(r.ratio_of_or, r.ratio_low, r.ratio_high),
                "" if r.q_value is None else f"{r.q_value:.2g}",
                r.result,
                r.reason,
            ]
            for r in rows
        ]
        blocks.append(("table", (header, body)))
        blocks.append(("p", "Figures in interactions.csv and interactions.json."))
    return blocks


def difference_sections(
    table: InteractionTable | None, outcome_words: str
) -> list[tuple[str, str, list[Block]]]:
    """One report section per modifier: (id, title, blocks)."""
    if table is None:
        return []
    return [
        (f"differ-{mod.name}", section_title(mod), difference_blocks(mod, table, outcome_words))
        for mod in table.modifiers
    ]
