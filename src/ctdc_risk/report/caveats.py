"""What the report warns about: the limits of CTDC data, of a small or uninformative study,
and of the targeting figures; the banner of generated data.
"""

from __future__ import annotations

from ctdc_risk.factors.factor_rows import FactorRow
from ctdc_risk.features import DOMV_LEVELS, FACTORS
from ctdc_risk.report.inputs import ReportInputs
from ctdc_risk.targeting.results import SCHEME_WORDS

_DOMV_WORDS = {
    "individual": "individual",
    "household_family": "household and family",
    "community": "community",
    "structural": "structural",
}


def hidden_profiles_note(ranks: list[int], inputs: ReportInputs) -> str:
    """Why profiles learnt again have no held-out figures, in words."""
    which = (
        f"Profile {ranks[0]} has"
        if len(ranks) == 1
        else f"Profiles {', '.join(map(str, ranks[:-1]))} and {ranks[-1]} have"
    )
    return (
        f"{which} no held-out figures: among its held-out cases, fewer than {inputs.floor.k} were "
        f"{inputs.question.outcome_words}, or fewer than {inputs.floor.k} were not. A share, lift "
        "or coverage "
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
        f"at least {inputs.floor.k} cases with and {inputs.floor.k} without the outcome."
    )
    return items


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
        inputs.cases.n_cases,
        inputs.cases.n_positive,
        inputs.models.cv[inputs.models.primary_model]["roc_auc_mean"],
        inputs.models.baseline["roc_auc_mean"],
        outcome_words=inputs.question.outcome_words,
    )


def banner(inputs: ReportInputs) -> str | None:
    """The line every report of generated data opens with (None for real data)."""
    if not inputs.cases.data.generated:
        return None
    return (
        "Generated demonstration data, not CTDC records. Every figure below comes from the "
        "package's built-in generator, with effects planted to test the method; none describes "
        "real victims, and no published figure is compared with it."
    )


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
    missing = missing_domv_levels(inputs.factors.rows)
    if missing:
        items.append(f"No factor in this study describes the {', '.join(missing)} level(s).")
    if inputs.cases.data.release_id.startswith("synthetic"):
        items.append(
            "This release is differentially private synthetic data: it keeps the counts of "
            "single characteristics and short combinations, not the longer combinations of "
            "real cases, and its counts are rounded."
        )
    if inputs.cases.data.flag_semantics == "positive_only":
        items.append(
            "Yes/no items in this release are recorded only when yes: a blank means 'not "
            "recorded', never 'no'. A 'recorded' factor may partly reflect how thoroughly a "
            "case was documented."
        )
    items.append(
        f"Every figure rests on at least {inputs.floor.k} cases; smaller cells are suppressed and "
        f"marked {inputs.floor.marker}. Unknown and pooled levels are never called risk or "
        "protective."
    )
    return items
