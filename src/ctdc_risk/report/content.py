"""The report's summary sentences, in plain words a non-statistician reads correctly.

Sentences are generated from the factor table with a fixed vocabulary: they speak of cases
that were identified and of associations ("were more often", "went with"), never of causes or
of predicting what happens to a person. Only levels labelled risk or protective are described
as such; unclear levels are never given a direction.
"""

from __future__ import annotations

import math

from ctdc_risk.factors.factor_rows import FactorRow
from ctdc_risk.report.caveats import caution_sentences

# cli.console imports short_phrase and study_cautions from here.
from ctdc_risk.report.caveats import study_cautions as study_cautions
from ctdc_risk.report.inputs import ReportInputs
from ctdc_risk.report.phrases import level_phrase
from ctdc_risk.report.phrases import short_phrase as short_phrase

# Words a generated sentence may never use (tested): causal claims or individual prediction.
FORBIDDEN_WORDS = (
    "cause",
    "causes",
    "caused",
    "leads to",
    "because",
    "predicts whether",
    "will be",
)


def _odds_words(ratio: float) -> str:
    """An odds ratio in words: "about 2.5 times the odds", "about 40% lower odds"."""
    if ratio >= 1.95:
        return f"about {ratio:.1f} times the odds"
    if ratio >= 1.0:
        return f"about {ratio - 1:.0%} higher odds"
    if ratio <= 0.51:
        return f"about {ratio:.0%} of the odds"
    return f"about {1 - ratio:.0%} lower odds"


def _auc_words(auc: float) -> str:
    if auc >= 0.8:
        return "well"
    if auc >= 0.7:
        return "moderately well"
    if auc >= 0.6:
        return "weakly"
    return "barely better than chance"


