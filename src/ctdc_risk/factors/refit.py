"""The pieces of the study pipeline that each bootstrap refit runs again.

Kept as module-level functions bound with :func:`functools.partial`, so worker processes can
receive them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ctdc_risk.factors.associations import NOTE_REFERENCE, fit_adjusted
from ctdc_risk.factors.contributions import explain_model
from ctdc_risk.factors.stability import Level, RefitPlan


def fit_log_odds_ratios(
    frame: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    factors: tuple[tuple[str, str], ...],
    k: int,
    positive_only: bool,
    reference: Mapping[str, str],
) -> dict[Level, float]:
    """Refit encoder and Firth model; log odds ratio of each level against ``reference``.

    ``reference`` is the study's reference per factor: a refit may choose another one, so each
    contrast is rebuilt as (level vs the refit's reference) minus (study reference vs it).
    """
    adjusted = fit_adjusted(frame, y, factors, k=k, positive_only=positive_only)
    coef: dict[Level, float] = {}
    for a in adjusted.odds_ratios:
        if a.note == NOTE_REFERENCE:
            coef[(a.factor, a.level)] = 0.0
        elif a.odds_ratio is not None and a.ci95 is not None:
            coef[(a.factor, a.level)] = float(np.log(a.odds_ratio))
    out: dict[Level, float] = {}
    for (factor, level), b in coef.items():
        base = coef.get((factor, reference.get(factor, "")))
        if base is not None and level != reference.get(factor):
            out[(factor, level)] = b - base
    return out


def fit_shap_values(
    sample: pd.DataFrame, y: np.ndarray, *, make_model: Callable[[], Any], frame: pd.DataFrame
) -> np.ndarray:
    """Refit the primary model on a draw; its SHAP values on the study's own cases."""
    model = make_model().fit(sample, y)
    values: np.ndarray = explain_model(model, frame).values
    return values


def make_refit_plan(
    *,
    factors: tuple[tuple[str, str], ...],
    k: int,
    positive_only: bool,
    reference: Mapping[str, str],
    make_model: Callable[[], Any],
    frame: pd.DataFrame,
) -> RefitPlan:
    """The refit steps of one study, ready to send to worker processes."""
    return RefitPlan(
        fit_log_or=partial(
            fit_log_odds_ratios,
            factors=factors,
            k=k,
            positive_only=positive_only,
            reference=dict(reference),
        ),
        fit_shap=partial(fit_shap_values, make_model=make_model, frame=frame),
    )
