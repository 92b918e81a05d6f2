"""The factor table: the lenses side by side, one typed row per factor level, with its label.

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

import math
from dataclasses import astuple, dataclass, fields
from typing import Any

from ctdc_risk.encoding import POOLED, UNKNOWN
from ctdc_risk.factors.associations import (
    NOTE_ALIASED,
    NOTE_COLLINEAR,
    NOTE_REFERENCE,
    AdjustedOddsRatio,
)
from ctdc_risk.factors.contributions import ShapSummary
from ctdc_risk.factors.crude import CrudeAssociation
from ctdc_risk.factors.stability import StabilityResult, average_ranks
from ctdc_risk.features import FACTORS
from ctdc_risk.privacy import Floor, PartitionSuppression, suppress_partition
from ctdc_risk.stats import bh_adjust, e_value, e_value_limit, holm_adjust

LABELS = ("risk", "protective", "unclear", "reference", "suppressed", "not estimable")
NOT_CASE_LEVELS = frozenset({UNKNOWN, POOLED, "not recorded"})
MULTIPLICITY = ("holm", "bh")


@dataclass(frozen=True)
class FactorRow:
    """One factor level with every lens, its label and the reason for it.

    Counts and shares are ``None`` where they are suppressed under the privacy floor.
    """

    factor: str
    factor_label: str
    level: str
    reference_level: str
    domv_level: str
    phase: str
    n_with: int | None
    n_without: int | None
    share_with: float | None
    share_without: float | None
    crude_pr: float | None
    crude_pr_low: float | None
    crude_pr_high: float | None
    adjusted_or: float | None
    adjusted_or_low: float | None
    adjusted_or_high: float | None
    boot_or_low: float | None
    boot_or_high: float | None
    adjusted_p: float | None
    q_value: float | None
    adjusted_note: str
    shap_model: str
    shap_direction: float | None
    shap_importance: float | None
    rank: float | None
    rank_low: float | None
    rank_high: float | None
    sign_agreement: float | None
    shap_sign_agreement: float | None
    label: str
    reason: str
    e_value: float | None = None
    """Labelled levels: how strong an unmeasured confounder would have to be to explain the
    odds ratio away (VanderWeele and Ding); ``e_value_ci`` the same for the interval limit."""
    e_value_ci: float | None = None

    def to_record(self) -> dict[str, Any]:
        """The row as a plain mapping (JSON output)."""
        return dict(zip(COLUMNS, astuple(self), strict=True))


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(FactorRow))


@dataclass(frozen=True)
class ContextRow:
    """Crude shares for a level of a factor recorded after the outcome's phase (context)."""

    factor: str
    factor_label: str
    level: str
    phase: str
    n_with: int | None
    n_without: int | None
    share_with: float | None
    share_without: float | None
    crude_pr: float | None
    crude_pr_low: float | None
    crude_pr_high: float | None

    def to_record(self) -> dict[str, Any]:
        return dict(zip(CONTEXT_COLUMNS, astuple(self), strict=True))


CONTEXT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ContextRow))


@dataclass(frozen=True)
class LabelRule:
    """The settings of the labelling rule."""

    alpha: float = 0.05
    multiplicity: str = "holm"
    min_sign_agreement: float = 0.9


@dataclass(frozen=True)
class FactorTable:
    rows: tuple[FactorRow, ...]
    k: int
    rule: LabelRule
    n_boot: int
    context: tuple[ContextRow, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    """``(factor, reason)`` for factors of the feature set that the study left out."""
    markers: tuple[tuple[str, str, str, str], ...] = ()
    """``(factor, level, column, marker)`` for each withheld count: ``"<k"`` when it is under
    k, ``"suppressed"`` when it is withheld only so that another cannot be recovered."""

    def marker(self, factor: str, level: str, column: str) -> str:
        """How a withheld ``n_with`` or ``n_without`` of a level is shown."""
        for f, lv, col, m in self.markers:
            if (f, lv, col) == (factor, level, column):
                return m
        return Floor(self.k).marker

    @property
    def min_sign_agreement(self) -> float:
        return self.rule.min_sign_agreement

    def labelled(self, label: str) -> list[FactorRow]:
        return [r for r in self.rows if r.label == label]


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), digits)