def factor_sentence(row: FactorRow, outcome_words: str, *, positive_only: bool) -> str:
    """One sentence about a labelled factor level (risk or protective only)."""
    if row.label not in ("risk", "protective"):
        raise ValueError("only labelled levels get a sentence")
    what = level_phrase(row.factor, row.level, positive_only=positive_only)
    ref = level_phrase(row.factor, row.reference_level, positive_only=positive_only)
    direction = "higher" if row.label == "risk" else "lower"
    odds = row.adjusted_or if row.adjusted_or is not None else float("nan")
    interval = (
        f", 95 % interval {row.adjusted_or_low:.2f}-{row.adjusted_or_high:.2f}"
        if row.adjusted_or_low is not None and row.adjusted_or_high is not None
        else ""
    )
    shares = (
        f"; {row.share_with:.0%} of them were, against {row.share_without:.0%} of all other cases"
        if row.share_with is not None and row.share_without is not None
        else ""
    )
    return (
        f"Cases {what} had {direction} odds of being {outcome_words} than cases {ref} "
        f"({_odds_words(odds)}, with the other factors taken into account; odds ratio "
        f"{odds:.2f}{interval}{shares})."
    )


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_word(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else f"{n:,}"


_HELD_OUT_WORDS = {
    "default": "on cases held out while the profiles were learnt",
    "country": "in countries whose cases were held out while the profiles were learnt",
    "temporal": "on cases registered later than those the profiles were learnt on",
}

_OTHER_WORDS = {
    "default": "on the study's folds",
    "country": "with folds grouped by country",
    "temporal": "in later years",
}


def targeting_sentence(inputs: ReportInputs) -> str | None:
    """What a program reaching the top profiles would reach, on held-out cases.

    Quotes the most conservative of the ways cases were held out (the study's folds, folds
    grouped by country, later years); says plainly that the table sets no profile apart when
    the top profiles hold every case.
    """
    table = inputs.targeting
    if table is None:
        return None
    if len(table.rows) == 1:
        return (
            "No profile of characteristics visible before recruitment stood out: the cases "
            f"{inputs.question.outcome_words} were spread across profiles like the cohort as a "
            "whole."
        )
    lowest = table.most_conservative()
    where = _HELD_OUT_WORDS.get(lowest.scheme, lowest.scheme)
    if lowest.holds_every_case or lowest.coverage is None or lowest.share is None:
        return (
            "No profile could be set apart from the rest when measured "
            f"{where}: the profiles at the top of the targeting table hold every case there, "
            "so the table does not say whom a program should reach first."
        )
    which = "profile" if lowest.top == 1 else f"{_count_word(lowest.top)} profiles"
    others = [
        f"{s.lift:.2f} {_OTHER_WORDS.get(s.scheme, s.scheme)}"
        for s in table.schemes
        if s is not lowest and s.lift is not None and not s.holds_every_case
    ]
    also = f"; {', '.join(others)}" if others else ""
    lowest_words = ", the lowest of the ways it was measured" if others else ""
    return (
        f"A program reaching the {which} at the top of the targeting table would reach about "
        f"{lowest.coverage:.0%} of the '{inputs.question.cohort_name}' cases "
        f"{inputs.question.outcome_words}, "
        f"while those profiles are {lowest.share:.0%} of the '{inputs.question.cohort_name}' cases "
        f"studied: a lift of {lowest.coverage / lowest.share:.2f} (measured {where}"
        f"{lowest_words}{also})."
    )


def summary_sentences(inputs: ReportInputs) -> list[str]:
    """At most ten sentences: question, cohort, main factors with sizes, reliability, framing."""
    positive_only = inputs.cases.data.flag_semantics == "positive_only"
    share = inputs.cases.n_positive / inputs.cases.n_cases
    known = f" with the {inputs.question.eligibility}" if inputs.question.eligibility else ""
    who = (
        f"{inputs.cases.n_cases:,} generated cases (demonstration data, not CTDC records)"
        if inputs.cases.data.generated
        else f"{inputs.cases.n_cases:,} identified victims"
    )
    sentences = [
        f"This study looks at {who} in the '{inputs.question.cohort_name}' cohort{known} and asks "
        "which "
        f"case characteristics went with being {inputs.question.outcome_words}: {share:.0%} of "
        "them were.",
        *caution_sentences(inputs),
    ]
    risk = [r for r in inputs.factors.rows if r.label == "risk"][:3]
    protective = [r for r in inputs.factors.rows if r.label == "protective"][:3]
    for row in risk + protective:
        sentences.append(
            factor_sentence(row, inputs.question.outcome_words, positive_only=positive_only)
        )
    if not risk and not protective:
        sentences.append(
            "No factor met the rule for being called a risk or protective factor; the factor "
            "table shows what was found and how uncertain it is."
        )
    closing = [auc_sentence(inputs)]
    targeting = targeting_sentence(inputs)
    if targeting:
        closing.append(targeting)
    among = "generated cases" if inputs.cases.data.generated else "identified victims"
    closing.append(
        f"These are associations among {among}, not causes, and they say nothing certain "
        "about any one person."
    )
    # At most ten: factor sentences give way first, the closing ones always stay.
    return sentences[: 10 - len(closing)] + closing


_NOT_A_CASE = ("unknown", "other (fewer than k cases)", "not recorded")


def lead_factor_rows(rows: tuple[FactorRow, ...], *, n_others: int = 10) -> list[FactorRow]:
    """The rows a reader sees first: every labelled level, then the strongest others.

    "Strongest" means the factors the model relied on most (rank), and within a factor the
    odds ratio furthest from 1; unknown, pooled, suppressed and not estimable levels are left
    to the full table.
    """
    labelled = [r for r in rows if r.label in ("risk", "protective")]
    others = [
        r for r in rows if r.label == "unclear" and r.adjusted_or and r.level not in _NOT_A_CASE
    ]
    others.sort(
        key=lambda r: (
            r.rank if r.rank is not None else float("inf"),
            -abs(math.log(r.adjusted_or or 1.0)),
        )
    )
    return labelled + others[:n_others]


def auc_sentence(inputs: ReportInputs) -> str:
    """How well the factors separate the groups, quoting the most conservative held-out AUC."""
    default = inputs.models.cv[inputs.models.primary_model]["roc_auc_mean"]
    candidates = [(default, "on held-out cases like the training ones")]
    words = {"country": "in countries the model was not trained on", "temporal": "in later years"}
    for kind, score in inputs.models.transport.items():
        if score.roc_auc is not None:
            candidates.append((float(score.roc_auc), words.get(kind, kind)))
    auc, where = min(candidates, key=lambda c: c[0])
    others = ", ".join(f"{a:.2f} {w}" for a, w in candidates if (a, w) != (auc, where))
    also = f"; {others}" if others else ""
    return (
        f"Taken together, these factors separate the two groups {_auc_words(auc)} (ROC AUC "
        f"{auc:.2f} {where}, the lowest of the ways it was scored{also}; 0.5 would mean no "
        "better than chance)."
    )
