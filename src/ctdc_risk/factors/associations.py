"""Crude and adjusted associations between factor levels and the outcome.

Two lenses per one-hot level of the :class:`~ctdc_risk.encoding.FactorEncoder` design:

- **crude**: the outcome share among rows with the level and among rows without it, and their
  ratio (a prevalence ratio) with a Katz log interval; descriptive and unadjusted;
- **adjusted**: the odds ratio from one multivariable logistic regression over every
  non-reference level, so each level is compared with its own factor's reference level while the
  other factors are held fixed; 95 % Wald intervals, optionally cluster-robust by a grouping such
  as country of citizenship.

CTDC data are sparse and lumpy, so the design is screened before fitting: empty levels, levels
whose rows all share one outcome (separation) and levels exactly collinear with earlier ones are
left out and reported as not estimable, and a fit that still breaks marks the affected levels
instead of raising. statsmodels is imported inside the fitting function (it takes seconds).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from ctdc_risk.encoding import EncodedColumn
from ctdc_risk.errors import StudyError
from ctdc_risk.stats import Z95, ratio_of_proportions

log = logging.getLogger(__name__)

NOTE_REFERENCE = "reference level"
NOTE_EMPTY = "not estimable (no rows)"
NOTE_SEPARATION = "not estimable (separation)"
NOTE_COLLINEAR = "not estimable (collinear)"
NOTE_QUASI_SEPARATION = "not estimable (quasi-separation)"
NOTE_NO_SE = "not estimable (no finite standard error)"
NOTE_NOT_CONVERGED = "not estimable (fit did not converge)"

MAXITER = 100
# After screening, a genuine log odds ratio rests on at least one row of each outcome, which
# bounds it near log(n) (about 12 for 200,000 rows) and its standard error near a few units.
# Coefficients or standard errors far beyond that are the signature of (quasi-)separation.
MAX_ABS_LOG_OR = 20.0
MAX_SE = 50.0
# A level is collinear when its squared distance from the span of the intercept and the earlier
# kept levels is below this fraction of its own squared norm (its row count).
COLLINEAR_TOL = 1e-9
MAX_ROUNDS = 5


@dataclass(frozen=True)
class CrudeAssociation:
    """Outcome shares with and without one factor level, and their ratio.

    Attributes
    ----------
    factor, level
        The encoded column this row describes.
    n_with, n_without
        Rows with and without the level (they add up to the number of rows).
    share_with, share_without
        Outcome share among those rows; ``None`` when there are no such rows.
    prevalence_ratio
        ``share_with / share_without``; ``None`` when a count is zero (undefined).
    pr_ci95
        Katz 95 % interval of the ratio on the log scale; ``None`` when the ratio is.
    """

    factor: str
    level: str
    n_with: int
    n_without: int
    share_with: float | None
    share_without: float | None
    prevalence_ratio: float | None
    pr_ci95: tuple[float, float] | None


@dataclass(frozen=True)
class AdjustedOddsRatio:
    """Odds ratio of one level against its factor's reference, adjusted for the other factors.

    Attributes
    ----------
    factor, level
        The encoded column this row describes.
    odds_ratio
        ``exp(coef)``; ``1.0`` for the reference level, ``None`` when not estimable.
    ci95
        95 % Wald interval (cluster-robust when asked); ``None`` for the reference level and
        levels that are not estimable.
    p_value
        Two-sided Wald p-value; ``None`` when there is no interval.
    note
        Why a level has no estimate (``"reference level"``, ``"not estimable (separation)"``,
        ``"not estimable (collinear)"``, ...), or a fit warning; empty otherwise.
    """

    factor: str
    level: str
    odds_ratio: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    note: str = ""


def crude_associations(
    X: sp.csr_matrix,
    columns: Sequence[EncodedColumn],
    y: np.ndarray,
) -> tuple[CrudeAssociation, ...]:
    """Outcome shares and prevalence ratios for every encoded column.

    Parameters
    ----------
    X
        ``(n_rows, n_columns)`` 0/1 indicator matrix (``FactorEncoder(output="onehot")``).
    columns
        One :class:`~ctdc_risk.encoding.EncodedColumn` per column of ``X``, in column order.
    y
        ``(n_rows,)`` binary outcome (0/1 or bool).

    Returns
    -------
    tuple of CrudeAssociation
        One per column, reference columns included, in column order.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from ctdc_risk.encoding import EncodedColumn
    >>> X = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]]))
    >>> cols = (EncodedColumn("f", "no", True), EncodedColumn("f", "yes", False))
    >>> crude = crude_associations(X, cols, np.array([0, 1, 1, 1]))
    >>> crude[1].n_with, crude[1].share_with, crude[1].prevalence_ratio
    (2, 1.0, 2.0)
    """
    matrix, yv = _check_inputs(X, columns, y)
    n = matrix.shape[0]
    # Column sums of the indicators and of the indicators times the outcome: no loop over rows.
    n_with = np.rint(np.asarray(matrix.sum(axis=0)).ravel()).astype(np.int64)
    x_with = np.rint(np.asarray(matrix.T @ yv).ravel()).astype(np.int64)
    total = round(float(yv.sum()))
    out = []
    for j, col in enumerate(columns):
        nw, xw = int(n_with[j]), int(x_with[j])
        nwo, xwo = n - nw, total - xw
        ratio = ratio_of_proportions(xw, nw, xwo, nwo)
        out.append(
            CrudeAssociation(
                factor=col.factor,
                level=col.level,
                n_with=nw,
                n_without=nwo,
                share_with=xw / nw if nw > 0 else None,
                share_without=xwo / nwo if nwo > 0 else None,
                prevalence_ratio=None if ratio is None else ratio[0],
                pr_ci95=None if ratio is None else ratio[1],
            )
        )
    return tuple(out)


def adjusted_odds_ratios(
    X: sp.csr_matrix,
    columns: Sequence[EncodedColumn],
    y: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    cluster_robust: bool = False,
) -> tuple[AdjustedOddsRatio, ...]:
    """Adjusted odds ratios from one multivariable logistic regression.

    The model has an intercept and every non-reference column of ``X``; each odds ratio compares
    a level with its factor's reference level, holding the other factors fixed. Levels that
    cannot be estimated (no rows, one outcome class, exactly collinear with earlier levels,
    (quasi-)separation found while fitting) come back with ``odds_ratio=None`` and a note; the
    other levels are estimated without them. Nothing is raised for a difficult fit, and no
    statsmodels warning escapes.

    Parameters
    ----------
    X
        ``(n_rows, n_columns)`` 0/1 indicator matrix (``FactorEncoder(output="onehot")``).
    columns
        One :class:`~ctdc_risk.encoding.EncodedColumn` per column of ``X``, in column order.
    y
        ``(n_rows,)`` binary outcome (0/1 or bool).
    groups
        ``(n_rows,)`` cluster label per row (e.g. country of citizenship); used only when
        ``cluster_robust`` is true. Missing labels form one cluster of their own.
    cluster_robust
        Use a cluster-robust (sandwich) covariance by ``groups`` for the intervals.

    Returns
    -------
    tuple of AdjustedOddsRatio
        One per column, in column order; reference levels have ``odds_ratio=1.0`` and the note
        ``"reference level"``.

    Raises
    ------
    ValueError
        When the shapes disagree, ``y`` is not binary, or ``cluster_robust`` is asked without
        ``groups``.
    StudyError
        When ``cluster_robust`` is asked and ``groups`` has fewer than two clusters.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from ctdc_risk.encoding import EncodedColumn
    >>> yes = np.array([0] * 10 + [1] * 10)
    >>> y = np.array([0] * 8 + [1] * 2 + [0] * 4 + [1] * 6)
    >>> X = sp.csr_matrix(np.column_stack([1 - yes, yes]))
    >>> cols = (EncodedColumn("f", "no", True), EncodedColumn("f", "yes", False))
    >>> ref, level = adjusted_odds_ratios(X, cols, y)
    >>> ref.odds_ratio, ref.note
    (1.0, 'reference level')
    >>> round(level.odds_ratio, 6)  # (6 * 8) / (4 * 2)
    6.0
    """
    matrix, yv = _check_inputs(X, columns, y)
    cluster_codes = _cluster_codes(groups, matrix.shape[0]) if cluster_robust else None
    notes: dict[int, str] = {}
    candidates = _screen_levels(matrix, columns, yv, notes)
    active = _drop_collinear(matrix, candidates, notes)
    estimates = _fit_rounds(matrix, yv, active, cluster_codes, notes)
    out = []
    for j, col in enumerate(columns):
        if col.is_reference:
            out.append(AdjustedOddsRatio(col.factor, col.level, 1.0, None, None, NOTE_REFERENCE))
        elif j in estimates:
            odds_ratio, ci95, p_value = estimates[j]
            note = notes.get(j, "")
            out.append(AdjustedOddsRatio(col.factor, col.level, odds_ratio, ci95, p_value, note))
        else:
            note = notes.get(j, NOTE_NOT_CONVERGED)
            out.append(AdjustedOddsRatio(col.factor, col.level, None, None, None, note))
    return tuple(out)


def _check_inputs(
    x: Any, columns: Sequence[EncodedColumn], y: Any
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Validated CSR float64 indicators and a float64 0/1 outcome."""
    matrix = sp.csr_matrix(x, dtype=np.float64)
    n_rows, n_cols = matrix.shape
    if n_cols != len(columns):
        raise ValueError(
            f"X has {n_cols} columns but columns describes {len(columns)}; pass the encoder's "
            "columns_ for the matrix it produced."
        )
    if matrix.data.size and not np.isin(matrix.data, (0.0, 1.0)).all():
        raise ValueError("X must hold 0/1 indicators (FactorEncoder output='onehot').")
    yv = np.asarray(y)
    if yv.ndim != 1 or yv.shape[0] != n_rows:
        raise ValueError(f"y must have shape ({n_rows},) to match X; got {yv.shape}.")
    yf = yv.astype(np.float64)
    if not np.isin(yf, (0.0, 1.0)).all():
        raise ValueError("y must be a binary outcome (0/1 or bool, no missing values).")
    return matrix, yf


