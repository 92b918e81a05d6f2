"""What the report says, in plain words a non-statistician reads correctly.

Sentences are generated from the factor table with a fixed vocabulary: they speak of cases
that were identified and of associations ("were more often", "went with"), never of causes or
of predicting what happens to a person. Only levels labelled risk or protective are described
as such; unclear levels are never given a direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ctdc_risk.data.data_report import DataReport
from ctdc_risk.evaluate import ReliabilityBin
from ctdc_risk.factors.interaction_table import InteractionTable
from ctdc_risk.factors.sensitivity import ANALYSES, SensitivityResult
from ctdc_risk.factors.table import ContextRow, FactorRow
from ctdc_risk.features import DOMV_LEVELS, FACTORS
from ctdc_risk.headline import ChildRuleShare
from ctdc_risk.targeting.table import SCHEME_WORDS, TargetingTable

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
    factor_rows: tuple[FactorRow, ...]
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
    transport: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Primary model: ``{"country"|"temporal": {"roc_auc", "ece", "note"}}``."""
    transport_by_model: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    context_rows: tuple[ContextRow, ...] = ()
    """Crude shares of the items recorded after the outcome's phase (never labelled)."""
    dropped: tuple[tuple[str, str], ...] = ()
    """Factors of the feature set left out, with the reason."""
    alpha: float = 0.05
    multiplicity: str = "holm"
    n_distinct_records: int = 0
    child_rule: str = "exploitation"
    sensitivity: SensitivityResult | None = None
    """Labelled levels under other readings of the missing data."""
    child_rules: tuple[ChildRuleShare, ...] = ()
    """The family-recruitment headline under every child rule (family recruitment only)."""
    flow_markers: tuple[str, ...] = ()
    """How each cohort-flow count is shown when withheld (``"<k"`` or ``"suppressed"``), empty
    where published; none given: counts under k are shown ``"<k"``."""
    interactions: InteractionTable | None = None
    """Effect modification tests (boys and girls, age bands), when the study ran them."""


_VERB_LABELS = ("recruited", "trafficked")
_GENDER_WORDS = {
    "female": "female",
    "male": "male",
    "trans_nonconforming": "transgender or gender non-conforming",
}