def _sig(x: float | None) -> float | None:
    """p- and q-values keep three significant digits however small they are."""
    return None if x is None or not math.isfinite(float(x)) else float(f"{float(x):.3g}")


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


def build_factor_table(
    crude: tuple[CrudeAssociation, ...],
    adjusted: tuple[AdjustedOddsRatio, ...],
    shap: ShapSummary,
    stability: StabilityResult,
    *,
    shap_model: str,
    k: int,
    rule: LabelRule,
    reference_ok: dict[str, bool] | None = None,
    context: tuple[CrudeAssociation, ...] = (),
    dropped: tuple[tuple[str, str], ...] = (),
    overlap: dict[tuple[str, str], str] | None = None,
    prevalence: float | None = None,
) -> FactorTable:
    """Join the lenses per factor level, adjust for multiplicity and label by the rule."""
    adj = {(a.factor, a.level): a for a in adjusted}
    reference = {a.factor: a.level for a in adjusted if a.note == NOTE_REFERENCE}
    ref_ok = reference_ok or {}
    no_overlap = overlap or {}
    point_rank = stability.point_rank or dict(
        zip(shap.importance, average_ranks(list(shap.importance.values())).tolist(), strict=True)
    )
    withheld = _withhold(crude, reference, k)
    family = [
        (c.factor, c.level)
        for c in crude
        if _may_label(c, adj.get((c.factor, c.level)), k, ref_ok.get(c.factor, True))
    ]
    ps = [adj[key].p_value for key in family]
    adjust = holm_adjust if rule.multiplicity == "holm" else bh_adjust
    q_of = dict(zip(family, adjust([float(p) for p in ps if p is not None]), strict=True))
    rows = []
    for c in crude:
        key = (c.factor, c.level)
        a = adj.get(key)
        small = is_small(c, k)
        # Complementary suppression withholds a level's counts and shares (not its label or
        # odds ratio) when they would give a small level of the same factor back.
        hide_n, hide_y = withheld[key]
        hide = small or hide_y
        direction = shap.direction.get(key)
        interval = stability.rank_interval.get(c.factor)
        boot = stability.or_interval.get(key)
        label, reason = _label(
            c, a, small, direction, stability, q_of.get(key), rule, ref_ok.get(c.factor, True), k
        )
        if label in ("risk", "protective", "unclear") and key in no_overlap:
            label, reason = "unclear", no_overlap[key]
        factor = FACTORS[c.factor]
        e_point = e_ci = None
        if label in ("risk", "protective") and a and a.odds_ratio and a.ci95 and prevalence:
            e_point = _r(e_value(a.odds_ratio, prevalence=prevalence), 3)
            e_ci = _r(e_value_limit(*a.ci95, prevalence=prevalence), 3)
        rows.append(
            FactorRow(
                factor=c.factor,
                factor_label=factor.label,
                level=c.level,
                reference_level=reference.get(c.factor, ""),
                domv_level=factor.domv,
                phase=factor.phase,
                **_crude_fields(c, hide_n=hide_n, hide=hide),
                adjusted_or=_r(a.odds_ratio) if a and not small else None,
                adjusted_or_low=_r(a.ci95[0]) if a and a.ci95 and not small else None,
                adjusted_or_high=_r(a.ci95[1]) if a and a.ci95 and not small else None,
                boot_or_low=_r(boot[0]) if boot and not small else None,
                boot_or_high=_r(boot[1]) if boot and not small else None,
                adjusted_p=_sig(a.p_value) if a and not small else None,
                q_value=_sig(q_of.get(key)),
                adjusted_note=a.note if a else "",
                shap_model=shap_model,
                shap_direction=None if small else _r(direction),
                shap_importance=_r(shap.importance.get(c.factor)),
                rank=point_rank.get(c.factor),
                rank_low=interval[0] if interval else None,
                rank_high=interval[1] if interval else None,
                sign_agreement=None if small else _r(stability.sign_agreement.get(key), 4),
                shap_sign_agreement=None
                if small
                else _r(stability.shap_sign_agreement.get(key), 4),
                label=label,
                reason=reason,
                e_value=e_point,
                e_value_ci=e_ci,
            )
        )
    rows.sort(key=lambda r: (r.rank if r.rank is not None else 1e9, r.factor, _level_order(r)))
    context_withheld = _withhold(context, {}, k)
    context_rows = tuple(_context_row(c, k, context_withheld[(c.factor, c.level)]) for c in context)
    markers = _markers(crude, k) + _markers(context, k)
    return FactorTable(
        tuple(rows), k, rule, stability.n_boot, context_rows, dropped, markers=markers
    )


