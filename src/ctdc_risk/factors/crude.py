"""Crude associations between factor levels and the outcome: the descriptive lens.

For each one-hot level of the :class:`~ctdc_risk.encoding.FactorEncoder` design, the outcome
share among rows with the level and among rows without it, and their ratio (a prevalence
ratio) with a Katz log interval; descriptive and unadjusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ctdc_risk.encoding import EncodedColumn
from ctdc_risk.stats import ratio_of_proportions


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
    >>> from ctdc_risk.encoding import EncodedColumn, FactorEncoder
    >>> X = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]]))
    >>> cols = (EncodedColumn("f", "no", True), EncodedColumn("f", "yes", False))
    >>> crude = crude_associations(X, cols, np.array([0, 1, 1, 1]))
    >>> crude[1].n_with, crude[1].share_with, crude[1].prevalence_ratio
    (2, 1.0, 2.0)
    """
    matrix, yv = check_inputs(X, columns, y)
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


def check_inputs(
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