def level_phrase(factor: str, level: str, *, positive_only: bool = False) -> str:
    """A factor level as it completes "cases ...": "of victims aged 0-8 when registered".

    Examples
    --------
    >>> level_phrase("age_band", "0--8"), level_phrase("cross_border", "yes")
    ('of victims aged 0-8 when registered', 'trafficked across a border')
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
        # Age bands are recorded at registration; under the default child rule a "child" may
        # have been registered as an adult years after being exploited as a minor.
        "age_band": "of victims aged {} when registered",
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
            f"{inputs.outcome_words} were spread across profiles like the cohort as a whole."
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
        f"{lowest.coverage:.0%} of the '{inputs.cohort_name}' cases {inputs.outcome_words}, "
        f"while those profiles are {lowest.share:.0%} of the '{inputs.cohort_name}' cases "
        f"studied: a lift of {lowest.coverage / lowest.share:.2f} (measured {where}"
        f"{lowest_words}{also})."
    )


def hidden_profiles_note(ranks: list[int], inputs: ReportInputs) -> str:
    """Why profiles learnt again have no held-out figures, in words."""
    which = (
        f"Profile {ranks[0]} has"
        if len(ranks) == 1
        else f"Profiles {', '.join(map(str, ranks[:-1]))} and {ranks[-1]} have"
    )
    return (
        f"{which} no held-out figures: among its held-out cases, fewer than {inputs.k} were "
        f"{inputs.outcome_words}, or fewer than {inputs.k} were not. A share, lift or coverage "
        f"resting on so few cases could point at individual survivors, so none is shown; its "
        "cases still count in the cumulative figures."
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
    items.append(
        "Profiles name recorded characteristics only: none is defined by something not being "
        'recorded. A profile that leaves a characteristic out ("not aged 0-8", "children '
        'other than boys") also holds the cases where it was not recorded.'
    )
    stable = sum(r.folds_found == table.folds for r in table.rows)
    items.append(
        f"Held-out figures: the profiles were learnt {table.folds} times, each time without "
        f"one fold of cases, and measured on that fold. {stable} of {len(table.rows)} "
        "profiles were learnt again every time; a profile learnt again less often rests more "
        "on chance, and one never learnt again has no held-out figures."
    )
    moved = table.schemes[1:]
    if moved:
        ways = "; ".join(
            f"{SCHEME_WORDS.get(s.scheme, s.scheme)}: "
            f"{s.note if s.made else 'not measured, ' + s.note}"
            for s in moved
        )
        items.append(
            "Does the targeting travel? The profiles were also learnt without whole countries "
            "of citizenship, and without the later years, and measured on the cases held out "
            f"({ways}). The summary quotes the lowest lift; lift shrinkage is the lift where "
            "the profiles were learnt minus the lift on held-out cases."
        )
    items.append(
        f"Every profile holds at least {table.min_size} cases, and every figure given rests on "
        f"at least {inputs.k} cases with and {inputs.k} without the outcome."
    )
    return items


def summary_sentences(inputs: ReportInputs) -> list[str]:
    """At most ten sentences: question, cohort, main factors with sizes, reliability, framing."""
    positive_only = inputs.data.flag_semantics == "positive_only"
    share = inputs.n_positive / inputs.n_cases
    known = f" with the {inputs.eligibility}" if inputs.eligibility else ""
    who = (
        f"{inputs.n_cases:,} generated cases (demonstration data, not CTDC records)"
        if inputs.data.generated
        else f"{inputs.n_cases:,} identified victims"
    )
    sentences = [
        f"This study looks at {who} in the '{inputs.cohort_name}' cohort{known} and asks which "
        f"case characteristics went with being {inputs.outcome_words}: {share:.0%} of them were.",
        *caution_sentences(inputs),
    ]
    risk = [r for r in inputs.factor_rows if r.label == "risk"][:3]
    protective = [r for r in inputs.factor_rows if r.label == "protective"][:3]
    for row in risk + protective:
        sentences.append(factor_sentence(row, inputs.outcome_words, positive_only=positive_only))
    if not risk and not protective:
        sentences.append(
            "No factor met the rule for being called a risk or protective factor; the factor "
            "table shows what was found and how uncertain it is."
        )
    closing = [auc_sentence(inputs)]
    targeting = targeting_sentence(inputs)
    if targeting:
        closing.append(targeting)
    among = "generated cases" if inputs.data.generated else "identified victims"
    closing.append(
        f"These are associations among {among}, not causes, and they say nothing certain "
        "about any one person."
    )
    # At most ten: factor sentences give way first, the closing ones always stay.
    return sentences[: 10 - len(closing)] + closing


# Below these, a study says plainly that it is small (its intervals are wide and few levels can
# meet the labelling rule).
SMALL_COHORT = 500
SMALL_GROUP = 50


def study_cautions(
    n_cases: int, n_positive: int, auc: float, baseline_auc: float, *, outcome_words: str
) -> list[str]:
    """Plain warnings for a small cohort and for models no better than the baseline.

    Examples
    --------
    >>> study_cautions(145, 67, 0.62, 0.5, outcome_words="recruited by family")[0][:22]
    'This cohort is small: '
    >>> study_cautions(5000, 900, 0.5, 0.5, outcome_words="recruited by family")[0][:42]
    'The models did no better than the baseline'
    """
    out = []
    smaller = min(n_positive, n_cases - n_positive)
    if n_cases < SMALL_COHORT or smaller < SMALL_GROUP:
        out.append(
            f"This cohort is small: {n_cases:,} cases, {n_positive:,} of them "
            f"{outcome_words}. Intervals are wide and few factors can meet the labelling rule; "
            "read the results as a first look, not as findings."
        )
    if auc <= baseline_auc:
        out.append(
            f"The models did no better than the baseline that knows only how common the "
            f"outcome is (ROC AUC {auc:.2f} against {baseline_auc:.2f}): the recorded factors do "
            "not tell these cases apart, so no ranking of factors here should guide a program."
        )
    return out


def caution_sentences(inputs: ReportInputs) -> list[str]:
    """:func:`study_cautions` for this report's primary model."""
    return study_cautions(
        inputs.n_cases,
        inputs.n_positive,
        inputs.cv[inputs.primary_model]["roc_auc_mean"],
        inputs.baseline["roc_auc_mean"],
        outcome_words=inputs.outcome_words,
    )


def banner(inputs: ReportInputs) -> str | None:
    """The line every report of generated data opens with (None for real data)."""
    if not inputs.data.generated:
        return None
    return (
        "Generated demonstration data, not CTDC records. Every figure below comes from the "
        "package's built-in generator, with effects planted to test the method; none describes "
        "real victims, and no published figure is compared with it."
    )


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


def settings_items(settings: dict[str, Any], prefix: str = "") -> list[str]:
    """A nested settings mapping as readable "key: value" lines (dotted keys).

    Examples
    --------
    >>> settings_items({"cohort": {"name": "children"}, "models": ["logistic", "lightgbm"]})
    ['cohort.name: children', 'models: logistic, lightgbm']
    """
    items: list[str] = []
    for key in sorted(settings):
        value = settings[key]
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict) and value:
            items.extend(settings_items(value, f"{name}."))
        elif isinstance(value, list | tuple):
            items.append(f"{name}: {', '.join(map(str, value)) or 'none'}")
        elif value is None or value == {}:
            items.append(f"{name}: not set")
        else:
            items.append(f"{name}: {value}")
    return items


def auc_sentence(inputs: ReportInputs) -> str:
    """How well the factors separate the groups, quoting the most conservative held-out AUC."""
    default = inputs.cv[inputs.primary_model]["roc_auc_mean"]
    candidates = [(default, "on held-out cases like the training ones")]
    words = {"country": "in countries the model was not trained on", "temporal": "in later years"}
    for kind, score in inputs.transport.items():
        if score.get("roc_auc") is not None:
            candidates.append((float(score["roc_auc"]), words.get(kind, kind)))
    auc, where = min(candidates, key=lambda c: c[0])
    others = ", ".join(f"{a:.2f} {w}" for a, w in candidates if (a, w) != (auc, where))
    also = f"; {others}" if others else ""
    return (
        f"Taken together, these factors separate the two groups {_auc_words(auc)} (ROC AUC "
        f"{auc:.2f} {where}, the lowest of the ways it was scored{also}; 0.5 would mean no "
        "better than chance)."
    )