def _cluster_codes(groups: np.ndarray | None, n_rows: int) -> np.ndarray:
    """Integer cluster code per row (statsmodels wants integers); missing labels are a cluster."""
    if groups is None:
        raise ValueError("cluster_robust=True needs groups (one cluster label per row).")
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise ValueError(f"groups must have shape ({n_rows},) to match X; got {labels.shape}.")
    codes, uniques = pd.factorize(labels, use_na_sentinel=False)
    if len(uniques) < 2:
        raise StudyError(
            f"cluster-robust intervals need at least two clusters; groups has {len(uniques)}. "
            "Turn cluster_robust off or cluster by a variable that varies."
        )
    return np.asarray(codes, dtype=np.int64)


def _screen_levels(
    x: sp.csr_matrix, columns: Sequence[EncodedColumn], y: np.ndarray, notes: dict[int, str]
) -> list[int]:
    """Non-reference columns with rows of both outcomes; the others get a note."""
    n_with = np.asarray(x.sum(axis=0)).ravel()
    x_with = np.asarray(x.T @ y).ravel()
    kept = []
    for j, col in enumerate(columns):
        if col.is_reference:
            continue
        if n_with[j] == 0:
            notes[j] = NOTE_EMPTY
        elif x_with[j] == 0 or x_with[j] == n_with[j]:
            # Every row with this level has the same outcome: the MLE is infinite.
            notes[j] = NOTE_SEPARATION
        else:
            kept.append(j)
    return kept


