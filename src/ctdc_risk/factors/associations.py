"""Adjusted associations between factor levels and the outcome.

The adjusted lens of each one-hot level of the :class:`~ctdc_risk.encoding.FactorEncoder`
design (the crude lens is :mod:`.crude`): the odds ratio from one multivariable logistic
regression over every non-reference level, so each level is compared with its own factor's
reference level while the other factors are held fixed.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from ctdc_risk.encoding import EncodedColumn, FactorEncoder
from ctdc_risk.errors import StudyError
from ctdc_risk.factors.crude import check_inputs
from ctdc_risk.factors.distinct import DistinctDesign
from ctdc_risk.stats import Z95, two_sided_p

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
    >>> from ctdc_risk.encoding import EncodedColumn, FactorEncoder
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
    matrix, yv = check_inputs(X, columns, y)
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


@dataclass(frozen=True)
class AdjustedFit:
    """The encoder fitted on the cases, its one-hot design and the Firth odds ratios on it."""

    encoder: FactorEncoder
    X: sp.csr_matrix
    odds_ratios: tuple[AdjustedOddsRatio, ...]


def fit_adjusted(
    frame: pd.DataFrame,
    y: np.ndarray,
    factors: tuple[tuple[str, str], ...],
    *,
    k: int,
    positive_only: bool,
    reference: Mapping[str, str] | None = None,
    groups: np.ndarray | None = None,
) -> AdjustedFit:
    """Fit the factor encoder on ``frame``, then :func:`adjusted_odds_ratios` on its design.

    The setup every adjusted estimate shares (the study's, each bootstrap refit's, each
    sensitivity analysis'): levels pooled below ``k`` and reference levels chosen by the
    encoder's documented rule unless ``reference`` names them. With ``groups`` (identical-record
    group per row), intervals are clustered on them. A ValueError from the encoder (a named
    reference level missing in these cases) propagates.
    """
    encoder = FactorEncoder(
        factors, min_count=k, positive_only=positive_only, reference=reference
    ).fit(frame, y)
    X = encoder.transform(frame)
    odds_ratios = adjusted_odds_ratios(
        X, encoder.columns_, y, groups=groups, cluster_robust=groups is not None
    )
    return AdjustedFit(encoder, X, odds_ratios)


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
    fit = DistinctDesign.build(x, y, active, cluster_codes).fit(what="Firth logistic")
    if fit is None:
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
