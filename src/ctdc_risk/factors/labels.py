"""The labelling rule: when a factor level is called risk or protective, and why not.

Labelling rule (documented in the report and README). A level is **risk** (or **protective**)
only when every one of these holds; otherwise the row's ``reason`` names the first that fails:

1. its factor is a covariate (for a recruitment outcome, recorded before or at recruitment);
2. it describes the case (not ``unknown``, ``not recorded`` or a pooled level of rare values);
3. its factor's reference level has at least k cases with and k without the outcome;
4. none of its figures is suppressed under the privacy floor k, and its cases share common
   ground with the reference level's on every other factor (overlap of at least 5 %: otherwise
   "holding the other factors fixed" has no cases behind it);
5. its adjusted odds ratio is estimable, and its 95 % interval (model-based, clustered on
   identical records) lies above 1 (below 1);
6. its multiplicity-adjusted q-value (Holm by default, across every contrast that could be
   labelled) is below ``alpha``;
7. the SHAP direction of the primary model, against the same reference level, agrees;
8. at least ``min_sign_agreement`` of the bootstrap refits (whole pipeline, identical records
   resampled together) give an odds ratio on the same side of 1.

``reference`` marks the level the others are compared with; ``suppressed`` a level whose
figures fall under the privacy floor; ``not estimable`` a level the model could not estimate;
``unclear`` everything else. The crude prevalence ratio is shown but not required to agree: a
crude association can be confounded, which is what the adjusted odds ratio is for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctdc_risk.encoding import POOLED, UNKNOWN
from ctdc_risk.factors.associations import (
    NOTE_ALIASED,
    NOTE_COLLINEAR,
    NOTE_REFERENCE,
    AdjustedOddsRatio,
)
from ctdc_risk.factors.crude import CrudeAssociation
from ctdc_risk.factors.stability import StabilityResult

LABELS = ("risk", "protective", "unclear", "reference", "suppressed", "not estimable")


NOT_CASE_LEVELS = frozenset({UNKNOWN, POOLED, "not recorded"})


MULTIPLICITY = ("holm", "bh")


@dataclass(frozen=True)
class LabelRule:
    """The settings of the labelling rule."""

    alpha: float = 0.05
    multiplicity: str = "holm"
    min_sign_agreement: float = 0.9


def is_small(c: CrudeAssociation, k: int) -> bool:
    """Whether a level's shares would publish a count under ``k``.

    A share is published only if the outcome's yes and no counts on each side reach k: a share
    of 0 % or 100 % of a group says something about every person in it.
    """
    return (
        c.n_with < k
        or c.n_without < k
        or not _share_ok(c.share_with, c.n_with, k)
        or not _share_ok(c.share_without, c.n_without, k)
    )


def may_label(c: CrudeAssociation, a: AdjustedOddsRatio | None, k: int, reference_ok: bool) -> bool:
    """Whether a contrast belongs to the family the multiplicity adjustment runs over."""
    return (
        a is not None
        and a.note != NOTE_REFERENCE
        and a.p_value is not None
        and a.ci95 is not None
        and c.level not in NOT_CASE_LEVELS
        and reference_ok
        and not a.note.startswith((NOTE_COLLINEAR, NOTE_ALIASED))
        and not is_small(c, k)
    )


def _share_ok(share: float | None, n: int, k: int) -> bool:
    if share is None:
        return False
    yes = round(share * n)
    return yes >= k and n - yes >= k


def _fmt(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def label_level(
    c: CrudeAssociation,
    a: AdjustedOddsRatio | None,
    small: bool,
    direction: float | None,
    stability: StabilityResult,
    q: float | None,
    rule: LabelRule,
    reference_ok: bool,
    k: int,
) -> tuple[str, str]:
    """The label and, in a few words, why (the first condition of the rule that fails)."""
    if a is not None and a.note == NOTE_REFERENCE:
        return "reference", "the level the others of this factor are compared with"
    if c.level == POOLED:
        return "unclear", "pooled rare levels (each under k cases): never labelled"
    if c.level in NOT_CASE_LEVELS:
        return "unclear", "describes what was recorded, not the case: never labelled"
    if small:
        return "suppressed", f"suppressed: fewer than {k} cases on one side"
    if not reference_ok:
        return "unclear", (
            f"the reference level has fewer than {k} cases with or without the outcome"
        )
    if a is None or a.ci95 is None or a.odds_ratio is None:
        return "not estimable", a.note if a and a.note else "not estimable"
    if a.note.startswith((NOTE_COLLINEAR, NOTE_ALIASED)):
        return "not estimable", a.note
    low, high = a.ci95
    if low <= 1 <= high:
        return "unclear", f"interval crosses 1 ({_fmt(low)}-{_fmt(high)})"
    if q is None or q >= rule.alpha:
        shown = "not computed" if q is None else f"{q:.2g}"
        return "unclear", (
            f"q = {shown} not below {rule.alpha:g} after {_MULTIPLICITY_WORDS[rule.multiplicity]}"
        )
    risk = low > 1
    if direction is None:
        return "unclear", "no SHAP direction (a side of the contrast has fewer than k cases)"
    if (direction > 0) != risk:
        return "unclear", "the SHAP direction disagrees with the odds ratio"
    agreement = stability.sign_agreement.get((c.factor, c.level))
    if agreement is None:
        return "unclear", "no bootstrap refits to check stability"
    if agreement < rule.min_sign_agreement:
        return "unclear", f"refits disagree (same side of 1 in {agreement:.0%})"
    return ("risk" if risk else "protective"), (
        f"interval excludes 1, q = {q:.2g}, SHAP agrees, same side of 1 in {agreement:.0%} "
        "of refits"
    )


_MULTIPLICITY_WORDS = {"holm": "Holm's correction", "bh": "Benjamini-Hochberg"}