def _drop_collinear(x: sp.csr_matrix, candidates: list[int], notes: dict[int, str]) -> list[int]:
    """Keep each candidate that is not in the span of the intercept and earlier kept columns.

    Works on the Gram matrix of ``[1, x]`` (exact integer counts, built sparse), with an
    incremental Cholesky factor: the squared residual of column ``j`` after projecting on the
    kept columns is ``G[j, j] - l @ l`` with ``L l = G[kept, j]``.
    """
    if not candidates:
        return []
    sub = x[:, candidates]
    counts = np.asarray(sub.sum(axis=0)).ravel()
    gram = np.empty((len(candidates) + 1, len(candidates) + 1))
    gram[0, 0] = x.shape[0]
    gram[0, 1:] = gram[1:, 0] = counts
    gram[1:, 1:] = (sub.T @ sub).toarray()
    kept_pos = [0]
    chol = np.array([[math.sqrt(gram[0, 0])]])
    for pos, j in enumerate(candidates, start=1):
        g = gram[kept_pos, pos]
        row = solve_triangular(chol, g, lower=True)
        residual = gram[pos, pos] - float(row @ row)
        if residual <= COLLINEAR_TOL * gram[pos, pos]:
            notes[j] = NOTE_COLLINEAR
            continue
        k = len(kept_pos)
        grown = np.zeros((k + 1, k + 1))
        grown[:k, :k] = chol
        grown[k, :k] = row
        grown[k, k] = math.sqrt(residual)
        chol = grown
        kept_pos.append(pos)
    return [candidates[p - 1] for p in kept_pos[1:]]


@dataclass(frozen=True)
class _Fit:
    params: np.ndarray
    bse: np.ndarray
    model_bse: np.ndarray
    pvalues: np.ndarray
    converged: bool
    warnings: tuple[str, ...]


def _dense_design(x: sp.csr_matrix, active: list[int]) -> np.ndarray:
    """Intercept plus the active columns as a dense float64 array (filled column by column)."""
    design = np.zeros((x.shape[0], len(active) + 1))
    design[:, 0] = 1.0
    csc = x[:, active].tocsc()
    for k in range(len(active)):
        start, stop = csc.indptr[k], csc.indptr[k + 1]
        design[csc.indices[start:stop], k + 1] = csc.data[start:stop]
    return design


