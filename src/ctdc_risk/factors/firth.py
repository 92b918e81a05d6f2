"""Firth's bias-reduced logistic regression, on weighted distinct rows, with clustered errors.

Maximum likelihood gives infinite odds ratios when a level's cases all share one outcome
(separation), and biased ones when a level is small. Firth's penalty (Firth 1993; Heinze and
Schemper 2002) adds half the log-determinant of the Fisher information to the log-likelihood:
every estimate stays finite, and small-sample bias shrinks, without dropping or merging a level.

CTDC records repeat, so the fit runs on distinct rows with frequency weights (the same estimate
as on every row, in a fraction of the time). Copies of one record are one cluster: the
cluster-robust (sandwich) covariance sums each cluster's score before squaring it, so a record
that appears 60 times counts as one piece of evidence, not 60.

Pure numpy; no statsmodels import (it takes seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_ITER = 100
TOLERANCE = 1e-8
MAX_HALVINGS = 25


@dataclass(frozen=True)
class FirthFit:
    """A penalised logistic fit.

    Attributes
    ----------
    params
        Coefficients, intercept first when the design has one.
    model_cov
        Inverse Fisher information at the estimate (rows treated as independent).
    robust_cov
        Cluster-robust sandwich covariance, or ``None`` when no cluster weights were given.
    converged
        Whether the largest Newton step fell below the tolerance.
    n_iter
        Newton iterations used.
    penalised_loglik
        Log-likelihood plus half the log-determinant of the Fisher information (of the whole
        design, also when coefficients were held at zero) at the estimate.
    """

    params: np.ndarray
    model_cov: np.ndarray
    robust_cov: np.ndarray | None
    converged: bool
    n_iter: int
    penalised_loglik: float = math.nan

    def standard_errors(self) -> np.ndarray:
        """The larger of the model-based and the cluster-robust standard error, per coefficient.

        Taking the larger keeps an interval honest both when copies inflate the evidence (the
        robust one is larger) and when a separated level leaves almost no residual for the
        sandwich to measure (the model-based one is larger).
        """
        model: np.ndarray = np.sqrt(np.clip(np.diag(self.model_cov), 0.0, None))
        if self.robust_cov is None:
            return model
        robust: np.ndarray = np.sqrt(np.clip(np.diag(self.robust_cov), 0.0, None))
        out: np.ndarray = np.maximum(model, robust)
        return out


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * eta))
    return out


def _state(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Penalised log-likelihood, probabilities, information, its inverse and the hat diagonal."""
    eta = X @ beta
    p = _sigmoid(eta)
    v = w * p * (1.0 - p)
    info = X.T @ (X * v[:, None])
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0:
        raise np.linalg.LinAlgError("singular Fisher information")
    inv = np.linalg.inv(info)
    hat = v * np.einsum("ij,jk,ik->i", X, inv, X)
    # log p and log(1 - p) written to stay finite for large |eta|.
    loglik = float(np.sum(w * (y * -np.logaddexp(0.0, -eta) + (1 - y) * -np.logaddexp(0.0, eta))))
    return loglik + 0.5 * logdet, p, info, inv, hat


def firth_logit(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    cluster_weights: np.ndarray | None = None,
    n_clusters: int = 0,
    max_iter: int = MAX_ITER,
    tol: float = TOLERANCE,
    fixed: np.ndarray | None = None,
) -> FirthFit:
    """Fit Firth's penalised logistic regression by Newton steps with step halving.

    Parameters
    ----------
    X
        ``(n, p)`` design (include a column of ones for an intercept), full column rank.
    y
        ``(n,)`` outcome 0/1.
    weights
        ``(n,)`` frequency weight of each row (the number of records it stands for); 1 if None.
    cluster_weights
        ``(n,)`` sum over the clusters within each row of the squared cluster size. When every
        cluster is one set of identical records and rows are distinct records, a row's score is
        the same for each of its copies, so a cluster of size m contributes ``m**2`` times the
        row's squared score. ``None`` gives no robust covariance.
    fixed
        Indices of coefficients held at zero. The penalty stays that of the whole design, so
        twice the difference of the penalised log-likelihoods of the fit without and with
        ``fixed`` is Heinze and Schemper's penalised likelihood ratio statistic for those
        coefficients (asymptotically chi-square with ``len(fixed)`` degrees of freedom).

    Returns
    -------
    FirthFit

    Raises
    ------
    numpy.linalg.LinAlgError
        When the design is rank deficient.

    Examples
    --------
    Complete separation: maximum likelihood diverges, Firth stays finite.

    >>> X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> fit = firth_logit(X, np.array([0, 0, 1, 1, 1, 1]))
    >>> fit.converged, bool(np.isfinite(fit.params).all()), bool(fit.params[1] > 0)
    (True, True, True)
    """
    design = np.asarray(X, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    w = np.ones(len(yv)) if weights is None else np.asarray(weights, dtype=np.float64)
    beta = np.zeros(design.shape[1])
    free = np.ones(design.shape[1], dtype=bool)
    if fixed is not None:
        free[np.asarray(fixed, dtype=np.int64)] = False
    value, p, info, inv, hat = _state(design, yv, w, beta)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        score = design.T @ (w * (yv - p) + hat * (0.5 - p))
        if free.all():
            step = inv @ score
        else:
            # Newton step in the free coefficients only: their block of the information.
            step = np.zeros_like(beta)
            step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        size = 1.0
        for _ in range(MAX_HALVINGS):
            trial = beta + size * step
            try:
                new_value, new_p, new_info, new_inv, new_hat = _state(design, yv, w, trial)
            except np.linalg.LinAlgError:
                size /= 2
                continue
            if new_value >= value - 1e-10:
                break
            size /= 2
        else:
            # No step along Newton's direction improves the penalised likelihood: at its
            # maximum (up to rounding) when the modified score is negligible.
            converged = _score_is_negligible(score, w)
            break
        beta, value, p, info, inv, hat = trial, new_value, new_p, new_info, new_inv, new_hat
        moved = float(np.max(np.abs(size * step)))
        # Steps can cycle at rounding level on a flat optimum: converged once they are tiny
        # and the modified score is negligible.
        if moved < tol or (moved < 1e-7 and _score_is_negligible(score, w)):
            converged = True
            break
    robust = None
    if cluster_weights is not None:
        cw = np.asarray(cluster_weights, dtype=np.float64)
        # Per-record modified score: (y - p + h1 (1/2 - p)) x, with h1 the hat value of one copy.
        per_copy = (yv - p) + np.divide(hat, w, out=np.zeros_like(hat), where=w > 0) * (0.5 - p)
        meat = design.T @ (design * (cw * per_copy**2)[:, None])
        factor = n_clusters / (n_clusters - 1) if n_clusters > 1 else 1.0
        robust = factor * (inv @ meat @ inv)
    return FirthFit(beta, inv, robust, converged, n_iter, value)


def _score_is_negligible(score: np.ndarray, w: np.ndarray) -> bool:
    """The modified score is zero up to rounding, relative to the number of records."""
    return bool(np.max(np.abs(score)) <= 1e-7 * max(float(np.sum(w)), 1.0))
