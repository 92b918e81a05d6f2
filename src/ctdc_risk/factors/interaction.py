"""Effect modification: does a factor level go with the outcome differently in two groups?

For a pre-specified modifier (gender: boys against girls; age band: 0-8 against 9-17) and each
tested level ``L`` of another covariate factor ``F``, among the cases whose modifier is known:

- one Firth model holds every covariate, the modifier's indicator ``m`` and the products of
  ``m`` with each non-reference level of ``F`` that has at least k cases in each group (so each
  such level gets its own odds ratio in each group, against the same reference level as the
  main table);
- the **stratum-specific odds ratios** are ``exp(b_L)`` in the comparison group (``m = 0``) and
  ``exp(b_L + b_LxM)`` in the other group; their **ratio** is ``exp(b_LxM)``; intervals are Wald
  intervals with the larger of the model-based and the record-clustered variance, the same rule
  as the main table;
- the **interaction test** is Heinze and Schemper's penalised likelihood ratio test of
  ``b_LxM = 0`` (the restricted fit keeps the whole design's penalty). Copies of one record
  are one piece of evidence: when the clustered variance of ``b_LxM`` is the larger, the
  statistic is divided by the ratio of the two variances (for one degree of freedom, the
  first-order Rao-Scott correction), so the test is as honest about copies as the interval;
- the p-values of every test of the study are adjusted together (Holm or Benjamini-Hochberg,
  as the main labels) and an interaction **holds** when its q-value is below alpha and the
  interval of its ratio excludes 1.

Privacy: a level is tested only when it and its factor's reference level have at least k cases
with and k without the outcome in each group; otherwise its row is suppressed (no estimate,
no count). No count is published here at all.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ctdc_risk.encoding import EncodedColumn, FactorEncoder
from ctdc_risk.factors.associations import independent_levels
from ctdc_risk.factors.distinct import DistinctDesign
from ctdc_risk.factors.factor_rows import FactorTable
from ctdc_risk.factors.firth import FirthFit
from ctdc_risk.factors.interaction_table import (
    LEVEL_CHOICES,
    MODIFIERS,
    InteractionRow,
    InteractionTable,
    Modifier,
    ModifierSummary,
)
from ctdc_risk.factors.labels import NOT_CASE_LEVELS, LabelRule
from ctdc_risk.features import FACTORS
from ctdc_risk.stats import Z95, bh_adjust, holm_adjust, two_sided_p

log = logging.getLogger(__name__)


def estimate_interactions(
    frame: pd.DataFrame,
    y: np.ndarray,
    encoder: FactorEncoder,
    table: FactorTable,
    records: np.ndarray,
    *,
    modifiers: Sequence[str],
    levels: str = "labelled",
    k: int,
    rule: LabelRule,
) -> InteractionTable:
    """Test each modifier against each tested level of the other covariate factors.

    Parameters
    ----------
    frame, y
        The study's cases and their outcome.
    encoder
        The study's one-hot encoder fitted on these cases (levels and reference levels of the
        main table).
    table
        The main factor table: which levels are labelled.
    records
        Identical-record group per row (intervals and tests count copies as one record).
    modifiers
        Names from :data:`MODIFIERS`.
    levels
        ``"labelled"``: the levels labelled risk or protective; ``"all"``: every non-reference
        level that describes the case.
    k
        Privacy floor: a group needs k cases with and k without the outcome for a level and for
        its reference level.
    rule
        Alpha and multiplicity control, the same as the main labels.

    Returns
    -------
    InteractionTable
    """
    if levels not in LEVEL_CHOICES:
        raise ValueError(f"levels must be one of {', '.join(LEVEL_CHOICES)}; got {levels!r}")
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        raise ValueError(f"unknown modifier(s) {unknown}; modifiers are {', '.join(MODIFIERS)}")
    yv = np.asarray(y).astype(np.float64)
    covariates = {name for name, _ in encoder.factors}
    children = "is_child" in frame and bool(frame["is_child"].fillna(False).astype(bool).all())
    x_all = sp.csr_matrix(encoder.transform(frame), dtype=np.float64)
    summaries: list[ModifierSummary] = []
    pending: list[_Pending] = []
    for name in modifiers:
        mod = MODIFIERS[name]
        words = (mod.group_words, mod.comparison_words)
        if not children and mod.any_age_words[0]:
            words = mod.any_age_words
        skipped = _skip_reason(frame, yv, mod, words, covariates, k)
        summaries.append(
            ModifierSummary(mod.name, mod.factor, mod.group, mod.comparison, *words, skipped)
        )
        if skipped:
            log.info("interactions with %s not tested: %s", name, skipped)
            continue
        candidates = _candidates(table, mod, levels)
        pending.extend(_test_modifier(frame, yv, x_all, encoder, records, mod, candidates, k))
    rows = _adjust(pending, rule)
    return InteractionTable(tuple(rows), tuple(summaries), k, rule, levels)


@dataclass(frozen=True)
class _Pending:
    """A row before the multiplicity adjustment."""

    modifier: Modifier
    factor: str
    level: str
    reference: str
    or_group: tuple[float, float, float] | None
    or_comparison: tuple[float, float, float] | None
    ratio: tuple[float, float, float] | None
    lr: float | None
    design_effect: float | None
    p_value: float | None
    result: str
    reason: str


def _skip_reason(
    frame: pd.DataFrame,
    y: np.ndarray,
    mod: Modifier,
    words: tuple[str, str],
    covariates: set[str],
    k: int,
) -> str:
    if mod.factor not in covariates:
        return f"{FACTORS[mod.factor].label} is not a covariate of this study"
    values = frame[mod.factor].astype(object).to_numpy()
    in_group = values == mod.group
    in_comparison = values == mod.comparison
    if not in_group.any() or not in_comparison.any():
        return (
            f"the cohort does not hold both {words[0]} and {words[1]} (it fixes the "
            f"{mod.fixed_words})"
        )
    for mask, who in ((in_group, words[0]), (in_comparison, words[1])):
        yes = float(y[mask].sum())
        if yes < k or mask.sum() - yes < k:
            return f"fewer than {k} {who} with or without the outcome"
    return ""


def _candidates(table: FactorTable, mod: Modifier, levels: str) -> list[tuple[str, str, str]]:
    """(factor, level, reference level) of the main table's levels to test with ``mod``."""
    out = []
    for r in table.rows:
        if r.factor == mod.factor or r.label == "reference" or r.level in NOT_CASE_LEVELS:
            continue
        if levels == "labelled" and r.label not in ("risk", "protective"):
            continue
        out.append((r.factor, r.level, r.reference_level))
    return out