def _partitions(crude: tuple[CrudeAssociation, ...]) -> dict[str, list[CrudeAssociation]]:
    """Levels by factor: each factor's levels share the cohort's cases out once."""
    out: dict[str, list[CrudeAssociation]] = {}
    for c in crude:
        out.setdefault(c.factor, []).append(c)
    return out


def _suppression(
    levels: list[CrudeAssociation], reference: dict[str, str], k: int
) -> PartitionSuppression:
    # Withhold what says least first: levels that describe the record rather than the case,
    # then compared levels, the reference level last.
    prefer = [
        0 if c.level in NOT_CASE_LEVELS else 2 if reference.get(c.factor) == c.level else 1
        for c in levels
    ]
    yes = [0 if c.share_with is None else round(c.share_with * c.n_with) for c in levels]
    return suppress_partition([c.n_with for c in levels], yes, k=k, prefer=prefer)


def _withhold(
    crude: tuple[CrudeAssociation, ...], reference: dict[str, str], k: int
) -> dict[tuple[str, str], tuple[bool, bool]]:
    """(factor, level) -> (withhold its counts, withhold its shares), complementary included."""
    out = {}
    for levels in _partitions(crude).values():
        s = _suppression(levels, reference, k)
        for c, hide_n, hide_y in zip(levels, s.hide_n, s.hide_y, strict=True):
            out[(c.factor, c.level)] = (hide_n, hide_y)
    return out


def _markers(crude: tuple[CrudeAssociation, ...], k: int) -> tuple[tuple[str, str, str, str], ...]:
    out = []
    for c in crude:
        for column, value in (("n_with", c.n_with), ("n_without", c.n_without)):
            out.append((c.factor, c.level, column, Floor(k).withheld(value)))
    return tuple(out)


def _context_row(c: CrudeAssociation, k: int, withheld: tuple[bool, bool]) -> ContextRow:
    hide_n, hide_y = withheld
    small = is_small(c, k) or hide_y
    factor = FACTORS[c.factor]
    return ContextRow(
        factor=c.factor,
        factor_label=factor.label,
        level=c.level,
        phase=factor.phase,
        **_crude_fields(c, hide_n=hide_n, hide=small),
    )


def _crude_fields(c: CrudeAssociation, *, hide_n: bool, hide: bool) -> dict[str, Any]:
    """The crude lens as published: counts unless withheld, shares and ratio unless hidden."""
    return {
        "n_with": None if hide_n else c.n_with,
        "n_without": None if hide_n else c.n_without,
        "share_with": None if hide else _r(c.share_with),
        "share_without": None if hide else _r(c.share_without),
        "crude_pr": None if hide else _r(c.prevalence_ratio),
        "crude_pr_low": None if hide or c.pr_ci95 is None else _r(c.pr_ci95[0]),
        "crude_pr_high": None if hide or c.pr_ci95 is None else _r(c.pr_ci95[1]),
    }


def _may_label(
    c: CrudeAssociation, a: AdjustedOddsRatio | None, k: int, reference_ok: bool
) -> bool:
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


def _level_order(row: FactorRow) -> tuple[int, str]:
    return (0 if row.label == "reference" else 1, row.level)


def _fmt(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _label(
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


def table_records(table: FactorTable) -> list[list[Any]]:
    """Rows in :data:`COLUMNS` order for ``factors.csv`` (None -> blank, suppressed -> <k)."""
    out = []
    for row in table.rows:
        rec = row.to_record()
        out.append(
            [
                table.marker(row.factor, row.level, col)
                if rec[col] is None and col in ("n_with", "n_without")
                else rec[col]
                for col in COLUMNS
            ]
        )
    return out


def context_records(table: FactorTable) -> list[list[Any]]:
    """Context rows in :data:`CONTEXT_COLUMNS` order for ``context.csv``."""
    return [
        [
            table.marker(rec["factor"], rec["level"], col)
            if rec[col] is None and col in ("n_with", "n_without")
            else rec[col]
            for col in CONTEXT_COLUMNS
        ]
        for rec in (r.to_record() for r in table.context)
    ]
