"""What the report says, in plain words a non-statistician reads correctly.

Sentences are generated from the factor table with a fixed vocabulary: they speak of cases
that were identified and of associations ("were more often", "went with"), never of causes or
of predicting what happens to a person. Only levels labelled risk or protective are described
as such; unclear levels are never given a direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ctdc_risk.data.report import DataReport
from ctdc_risk.evaluate import ReliabilityBin
from ctdc_risk.features import DOMV_LEVELS, FACTORS
from ctdc_risk.targeting.table import TargetingTable

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

_DOMV_WORDS = {
    "individual": "individual",
    "household_family": "household and family",
    "community": "community",
    "structural": "structural",
}


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report needs, already aggregated and privacy-checked."""

    title: str
    outcome_words: str
    target_description: str
    cohort_name: str
    cohort_description: str
    n_cases: int
    n_positive: int
    k: int
    data: DataReport
    factor_rows: tuple[dict[str, Any], ...]
    cv: dict[str, dict[str, float]]
    baseline: dict[str, float]
    reliability: dict[str, tuple[ReliabilityBin, ...]]
    subgroups: tuple[dict[str, Any], ...]
    flow: tuple[tuple[str, int], ...]
    primary_model: str
    n_boot: int
    min_sign_agreement: float
    n_splits: int
    settings: dict[str, Any]
    version: str
    created: str
    run_id: str
    eligibility: str = ""
    """The rules that make the outcome known, in words ("recruiter relation recorded")."""
    reference_shares: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    """Group -> (n_known, n_yes) for children and adults when the outcome is family recruitment."""
    targeting: TargetingTable | None = None
    """Prevention-targeting profiles with held-out figures, when the study learnt them."""


_VERB_LABELS = ("recruited", "trafficked")
_GENDER_WORDS = {
    "female": "female",
    "male": "male",
    "trans_nonconforming": "transgender or gender non-conforming",
}


def level_phrase(factor: str, level: str, *, positive_only: bool = False) -> str:
    """A factor level as it completes "cases ...": "of victims aged 0-8", "with false promises".

    Examples
    --------
    >>> level_phrase("age_band", "0--8"), level_phrase("cross_border", "yes")
    ('of victims aged 0-8', 'trafficked across a border')
    """
    f = FACTORS[factor]
    if level == "unknown":
        return f"with {f.label} not known"
    if f.kind in ("flag", "binary"):
        verb = f.label.startswith(_VERB_LABELS)
        base = f.label if verb else f"with {f.label}"
        if level == "yes":
            return base
        if level == "recorded":
            return f"{base} (recorded)"
        if level == "no":
            return f"not {f.label}" if verb else f"without {f.label}"
        return f"{base} not recorded" if verb else f"with {f.label} not recorded"
    text = level.replace("--", "-").replace("_", " ")
    templates = {
        "age_band": "of victims aged {}",
        "citizenship_subregion": "of citizens of {}",
        "exploitation_subregion": "exploited in {}",
        "registration_period": "registered {}",
        "trafficking_months": "with {} months in trafficking",
        "datasource": "registered by {}",
    }
    if factor == "gender":
        return f"of {_GENDER_WORDS.get(level, text)} victims"
    return templates.get(factor, f.label + ": {}").format(text)


def short_phrase(factor: str, level: str) -> str:
    """The level phrase without its leading preposition, for labels and tables."""
    phrase = level_phrase(factor, level)
    return phrase.removeprefix("of ").removeprefix("with ")


def _ratio_words(ratio: float) -> str:
    """How much more or less often, ending in its connective ("as" / "than")."""
    if ratio >= 1.95:
        return f"about {ratio:.1f} times as often as"
    if ratio >= 1.0:
        return f"about {ratio - 1:.0%} more often than"
    if ratio <= 0.51:
        return f"about {1 / ratio:.1f} times less often than"
    return f"about {1 - ratio:.0%} less often than"


def _auc_words(auc: float) -> str:
    if auc >= 0.8:
        return "well"
    if auc >= 0.7:
        return "moderately well"
    if auc >= 0.6:
        return "weakly"
    return "barely better than chance"


