"""From a study's cases to its labelled factor table: every lens, the bootstrap and the rule.

One function, :func:`estimate_factors`, so the study and the test of the labelling rule's
calibration run exactly the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.factors.associations import AdjustedOddsRatio, fit_adjusted
from ctdc_risk.factors.contributions import (
    Contributions,
    ShapSummary,
    factor_codes,
    summarise_contributions,
)
from ctdc_risk.factors.crude import crude_associations
from ctdc_risk.factors.factor_rows import FactorTable
from ctdc_risk.factors.labels import LabelRule
from ctdc_risk.factors.overlap import overlap_notes
from ctdc_risk.factors.refit import make_refit_plan
from ctdc_risk.factors.stability import (
    PointEstimates,
    StabilityResult,
    StabilitySpec,
    bootstrap_stability,
)
from ctdc_risk.factors.table import build_factor_table
from ctdc_risk.features import Factor


@dataclass(frozen=True)
class FactorEstimates:
    """The labelled factor table and what it was built from."""

    table: FactorTable
    encoder: FactorEncoder
    """The one-hot encoder fitted on all the cases (levels, references)."""
    shap: ShapSummary
    """The primary model's SHAP summary, directions against the table's reference levels."""
    stability: StabilityResult


def estimate_factors(
    frame: pd.DataFrame,
    y: np.ndarray,
    factors: tuple[Factor, ...],
    records: np.ndarray,
    *,
    contributions: Contributions,
    make_primary: Callable[[], Any],
    primary: str,
    k: int,
    positive_only: bool,
    reference: Mapping[str, str] | None,
    stability: StabilitySpec,
    rule: LabelRule,
    seed: int,
    context: tuple[Factor, ...] = (),
    dropped: tuple[tuple[str, str], ...] = (),
    progress: Callable[[int, int], None] | None = None,
) -> FactorEstimates:
    """Crude and adjusted associations, SHAP directions, the full bootstrap and the labels.

    Parameters
    ----------
    frame, y
        The study's cases and their outcome.
    factors
        The covariate factors (adjusted for one another, eligible for labels).
    records
        Identical-record group per row (:func:`~ctdc_risk.data.records.record_groups`).
    contributions
        SHAP values of the primary model fitted on all the cases.
    make_primary
        Returns the primary model's unfitted pipeline (picklable; refitted per bootstrap draw).
    context
        Factors described with crude shares only (recorded after the outcome's phase).
    """
    kinds = tuple((f.name, f.kind) for f in factors)
    fitted = fit_adjusted(
        frame, y, kinds, k=k, positive_only=positive_only, reference=reference, groups=records
    )
    encoder, adjusted = fitted.encoder, fitted.odds_ratios
    refs = dict(encoder.reference_)
    crude = crude_associations(fitted.X, encoder.columns_, y)
    shap = summarise_contributions(contributions, k=k, reference=refs)
    point = point_estimates(adjusted, shap, contributions, refs)
    plan = make_refit_plan(
        factors=kinds,
        k=k,
        positive_only=positive_only,
        reference=refs,
        make_model=make_primary,
        frame=frame,
    )
    result = bootstrap_stability(
        plan, frame, y, records, point, spec=stability, seed=seed, k=k, progress=progress
    )
    table = build_factor_table(
        crude,
        adjusted,
        shap,
        result,
        shap_model=primary,
        k=k,
        rule=rule,
        reference_ok=dict(encoder.reference_ok_),
        context=_context(context, frame, y, k, positive_only),
        dropped=dropped,
        overlap=overlap_notes(
            factor_codes(encoder, frame),
            dict(encoder.levels_),
            refs,
            {f.name: f.label for f in factors},
            k=k,
        ),
        prevalence=float(np.mean(y)),
    )
    return FactorEstimates(table, encoder, shap, result)


def point_estimates(
    adjusted: Sequence[AdjustedOddsRatio],
    shap: ShapSummary,
    contributions: Contributions,
    reference: Mapping[str, str],
) -> PointEstimates:
    """The study's own estimates that the bootstrap draws are compared with.

    Log odds ratios of the levels with an interval, and SHAP importance and direction per
    factor of the primary model's ``contributions``.
    """
    return PointEstimates(
        factors=contributions.factors,
        importance=shap.importance,
        log_or={
            (a.factor, a.level): math.log(a.odds_ratio)
            for a in adjusted
            if a.odds_ratio is not None and a.ci95 is not None
        },
        direction=shap.direction,
        reference=dict(reference),
        codes=contributions.codes,
        levels=contributions.levels,
    )


def _context(
    context: tuple[Factor, ...], frame: pd.DataFrame, y: np.ndarray, k: int, positive_only: bool
) -> tuple[Any, ...]:
    """Crude shares for the factors recorded after the outcome's phase (never adjusted)."""
    if not context:
        return ()
    encoder = FactorEncoder(
        tuple((f.name, f.kind) for f in context), min_count=k, positive_only=positive_only
    ).fit(frame, y)
    return crude_associations(encoder.transform(frame), encoder.columns_, y)