def _test_modifier(
    frame: pd.DataFrame,
    y: np.ndarray,
    x_all: sp.csr_matrix,
    encoder: FactorEncoder,
    records: np.ndarray,
    mod: Modifier,
    candidates: list[tuple[str, str, str]],
    k: int,
) -> list[_Pending]:
    values = frame[mod.factor].astype(object).to_numpy()
    rows = np.flatnonzero((values == mod.group) | (values == mod.comparison))
    x = x_all[rows]
    yv = y[rows]
    m = (values[rows] == mod.group).astype(np.float64)
    groups = np.asarray(records)[rows]
    columns = encoder.columns_
    index = {(c.factor, c.level): j for j, c in enumerate(columns)}
    out: list[_Pending] = []
    by_factor: dict[str, list[tuple[str, str]]] = {}
    for factor, level, ref in candidates:
        by_factor.setdefault(factor, []).append((level, ref))
    for factor, tested in by_factor.items():
        ok = []
        for level, ref in tested:
            small = _small_cells(x, yv, m, index.get((factor, level)), index.get((factor, ref)), k)
            if small:
                out.append(_row(mod, factor, level, ref, result="suppressed", reason=small))
            else:
                ok.append((level, ref))
        if ok:
            out.extend(_fit_factor(x, yv, m, groups, columns, mod, factor, ok, k))
    return out


