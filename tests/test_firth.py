"""Firth's penalised logistic regression: the penalised optimum, weights, closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from ctdc_risk.factors.firth import firth_logit


def _penalised_loglik(beta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    eta = X @ beta
    p = 1 / (1 + np.exp(-eta))
    info = X.T @ (X * (p * (1 - p))[:, None])
    return float(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(info)[1])


def test_the_fit_maximises_the_penalised_likelihood() -> None:
    rng = np.random.default_rng(0)
    n = 300
    X = np.column_stack(
        [np.ones(n), rng.integers(0, 2, n), rng.integers(0, 2, n), rng.normal(size=n)]
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ [-0.5, 1.0, -0.7, 0.3])))).astype(float)
    fit = firth_logit(X, y)
    best = minimize(lambda b: -_penalised_loglik(b, X, y), np.zeros(4), method="BFGS",
                    options={"gtol": 1e-10})  # fmt: skip
    assert fit.converged
    np.testing.assert_allclose(fit.params, best.x, atol=1e-6)


def test_a_two_by_two_table_adds_half_to_every_cell() -> None:
    # For one binary exposure Firth's estimate is the log odds ratio with 1/2 added to each cell.
    X = np.column_stack([np.ones(20), [0] * 10 + [1] * 10])
    y = np.array([0] * 5 + [1] * 5 + [1] * 10)  # every exposed case has the outcome
    fit = firth_logit(X, y)
    assert fit.params[1] == pytest.approx(math.log((10.5 / 0.5) / (5.5 / 5.5)), abs=1e-8)


def test_frequency_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(200), rng.integers(0, 2, 200), rng.integers(0, 3, 200)])
    y = rng.integers(0, 2, 200).astype(float)
    rows, counts = np.unique(np.column_stack([X, y]), axis=0, return_counts=True)
    weighted = firth_logit(rows[:, :3], rows[:, 3], counts)
    expanded = firth_logit(X, y)
    np.testing.assert_allclose(weighted.params, expanded.params, atol=1e-9)
    np.testing.assert_allclose(weighted.model_cov, expanded.model_cov, atol=1e-9)
