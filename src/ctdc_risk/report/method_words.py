"""How the study was done, in words: the method notes, the run's settings, the sensitivity
analyses, and why the headline differs from the published figures.
"""

from __future__ import annotations

from typing import Any

from ctdc_risk.factors.sensitivity import ANALYSES
from ctdc_risk.report.inputs import ReportInputs


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


def method_notes(inputs: ReportInputs) -> list[str]:
    """The labelling rule, references, duplicates and multiplicity in plain words."""
    correction = (
        "Holm's correction (it keeps the chance of even one false label across the whole table "
        f"under {inputs.factors.alpha:.0%})"
        if inputs.factors.multiplicity == "holm"
        else "the Benjamini-Hochberg correction (it keeps the expected share of false labels "
        f"among the labelled levels under {inputs.factors.alpha:.0%})"
    )
    duplicates = (
        f"The {inputs.cases.n_cases:,} cases are {inputs.cases.n_distinct_records:,} distinct "
        "records: "
        if inputs.cases.n_distinct_records
        and inputs.cases.n_distinct_records < inputs.cases.n_cases
        else ""
    )
    return [
        "Labelling rule: a level is called a risk (protective) factor only when its adjusted "
        "odds ratio's 95 % interval lies above (below) 1, it still passes after correcting for "
        f"the number of levels tested (q below {inputs.factors.alpha:g}), the model's SHAP values "
        "point "
        "the same way against the same reference level, and the odds ratio stays on the same "
        f"side of 1 in at least {inputs.factors.min_sign_agreement:.0%} of the bootstrap refits. "
        "Unknown, 'not recorded' and pooled levels, and items recorded after the outcome's "
        "phase, are never labelled.",
        "Reference levels: each factor's levels are compared with one reference level, printed "
        "in the 'compared with' column: 'no' (or 'not recorded') for a yes/no item, otherwise "
        f"the largest level with at least {inputs.floor.k} cases with and {inputs.floor.k} without "
        "the "
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
    ours = next((c for c in inputs.cases.child_rules if c.rule == inputs.question.child_rule), None)
    recorded = (
        f" Here the recruiter's relation is recorded for {ours.children_recorded_share:.0%} of "
        "the children; the published figures, like ours, are shares of the cases where it is."
        if ours is not None and ours.children_recorded_share is not None
        else ""
    )
    return [
        f"Release: this study reads {inputs.cases.data.release_label}; the IOM brief used the 2017 "
        "global dataset and the data story CTDC's global synthetic data. Releases differ in "
        "which countries and agencies contributed and in how cases were recorded.",
        "Case mix: the cohort and the cases with the outcome recorded differ between releases "
        "and studies; a share among identified victims follows who was identified." + recorded,
        f"Who is a child: this study counts {CHILD_RULE_WORDS[inputs.question.child_rule]} "
        f"(data.child_rule={inputs.question.child_rule}). The table below gives the headline under "
        "every "
        "rule.",
    ]


def sensitivity_sentences(inputs: ReportInputs) -> list[str]:
    """What the sensitivity analyses did and how the labelled levels fared, in plain words."""
    result = inputs.factors.sensitivity
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