def factor_sentence(row: dict[str, Any], outcome_words: str, *, positive_only: bool) -> str:
    """One sentence about a labelled factor level (risk or protective only)."""
    if row["label"] not in ("risk", "protective"):
        raise ValueError("only labelled levels get a sentence")
    what = level_phrase(row["factor"], row["level"], positive_only=positive_only)
    ref = level_phrase(row["factor"], row["reference_level"], positive_only=positive_only)
    crude, share_with, share_without = row["crude_pr"], row["share_with"], row["share_without"]
    agrees = crude is not None and (crude > 1) == (row["label"] == "risk")
    if agrees and share_with is not None and share_without is not None:
        return (
            f"Cases {what} were {outcome_words} {_ratio_words(crude)} other cases "
            f"({share_with:.0%} vs {share_without:.0%})."
        )
    direction = "higher" if row["label"] == "risk" else "lower"
    return (
        f"Once the other factors are taken into account, cases {what} had {direction} odds of "
        f"being {outcome_words} than cases {ref} (odds ratio {row['adjusted_or']:.2f})."
    )


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count_word(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else f"{n:,}"


def targeting_sentence(inputs: ReportInputs) -> str | None:
    """What a program reaching the top profiles would reach, on held-out cases."""
    table = inputs.targeting
    if table is None:
        return None
    if len(table.rows) == 1:
        return (
            "No profile of characteristics visible before recruitment stood out: the cases "
            f"{inputs.outcome_words} were spread across profiles like the cohort as a whole."
        )
    top, coverage, share, _ = table.top_point()
    which = "profile" if top == 1 else f"{_count_word(top)} profiles"
    return (
        f"A program reaching the {which} at the top of the targeting table would reach about "
        f"{coverage:.0%} of the '{inputs.cohort_name}' cases {inputs.outcome_words}, while "
        f"those profiles are {share:.0%} of the '{inputs.cohort_name}' cases studied (measured "
        "on cases held out while the profiles were learnt)."
    )


def targeting_caveats(inputs: ReportInputs) -> list[str]:
    """What the targeting figures cannot say."""
    table = inputs.targeting
    if table is None:
        return []
    factors = ", ".join(FACTORS[f].label for f in table.factors)
    items = [
        "CTDC holds identified victims only: a profile describes where cases were found and "
        "recorded, not who is at risk in a population, and its rate is a share of identified "
        "cases.",
        "Profiles are for deciding where prevention work goes, never for screening or "
        "judging any one person.",
        f"Profiles use only characteristics visible before recruitment ({factors}), at most "
        f"{table.spec.max_depth} at a time.",
    ]
    if table.left_out:
        left = ", ".join(FACTORS[f].label for f in table.left_out)
        items.append(f"Left out: {left} (would reveal the outcome, or not recorded here).")
    stable = sum(r.folds_found == table.folds for r in table.rows)
    items.append(
        f"Held-out figures: the profiles were learnt {table.folds} times, each time without "
        f"one fold of cases, and measured on that fold. {stable} of {len(table.rows)} "
        "profiles were learnt again every time; a profile learnt again less often rests more "
        "on chance, and one never learnt again has no held-out figures."
    )
    items.append(
        f"Every profile holds at least {table.min_size} cases, and at least {inputs.k} with and "
        f"{inputs.k} without the outcome."
    )
    return items


def summary_sentences(inputs: ReportInputs) -> list[str]:
    """At most ten sentences: question, cohort, main factors with sizes, reliability, framing."""
    positive_only = inputs.data.flag_semantics == "positive_only"
    share = inputs.n_positive / inputs.n_cases
    known = f" with the {inputs.eligibility}" if inputs.eligibility else ""
    sentences = [
        f"This study looks at {inputs.n_cases:,} identified victims in the "
        f"'{inputs.cohort_name}' cohort{known} and asks which case characteristics went with "
        f"being {inputs.outcome_words}: {share:.0%} of them were.",
    ]
    risk = [r for r in inputs.factor_rows if r["label"] == "risk"][:3]
    protective = [r for r in inputs.factor_rows if r["label"] == "protective"][:3]
    for row in risk + protective:
        sentences.append(factor_sentence(row, inputs.outcome_words, positive_only=positive_only))
    if not risk and not protective:
        sentences.append(
            "No factor met the rule for being called a risk or protective factor; the factor "
            "table shows what was found and how uncertain it is."
        )
    auc = inputs.cv[inputs.primary_model]["roc_auc_mean"]
    sd = inputs.cv[inputs.primary_model]["roc_auc_std"]
    sentences.append(
        f"Taken together, these factors separate the two groups {_auc_words(auc)} (ROC AUC "
        f"{auc:.2f} ± {sd:.2f} on cases held out from fitting; 0.5 would mean no better than "
        "chance)."
    )
    targeting = targeting_sentence(inputs)
    if targeting:
        sentences.append(targeting)
    sentences.append(
        "These are associations among identified victims, not causes, and they say nothing "
        "certain about any one person."
    )
    return sentences[:10]


def missing_domv_levels(rows: tuple[dict[str, Any], ...]) -> list[str]:
    """DoMV levels with no factor in the study (what CTDC does not measure here)."""
    present = {r["domv_level"] for r in rows}
    return [_DOMV_WORDS[d] for d in DOMV_LEVELS if d not in present]


def caveats(inputs: ReportInputs) -> list[str]:
    """The "What this data cannot tell you" list."""
    items = [
        "CTDC holds records of identified victims, not a sample of any population. A factor "
        "here describes who was identified and how, not who is at risk of being trafficked.",
        "Exploitation-phase factors (means of control, type of exploitation, sector, time in "
        "trafficking, where and how the case was registered) describe what happened after "
        "recruitment. They are context, not causes.",
        "The DoMV levels CTDC barely measures: most household, family and community "
        "circumstances are not recorded; only the recruiter's relation to the victim speaks "
        "to them.",
    ]
    missing = missing_domv_levels(inputs.factor_rows)
    if missing:
        items.append(f"No factor in this study describes the {', '.join(missing)} level(s).")
    if inputs.data.release_id.startswith("synthetic"):
        items.append(
            "This release is differentially private synthetic data: it keeps the counts of "
            "single characteristics and short combinations, not the longer combinations of "
            "real cases, and its counts are rounded."
        )
    if inputs.data.flag_semantics == "positive_only":
        items.append(
            "Yes/no items in this release are recorded only when yes: a blank means 'not "
            "recorded', never 'no'. A 'recorded' factor may partly reflect how thoroughly a "
            "case was documented."
        )
    items.append(
        f"Every figure rests on at least {inputs.k} cases; smaller cells are suppressed and "
        f"marked <{inputs.k}. Unknown and pooled levels are never called risk or protective."
    )
    return items


REFERENCE_FIGURES = (
    ("IOM/CTDC data brief, Dec 2017 (global data 2017)", 0.41, 0.09),
    ("CTDC data story on age (global synthetic data)", 0.51, 0.08),
)
