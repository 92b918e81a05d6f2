"""Crude and adjusted associations between factor levels and the outcome.

Two lenses per one-hot level of the :class:`~ctdc_risk.encoding.FactorEncoder` design:

- **crude**: the outcome share among rows with the level and among rows without it, and their
  ratio (a prevalence ratio) with a Katz log interval; descriptive and unadjusted;
- **adjusted**: the odds ratio from one multivariable logistic regression over every
  non-reference level, so each level is compared with its own factor's reference level while the
  other factors are held fixed.

The adjusted model is Firth's bias-reduced logistic regression (:mod:`.firth`), so a level whose
cases all share one outcome (separation) keeps a finite estimate and stays in the model: no
level is dropped into its factor's reference. It is fitted on distinct rows with frequency
weights, and when ``groups`` says which rows are copies of one record, the interval uses the
larger of the model-based and the cluster-robust standard error (copies are one piece of
evidence). Only levels with no rows, and levels exactly collinear with others (their effect
cannot be told apart; the levels they alias are marked too), are left out and said so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from ctdc_risk.encoding import EncodedColumn
from ctdc_risk.errors import StudyError
from ctdc_risk.factors.firth import firth_logit
from ctdc_risk.stats import Z95, ratio_of_proportions, two_sided_p

log = logging.getLogger(__name__)

NOTE_REFERENCE = "reference level"
NOTE_EMPTY = "not estimable: no cases"
NOTE_SEPARATION = "every case has one outcome: Firth's penalised estimate"
NOTE_COLLINEAR = "not estimable: collinear with other levels"
NOTE_ALIASED = "aliased: a collinear level was left out beside it"
NOTE_NO_SE = "not estimable: no finite standard error"
NOTE_NOT_CONVERGED = "not estimable: the fit did not converge"

# A level is collinear when its squared distance from the span of the intercept and the earlier
# kept levels is below this fraction of its own squared norm (its row count).
COLLINEAR_TOL = 1e-9


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
    """Adjusted odds ratios from one multivariable Firth logistic regression.

    The model has an intercept and every non-reference column of ``X``; each odds ratio compares
    a level with its factor's reference level, holding the other factors fixed. Levels with no
    rows or exactly collinear with earlier levels come back with ``odds_ratio=None`` and a note;
    a level whose rows share one outcome is estimated (Firth) and noted. Nothing is raised for
    a difficult fit.

    Parameters
    ----------
    X
        ``(n_rows, n_columns)`` 0/1 indicator matrix (``FactorEncoder(output="onehot")``).
    columns
        One :class:`~ctdc_risk.encoding.EncodedColumn` per column of ``X``, in column order.
    y
        ``(n_rows,)`` binary outcome (0/1 or bool).
    groups
        ``(n_rows,)`` cluster label per row (e.g. the identical-record group); used only when
        ``cluster_robust`` is true. Missing labels form one cluster of their own.
    cluster_robust
        Use the larger of the model-based and the cluster-robust (sandwich) standard error.

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
    >>> round(level.odds_ratio, 3)  # Firth: (6.5 * 8.5) / (4.5 * 2.5), not the raw 6.0
    4.911
    """
    matrix, yv = _check_inputs(X, columns, y)
    cluster_codes = _cluster_codes(groups, matrix.shape[0]) if cluster_robust else None
    notes: dict[int, str] = {}
    candidates = _screen_levels(matrix, columns, yv, notes)
    active = _drop_collinear(matrix, candidates, columns, notes)
    estimates = _fit_firth(matrix, yv, active, cluster_codes, notes)
    out = []
    for j, col in enumerate(columns):
        if col.is_reference:
            out.append(AdjustedOddsRatio(col.factor, col.level, 1.0, None, None, NOTE_REFERENCE))
        elif j in estimates:
            odds_ratio, ci95, p_value = estimates[j]
            out.append(
                AdjustedOddsRatio(
                    col.factor, col.level, odds_ratio, ci95, p_value, notes.get(j, "")
                )
            )
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
    """Non-reference columns with rows; a level whose rows share one outcome is noted."""
    n_with = np.asarray(x.sum(axis=0)).ravel()
    x_with = np.asarray(x.T @ y).ravel()
    kept = []
    for j, col in enumerate(columns):
        if col.is_reference:
            continue
        if n_with[j] == 0:
            notes[j] = NOTE_EMPTY
        else:
            if x_with[j] == 0 or x_with[j] == n_with[j]:
                # Maximum likelihood would be infinite; Firth's estimate is finite.
                notes[j] = NOTE_SEPARATION
            kept.append(j)
    return kept


def _drop_collinear(
    x: sp.csr_matrix,
    candidates: list[int],
    columns: Sequence[EncodedColumn],
    notes: dict[int, str],
) -> list[int]:
    """Keep each candidate that is not in the span of the intercept and earlier kept columns.

    A dropped level's effect cannot be told apart from the kept levels it is a combination
    of; those levels are marked aliased (their estimate carries the dropped one's too).

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
            notes[j] = (
                f"{NOTE_COLLINEAR} ({_alias_names(chol, row, kept_pos, candidates, columns)})"
            )
            for partner in _aliases(chol, row, kept_pos, candidates):
                notes.setdefault(partner, NOTE_ALIASED)
            continue
        k = len(kept_pos)
        grown = np.zeros((k + 1, k + 1))
        grown[:k, :k] = chol
        grown[k, :k] = row
        grown[k, k] = math.sqrt(residual)
        chol = grown
        kept_pos.append(pos)
    return [candidates[p - 1] for p in kept_pos[1:]]


def independent_levels(
    x: sp.csr_matrix,
    candidates: list[int],
    columns: Sequence[EncodedColumn],
    notes: dict[int, str],
) -> list[int]:
    """The ``candidates`` columns of ``x`` kept in a model with an intercept, in order.

    A column in the span of the intercept and the earlier kept ones is left out, with a note
    naming what it duplicates (the same rule as the adjusted odds ratios).
    """
    return _drop_collinear(x, candidates, columns, notes)


def _aliases(
    chol: np.ndarray, row: np.ndarray, kept_pos: list[int], candidates: list[int]
) -> list[int]:
    """Kept candidate columns with a non-zero weight in the combination giving a collinear one."""
    weights = solve_triangular(chol.T, row, lower=False)
    return [
        candidates[pos - 1]
        for pos, w in zip(kept_pos, weights.tolist(), strict=True)
        if pos > 0 and abs(w) > 1e-6
    ]


def _alias_names(
    chol: np.ndarray,
    row: np.ndarray,
    kept_pos: list[int],
    candidates: list[int],
    columns: Sequence[EncodedColumn],
) -> str:
    partners = _aliases(chol, row, kept_pos, candidates)
    names = [f"{columns[j].factor}={columns[j].level}" for j in partners]
    return "same cases as " + (", ".join(names) if names else "the intercept")


def distinct_rows(
    x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Distinct (row, outcome) patterns of an indicator matrix, with weights.

    Returns the pattern index of each row, a representative row per pattern, the number of rows
    per pattern, the sum of squared cluster sizes per pattern (when ``groups`` is given; the
    cluster-robust covariance needs it) and the number of clusters.
    """
    csr = x.tocsr()
    csr.sort_indices()
    nnz = np.diff(csr.indptr)
    if len(nnz) and (nnz == nnz[0]).all():
        keys = csr.indices.reshape(len(nnz), int(nnz[0])).astype(np.int64)
    else:
        keys = csr.toarray().astype(np.int64)
    keys = np.column_stack([keys, y.astype(np.int64)])
    _, first, inverse, counts = np.unique(
        keys, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    if groups is None:
        return inverse, first, counts, None, 0
    pairs, sizes = np.unique(np.column_stack([inverse, groups]), axis=0, return_counts=True)
    squared = np.bincount(pairs[:, 0], weights=sizes.astype(np.float64) ** 2, minlength=len(first))
    return inverse, first, counts, squared, len(np.unique(groups))


def _fit_firth(
    x: sp.csr_matrix,
    y: np.ndarray,
    active: list[int],
    cluster_codes: np.ndarray | None,
    notes: dict[int, str],
) -> dict[int, tuple[float, tuple[float, float], float]]:
    """Odds ratio, Wald interval and p-value per active column from one Firth fit."""
    if not active:
        return {}
    _, first, counts, squared, n_clusters = distinct_rows(x, y, cluster_codes)
    design = np.ones((len(first), len(active) + 1))
    design[:, 1:] = x[first][:, active].toarray()
    try:
        fit = firth_logit(design, y[first], counts, cluster_weights=squared, n_clusters=n_clusters)
    except np.linalg.LinAlgError as exc:
        log.info("Firth logistic fit failed: %s", exc)
        return {}
    if not fit.converged or not np.isfinite(fit.params).all():
        log.info("Firth logistic fit did not converge in %d iterations", fit.n_iter)
        return {}
    se = fit.standard_errors()
    out = {}
    for k, j in enumerate(active, start=1):
        b, s = float(fit.params[k]), float(se[k])
        if not (math.isfinite(s) and s > 0):
            notes[j] = NOTE_NO_SE
            continue
        out[j] = (math.exp(b), (math.exp(b - Z95 * s), math.exp(b + Z95 * s)), two_sided_p(b / s))
    return out


OVERLAP_FLOOR = 0.05
NOT_KNOWN = frozenset({"unknown", "other (fewer than k cases)", "not recorded"})


def overlap_notes(
    codes: np.ndarray,
    levels: dict[str, tuple[str, ...]],
    reference: dict[str, str],
    labels: dict[str, str],
    *,
    k: int,
) -> dict[tuple[str, str], str]:
    """Contrasts with almost no common ground between a level and its reference.

    An adjusted odds ratio holds the other factors fixed; when the cases with a level and the
    cases with its reference share (almost) no known value of another factor (every citizen of
    one region crossed a border, every citizen of the other did not), the comparison "at the
    same value" has no cases behind it and the estimate is an extrapolation. For each level and
    each other factor, the overlap is the sum over that factor's known values of the smaller of
    the two shares; below :data:`OVERLAP_FLOOR` the contrast is noted (and never labelled).

    Parameters
    ----------
    codes
        ``(n_rows, n_factors)`` level index per row, factors in ``levels`` order.
    levels
        Factor -> its levels in code order.
    reference
        Factor -> its reference level.
    labels
        Factor -> its name in words (for the note).
    k
        A side with fewer than ``k`` known values is not judged.

    Examples
    --------
    >>> codes = np.array([[0, 0]] * 20 + [[1, 1]] * 20)
    >>> levels = {"region": ("north", "south"), "border": ("no", "yes")}
    >>> notes = overlap_notes(codes, levels, {"region": "north", "border": "no"},
    ...                       {"region": "region", "border": "crossed a border"}, k=5)
    >>> notes[("region", "south")]
    'no common ground with the reference level in crossed a border (overlap 0%)'
    """
    factors = list(levels)
    out: dict[tuple[str, str], str] = {}
    for a, fa in enumerate(factors):
        ref = levels[fa].index(reference[fa]) if reference.get(fa) in levels[fa] else -1
        if ref < 0:
            continue
        for j, level in enumerate(levels[fa]):
            if j == ref or level in NOT_KNOWN:
                continue
            rows_l, rows_r = codes[:, a] == j, codes[:, a] == ref
            worst: tuple[float, str] | None = None
            for b, fb in enumerate(factors):
                if b == a:
                    continue
                known = [i for i, lv in enumerate(levels[fb]) if lv not in NOT_KNOWN]
                if len(known) < 2:
                    continue
                n_b = len(levels[fb])
                cl = np.bincount(codes[rows_l, b], minlength=n_b)[known]
                cr = np.bincount(codes[rows_r, b], minlength=n_b)[known]
                if cl.sum() < k or cr.sum() < k:
                    continue
                overlap = float(np.minimum(cl / cl.sum(), cr / cr.sum()).sum())
                if overlap < OVERLAP_FLOOR and (worst is None or overlap < worst[0]):
                    worst = (overlap, labels.get(fb, fb))
            if worst is not None:
                out[(fa, level)] = (
                    f"no common ground with the reference level in {worst[1]} "
                    f"(overlap {worst[0]:.0%})"
                )
    return out
