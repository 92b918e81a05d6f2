"""Build the factor table: the lenses joined per factor level, suppressed, adjusted for
multiplicity and labelled.

The rows are ``factors.factor_rows``; the labelling rule is ``factors.labels``.
"""

from __future__ import annotations

import math
from typing import Any

from ctdc_risk.factors.associations import NOTE_REFERENCE, AdjustedOddsRatio
from ctdc_risk.factors.contributions import ShapSummary
from ctdc_risk.factors.crude import CrudeAssociation
from ctdc_risk.factors.factor_rows import ContextRow, FactorRow, FactorTable
from ctdc_risk.factors.labels import NOT_CASE_LEVELS, LabelRule, is_small, label_level, may_label
from ctdc_risk.factors.stability import StabilityResult, average_ranks
from ctdc_risk.features import FACTORS
from ctdc_risk.privacy import Floor, PartitionSuppression, suppress_partition
from ctdc_risk.stats import bh_adjust, e_value, e_value_limit, holm_adjust


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), digits)


def _sig(x: float | None) -> float | None:
    """p- and q-values keep three significant digits however small they are."""
    return None if x is None or not math.isfinite(float(x)) else float(f"{float(x):.3g}")


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
        if may_label(c, adj.get((c.factor, c.level)), k, ref_ok.get(c.factor, True))
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
        label, reason = label_level(
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


def _level_order(row: FactorRow) -> tuple[int, str]:
    return (0 if row.label == "reference" else 1, row.level)