def _fit_logit(
    design: np.ndarray, y: np.ndarray, method: str, cluster_codes: np.ndarray | None
) -> _Fit | None:
    """One statsmodels Logit fit; ``None`` when it raises. Warnings are recorded, not shown."""
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    kwargs: dict[str, Any] = {"method": method, "maxiter": MAXITER, "disp": 0}
    if cluster_codes is not None:
        kwargs.update(cov_type="cluster", cov_kwds={"groups": cluster_codes})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # The rank is checked before fitting; statsmodels' own QR check would repeat it.
            result = Logit(y, design, check_rank=False).fit(**kwargs)
            params = np.asarray(result.params, dtype=np.float64)
            bse = np.asarray(result.bse, dtype=np.float64)
            pvalues = np.asarray(result.pvalues, dtype=np.float64)
            cov = result.normalized_cov_params
            model_bse = (
                np.full_like(params, np.nan)
                if cov is None
                else np.sqrt(np.abs(np.diag(np.asarray(cov, dtype=np.float64))))
            )
            converged = bool(result.mle_retvals.get("converged", False))
        except (np.linalg.LinAlgError, PerfectSeparationError, ValueError, ArithmeticError) as e:
            log.info("logistic fit (%s) failed: %s: %s", method, type(e).__name__, e)
            return None
    names = tuple(sorted({w.category.__name__ for w in caught}))
    for w in caught:
        log.debug("statsmodels (%s): %s: %s", method, w.category.__name__, w.message)
    return _Fit(params, bse, model_bse, pvalues, converged, names)


def _fit_with_fallback(
    design: np.ndarray, y: np.ndarray, cluster_codes: np.ndarray | None
) -> _Fit | None:
    """Newton, then BFGS if Newton raised, did not converge or gave non-finite estimates."""
    newton = _fit_logit(design, y, "newton", cluster_codes)
    if newton is not None and newton.converged and np.isfinite(newton.params).all():
        return newton
    bfgs = _fit_logit(design, y, "bfgs", cluster_codes)
    if bfgs is not None and bfgs.converged and np.isfinite(bfgs.params).all():
        return bfgs
    # Neither converged: keep one with estimates so the diverging levels can be identified.
    for fit in (newton, bfgs):
        if fit is not None and np.isfinite(fit.params).any():
            return fit
    return None


def _fit_rounds(
    x: sp.csr_matrix,
    y: np.ndarray,
    active: list[int],
    cluster_codes: np.ndarray | None,
    notes: dict[int, str],
) -> dict[int, tuple[float, tuple[float, float], float]]:
    """Fit, drop levels that diverge (quasi-separation), refit; odds ratios of the rest."""
    for _ in range(MAX_ROUNDS):
        if not active:
            return {}
        fit = _fit_with_fallback(_dense_design(x, active), y, cluster_codes)
        if fit is None:
            break
        coef, model_se = fit.params[1:], fit.model_bse[1:]
        diverging = (
            ~np.isfinite(coef)
            | (np.abs(coef) > MAX_ABS_LOG_OR)
            | (np.isfinite(model_se) & (model_se > MAX_SE))
        )
        if diverging.any():
            # Separation by a combination of levels: drop those levels and refit the others.
            for j in np.asarray(active)[diverging].tolist():
                notes[j] = NOTE_QUASI_SEPARATION
            active = [j for j, bad in zip(active, diverging.tolist(), strict=True) if not bad]
            continue
        if not fit.converged:
            break
        return _odds_ratios(fit, active, notes)
    for j in active:
        notes[j] = NOTE_NOT_CONVERGED
    return {}


def _odds_ratios(
    fit: _Fit, active: list[int], notes: dict[int, str]
) -> dict[int, tuple[float, tuple[float, float], float]]:
    """exp(coef) with its Wald interval per active column; a fit warning becomes a note."""
    warning_note = f"fit warning: {', '.join(fit.warnings)}" if fit.warnings else ""
    out = {}
    for k, j in enumerate(active, start=1):
        b, se, p = float(fit.params[k]), float(fit.bse[k]), float(fit.pvalues[k])
        if not (math.isfinite(se) and se > 0 and math.isfinite(p)):
            notes[j] = NOTE_NO_SE
            continue
        out[j] = (math.exp(b), (math.exp(b - Z95 * se), math.exp(b + Z95 * se)), p)
        if warning_note:
            notes[j] = warning_note
    return out