def _small_cells(
    x: sp.csr_matrix, y: np.ndarray, m: np.ndarray, level: int | None, ref: int | None, k: int
) -> str:
    """Why a level cannot be published per group (a cell under k), or ``""``."""
    if level is None or ref is None:
        return "not a level of the study's encoding"
    for j, what in ((level, "with this level"), (ref, "with its reference level")):
        col = np.asarray(x[:, j].toarray()).ravel()
        for stratum in (1.0, 0.0):
            cell = (col == 1) & (m == stratum)
            yes = float(y[cell].sum())
            if yes < k or cell.sum() - yes < k:
                return (
                    f"suppressed: fewer than {k} cases {what} in a group with or without the "
                    "outcome"
                )
    return ""


def _fit_factor(
    x: sp.csr_matrix,
    y: np.ndarray,
    m: np.ndarray,
    groups: np.ndarray,
    columns: tuple[EncodedColumn, ...],
    mod: Modifier,
    factor: str,
    tested: list[tuple[str, str]],
    k: int,
) -> list[_Pending]:
    """One full model for ``factor`` and one restricted fit per tested level.

    Every level of ``factor`` with at least k cases in each group gets its own odds ratio per
    group (so a tested level is compared with the reference level alone, whatever the other
    levels do); a smaller level keeps one odds ratio for both groups (a product column of a
    handful of cases only makes the fit fragile).
    """
    main = [j for j, c in enumerate(columns) if not c.is_reference and c.factor != mod.factor]
    in_group = np.asarray(x.T @ m).ravel()
    in_comparison = np.asarray(x.sum(axis=0)).ravel() - in_group
    own = [
        j for j in main if columns[j].factor == factor and min(in_group[j], in_comparison[j]) >= k
    ]
    m_col = sp.csr_matrix(m[:, None])
    products = x[:, own].multiply(m_col).tocsr()
    z = sp.hstack([x[:, main], m_col, products], format="csr")
    names = (
        *(columns[j] for j in main),
        EncodedColumn(mod.factor, mod.group, False),
        *(EncodedColumn(factor, f"{columns[j].level} x {mod.group}", False) for j in own),
    )
    counts = np.asarray(z.sum(axis=0)).ravel()
    notes: dict[int, str] = {}
    active = independent_levels(z, [j for j in range(z.shape[1]) if counts[j] > 0], names, notes)
    position = {j: i + 1 for i, j in enumerate(active)}
    distinct = DistinctDesign.build(z, y, active, groups)
    full = distinct.fit(what="interaction")
    out = []
    for level, ref in tested:
        j = next(j for j in own if columns[j].level == level)
        j_main, j_prod = main.index(j), len(main) + 1 + own.index(j)
        if full is None or j_main not in position or j_prod not in position:
            why = "the fit did not converge" if full is None else (
                "the level's cases cannot be told apart between the groups"
            )  # fmt: skip
            out.append(_row(mod, factor, level, ref, result="not estimable", reason=why))
            continue
        b, i = position[j_main], position[j_prod]
        restricted = distinct.fit(what="interaction", clustered=False, fixed=i)
        if restricted is None:
            out.append(_row(mod, factor, level, ref, result="not estimable",
                            reason="the fit without the interaction did not converge"))  # fmt: skip
            continue
        out.append(_estimates(full, restricted, b, i, mod, factor, level, ref))
    return out


def _variance(fit: FirthFit, c: np.ndarray) -> float:
    """Larger of the model-based and the clustered variance of the combination ``c @ params``."""
    model = float(c @ fit.model_cov @ c)
    if fit.robust_cov is None:
        return model
    return max(model, float(c @ fit.robust_cov @ c))