def method_notes(inputs: ReportInputs) -> list[str]:
    """The labelling rule, references, duplicates and multiplicity in plain words."""
    correction = (
        "Holm's correction (it keeps the chance of even one false label across the whole table "
        f"under {inputs.alpha:.0%})"
        if inputs.multiplicity == "holm"
        else "the Benjamini-Hochberg correction (it keeps the expected share of false labels "
        f"among the labelled levels under {inputs.alpha:.0%})"
    )
    duplicates = (
        f"The {inputs.n_cases:,} cases are {inputs.n_distinct_records:,} distinct records: "
        if inputs.n_distinct_records and inputs.n_distinct_records < inputs.n_cases
        else ""
    )
    return [
        "Labelling rule: a level is called a risk (protective) factor only when its adjusted "
        "odds ratio's 95 % interval lies above (below) 1, it still passes after correcting for "
        f"the number of levels tested (q below {inputs.alpha:g}), the model's SHAP values point "
        "the same way against the same reference level, and the odds ratio stays on the same "
        f"side of 1 in at least {inputs.min_sign_agreement:.0%} of the bootstrap refits. "
        "Unknown, 'not recorded' and pooled levels, and items recorded after the outcome's "
        "phase, are never labelled.",
        "Reference levels: each factor's levels are compared with one reference level, printed "
        "in the 'compared with' column: 'no' (or 'not recorded') for a yes/no item, otherwise "
        f"the largest level with at least {inputs.k} cases with and {inputs.k} without the "
        "outcome (a setting can choose another). No level is ever merged into another; a "
        "level where every case has the same outcome is estimated with Firth's penalised "
        "regression, which keeps the estimate finite.",
        f"Repeated records: {duplicates}copies of one record are counted as one piece of "
        "evidence. Cross-validation keeps copies on one side of every split, intervals are "
        "widened for them (clustered on identical records), and the bootstrap draws or leaves "
        "out all copies of a record together.",
        f"Many levels are tested at once, so some would look significant by chance; q is each "
        f"level's p-value after {correction}.",
        "Bootstrap interval: the range of the odds ratio over refits of the whole analysis "
        "(levels, reference, models) on resampled records; beside the model's own interval.",
        "E-value: how strongly a factor nobody measured would have to go with both the level "
        "and the outcome (as a risk ratio, beyond the factors in the model) to explain the "
        "association away; the second E-value is for the interval's limit nearest 1. Large "
        "E-values mean only a strong hidden factor could explain the finding.",
    ]


def missing_domv_levels(rows: tuple[FactorRow, ...]) -> list[str]:
    """DoMV levels with no factor in the study (what CTDC does not measure here)."""
    present = {r.domv_level for r in rows}
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


CHILD_RULE_WORDS = {
    "exploitation": "a minor when exploited (where recorded; else at registration)",
    "registration": "a minor when registered",
    "either": "a minor by either rule",
}


def headline_differences(inputs: ReportInputs) -> list[str]:
    """Why this study's headline differs from the published figures, in plain words."""
    ours = next((c for c in inputs.child_rules if c.rule == inputs.child_rule), None)
    recorded = (
        f" Here the recruiter's relation is recorded for {ours.children_recorded_share:.0%} of "
        "the children; the published figures, like ours, are shares of the cases where it is."
        if ours is not None and ours.children_recorded_share is not None
        else ""
    )
    return [
        f"Release: this study reads {inputs.data.release_label}; the IOM brief used the 2017 "
        "global dataset and the data story CTDC's global synthetic data. Releases differ in "
        "which countries and agencies contributed and in how cases were recorded.",
        "Case mix: the cohort and the cases with the outcome recorded differ between releases "
        "and studies; a share among identified victims follows who was identified." + recorded,
        f"Who is a child: this study counts {CHILD_RULE_WORDS[inputs.child_rule]} "
        f"(data.child_rule={inputs.child_rule}). The table below gives the headline under every "
        "rule.",
    ]


def sensitivity_sentences(inputs: ReportInputs) -> list[str]:
    """What the sensitivity analyses did and how the labelled levels fared, in plain words."""
    result = inputs.sensitivity
    if result is None:
        return []
    out = [
        "Yes/no items that are blank may mean 'no' or 'not asked'. Two reruns check that the "
        "labelled factors do not depend on that: "
        + "; ".join(f"({i}) {words}" for i, words in enumerate(ANALYSES.values(), start=1))
        + ". Robust: same side of 1, interval still excluding 1, size within 25 %."
    ]
    for name, why in result.skipped:
        if name in ANALYSES:
            out.append(f"'{ANALYSES[name]}' was not run: {why}.")
    return out
