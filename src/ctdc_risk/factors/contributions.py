"""SHAP values per factor: exact TreeSHAP for LightGBM, exact linear SHAP for logistic regression.

The study's own explanation uses shap's ``TreeExplainer`` (``engine="shap"``): for a LightGBM
booster it returns LightGBM's own exact TreeSHAP (``pred_contrib``), never shap's C++ path, which
disagrees with LightGBM on categorical splits; a test asserts the two engines agree to the bit.
The bootstrap refits call ``pred_contrib`` directly (``engine="lightgbm"``): the same values,
without importing shap (2 s) in every worker. CTDC rows repeat heavily, so contributions are
computed once per *distinct* encoded row and then expanded: same values, a fraction of the
time. Because the LightGBM model sees one
integer-coded column per factor, its contributions are already per factor. For the logistic
model, the linear SHAP value of a factor is the sum over its one-hot columns of
``coef * (x - mean(x))`` (signed sum within the factor; absolute values are never summed across
levels). Every result is checked for additivity: contributions plus the base value equal the
model's log-odds for every row.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from ctdc_risk.encoding import FactorEncoder

ADDITIVITY_TOLERANCE = 1e-6
Engine = Literal["shap", "lightgbm"]


@dataclass(frozen=True)
class Contributions:
    """Per-row, per-factor SHAP values on the log-odds scale (kept in memory, never written)."""

    factors: tuple[str, ...]
    values: np.ndarray
    """(n_rows, n_factors)"""
    base_value: float
    codes: np.ndarray
    """(n_rows, n_factors) level index of each row in each factor (encoder level order)."""
    levels: dict[str, tuple[str, ...]]
    n_distinct_rows: int


def factor_codes(encoder: FactorEncoder, frame: pd.DataFrame) -> np.ndarray:
    """(n_rows, n_factors) level index of every row in every factor."""
    return np.column_stack([encoder._codes(frame, name, kind) for name, kind in encoder.factors])


def explain_model(
    pipeline: Pipeline, frame: pd.DataFrame, *, engine: Engine = "lightgbm"
) -> Contributions:
    """SHAP values per factor for every row of ``frame`` under a fitted model pipeline.

    ``engine`` chooses who computes a LightGBM model's TreeSHAP: shap's ``TreeExplainer`` or
    LightGBM's ``pred_contrib`` (identical values; the logistic model ignores it).
    """
    encoder: FactorEncoder = pipeline.named_steps["encode"]
    return explain_encoded(
        pipeline.named_steps["model"],
        encoder,
        encoder.transform(frame),
        factor_codes(encoder, frame),
        engine=engine,
    )


def explain_encoded(
    classifier: object,
    encoder: FactorEncoder,
    X: Any,
    codes: np.ndarray,
    *,
    engine: Engine = "lightgbm",
) -> Contributions:
    """SHAP values from an already encoded matrix ``X`` and its factor ``codes``."""
    factors = tuple(name for name, _ in encoder.factors)
    if encoder.output == "ordinal":
        values, base, n_distinct = _tree_shap(classifier, codes, engine=engine)
    else:
        values, base, n_distinct = _linear_shap(classifier, encoder, X, codes)
    return Contributions(factors, values, base, codes, dict(encoder.levels_), n_distinct)


def _check_additivity(values: np.ndarray, base: float, expected: np.ndarray) -> None:
    gap = float(np.max(np.abs(values.sum(axis=1) + base - expected))) if len(values) else 0.0
    if gap > ADDITIVITY_TOLERANCE:
        raise RuntimeError(f"SHAP additivity check failed: max gap {gap:.2e} on the log-odds scale")


def tree_contributions(booster: Any, X: np.ndarray, *, engine: Engine) -> np.ndarray:
    """(n_rows, n_features + 1) TreeSHAP values and the bias column of a LightGBM booster."""
    if engine == "lightgbm":
        return np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    import shap  # slow to import: only where the study's own explanation is computed

    explainer = shap.TreeExplainer(booster)
    with warnings.catch_warnings():
        # shap warns that its output for binary LightGBM changed shape; it is (rows, features).
        warnings.filterwarnings("ignore", message="LightGBM binary classifier")
        values = np.asarray(explainer.shap_values(X, check_additivity=False), dtype=np.float64)
    bias = np.full((len(X), 1), float(np.ravel(explainer.expected_value)[0]))
    return np.hstack([values.reshape(len(X), -1), bias])


def _tree_shap(
    classifier: object, codes: np.ndarray, *, engine: Engine
) -> tuple[np.ndarray, float, int]:
    booster = classifier.estimator_.booster_  # type: ignore[attr-defined]
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    X = uniq.astype(np.float64)
    contrib = tree_contributions(booster, X, engine=engine)
    _check_additivity(contrib[:, :-1], 0.0, booster.predict(X, raw_score=True) - contrib[:, -1])
    offset = float(classifier.offset_)  # type: ignore[attr-defined]
    # The bias column is the same for every row; the prior-shift correction moves only it.
    base = float(contrib[0, -1]) + offset if len(contrib) else offset
    values = contrib[:, :-1][inverse.ravel()]
    return values, base, len(uniq)


def _linear_shap(
    classifier: object, encoder: FactorEncoder, X: sp.csr_matrix, codes: np.ndarray
) -> tuple[np.ndarray, float, int]:
    model = classifier.estimator_  # type: ignore[attr-defined]
    coef = np.asarray(model.coef_).ravel()
    mean = np.asarray(X.mean(axis=0)).ravel()
    offsets = np.cumsum([0, *(len(encoder.levels_[name]) for name, _ in encoder.factors)])
    values = np.empty((X.shape[0], len(encoder.factors)))
    for i in range(len(encoder.factors)):
        lo, hi = offsets[i], offsets[i + 1]
        values[:, i] = X[:, lo:hi] @ coef[lo:hi] - float(mean[lo:hi] @ coef[lo:hi])
    offset = float(classifier.offset_)  # type: ignore[attr-defined]
    base = float(model.intercept_[0] + mean @ coef) + offset
    _check_additivity(values, base, np.asarray(X @ coef).ravel() + model.intercept_[0] + offset)
    return values, base, len(np.unique(codes, axis=0))


@dataclass(frozen=True)
class ShapSummary:
    """SHAP summaries of one set of rows: importance per factor, direction per level."""

    n_rows: int
    importance: dict[str, float]
    """mean |SHAP| per factor (log-odds)"""
    direction: dict[tuple[str, str], float | None]
    """mean SHAP where the level is present minus where its factor's reference level is (the
    contrast the odds ratio makes); None when either side has fewer than k rows"""
    n_with: dict[tuple[str, str], int]


def summarise_contributions(
    contrib: Contributions,
    *,
    k: int,
    rows: np.ndarray | None = None,
    reference: dict[str, str] | None = None,
) -> ShapSummary:
    """Importance and direction per factor level, over all rows or the rows in ``rows``.

    The direction of a level compares its rows with the rows of its factor's ``reference``
    level (the same contrast as the adjusted odds ratio); without ``reference``, with the
    factor's first level.
    """
    values = contrib.values if rows is None else contrib.values[rows]
    codes = contrib.codes if rows is None else contrib.codes[rows]
    n = len(values)
    importance = {
        f: float(np.abs(values[:, i]).mean()) if n else 0.0 for i, f in enumerate(contrib.factors)
    }
    direction: dict[tuple[str, str], float | None] = {}
    n_with: dict[tuple[str, str], int] = {}
    for i, factor in enumerate(contrib.factors):
        col = values[:, i]
        counts = np.bincount(codes[:, i], minlength=len(contrib.levels[factor]))
        sums = np.bincount(codes[:, i], weights=col, minlength=len(contrib.levels[factor]))
        levels = contrib.levels[factor]
        ref_level = (reference or {}).get(factor, levels[0])
        r = levels.index(ref_level) if ref_level in levels else 0
        for j, level in enumerate(levels):
            m = int(counts[j])
            n_with[(factor, level)] = m
            if j == r or m < k or counts[r] < k:
                direction[(factor, level)] = None
                continue
            direction[(factor, level)] = float(sums[j] / m - sums[r] / counts[r])
    return ShapSummary(n, importance, direction, n_with)