def _estimate(fit: FirthFit, c: np.ndarray) -> tuple[float, float, float] | None:
    coef = float(c @ fit.params)
    var = _variance(fit, c)
    if not (math.isfinite(var) and var > 0):
        return None
    se = math.sqrt(var)
    return math.exp(coef), math.exp(coef - Z95 * se), math.exp(coef + Z95 * se)


def _estimates(
    full: FirthFit,
    restricted: FirthFit,
    b: int,
    i: int,
    mod: Modifier,
    factor: str,
    level: str,
    ref: str,
) -> _Pending:
    p = len(full.params)
    unit = np.eye(p)
    comparison = _estimate(full, unit[b])
    group = _estimate(full, unit[b] + unit[i])
    ratio = _estimate(full, unit[i])
    if comparison is None or group is None or ratio is None:
        return _row(mod, factor, level, ref, result="not estimable",
                    reason="no finite standard error")  # fmt: skip
    model_var = float(full.model_cov[i, i])
    robust_var = float(full.robust_cov[i, i]) if full.robust_cov is not None else model_var
    design_effect = max(1.0, robust_var / model_var) if model_var > 0 else 1.0
    lr = max(0.0, 2.0 * (full.penalised_loglik - restricted.penalised_loglik)) / design_effect
    return _Pending(
        mod, factor, level, ref, group, comparison, ratio, lr, design_effect,
        two_sided_p(math.sqrt(float(lr))), "", "",
    )  # fmt: skip


def _row(mod: Modifier, factor: str, level: str, ref: str, *, result: str, reason: str) -> _Pending:
    return _Pending(mod, factor, level, ref, None, None, None, None, None, None, result, reason)


def _adjust(pending: list[_Pending], rule: LabelRule) -> list[InteractionRow]:
    tested = [i for i, r in enumerate(pending) if r.p_value is not None]
    adjust = holm_adjust if rule.multiplicity == "holm" else bh_adjust
    qs = dict(zip(tested, adjust([float(pending[i].p_value or 0.0) for i in tested]), strict=True))
    words = {"holm": "Holm's correction", "bh": "Benjamini-Hochberg"}[rule.multiplicity]
    out = []
    for i, r in enumerate(pending):
        q = qs.get(i)
        result, reason = r.result, r.reason
        if q is not None and r.ratio is not None:
            low, high = r.ratio[1], r.ratio[2]
            if q < rule.alpha and not low <= 1 <= high:
                result = "holds"
                reason = (
                    f"q = {q:.2g} below {rule.alpha:g} after {words}; ratio interval excludes 1"
                )
            else:
                result = "does not hold"
                reason = (
                    f"q = {q:.2g} not below {rule.alpha:g} after {words}"
                    if q >= rule.alpha
                    else f"ratio interval crosses 1 ({low:.2f}-{high:.2f})"
                )
        out.append(
            InteractionRow(
                modifier=r.modifier.name,
                factor=r.factor,
                factor_label=FACTORS[r.factor].label,
                level=r.level,
                reference_level=r.reference,
                group=r.modifier.group,
                comparison_group=r.modifier.comparison,
                or_group=_r(r.or_group, 0),
                or_group_low=_r(r.or_group, 1),
                or_group_high=_r(r.or_group, 2),
                or_comparison=_r(r.or_comparison, 0),
                or_comparison_low=_r(r.or_comparison, 1),
                or_comparison_high=_r(r.or_comparison, 2),
                ratio_of_or=_r(r.ratio, 0),
                ratio_low=_r(r.ratio, 1),
                ratio_high=_r(r.ratio, 2),
                lr_statistic=None if r.lr is None else round(float(r.lr), 6),
                design_effect=None if r.design_effect is None else round(r.design_effect, 4),
                p_value=_sig(r.p_value),
                q_value=_sig(q),
                result=result,
                reason=reason,
            )
        )
    return out


def _r(values: tuple[float, float, float] | None, i: int) -> float | None:
    if values is None or not math.isfinite(values[i]):
        return None
    return round(float(values[i]), 6)


def _sig(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.3g}")
