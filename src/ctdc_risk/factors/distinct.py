"""Firth fits on distinct rows: CTDC records repeat, so each (row, outcome) pattern is fitted
once with its count as weight, and the clustered covariance counts identical records as one.

The main table's adjusted odds ratios and the interaction tests share this setup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ctdc_risk.factors.firth import FirthFit, firth_logit

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class DistinctDesign:
    """An indicator design reduced to its distinct (row, outcome) patterns.

    ``design`` holds an intercept column, then the chosen columns; ``weights`` counts the rows
    of each pattern, ``squared`` sums the squared cluster sizes per pattern (None without
    clusters) and ``n_clusters`` counts the clusters.
    """

    design: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    squared: np.ndarray | None
    n_clusters: int

    @classmethod
    def build(
        cls, x: sp.csr_matrix, y: np.ndarray, active: list[int], groups: np.ndarray | None
    ) -> DistinctDesign:
        """Columns ``active`` of ``x`` (with an intercept) on the distinct patterns of ``x``."""
        _, first, counts, squared, n_clusters = distinct_rows(x, y, groups)
        design = np.ones((len(first), len(active) + 1))
        design[:, 1:] = x[first][:, active].toarray()
        return cls(design, y[first], counts, squared, n_clusters)

    def fit(
        self, *, what: str, clustered: bool = True, fixed: int | None = None
    ) -> FirthFit | None:
        """Firth fit (``fixed``: a column held at 0), or None when it fails or does not converge.

        ``what`` names the fit in the log; ``clustered=False`` leaves out the clustered
        covariance (a restricted fit needs only its likelihood).
        """
        try:
            fit = firth_logit(
                self.design,
                self.y,
                self.weights,
                cluster_weights=self.squared if clustered else None,
                n_clusters=self.n_clusters if clustered else 0,
                fixed=None if fixed is None else np.array([fixed]),
            )
        except np.linalg.LinAlgError as exc:
            log.info("%s fit failed: %s", what, exc)
            return None
        if not fit.converged or not np.isfinite(fit.params).all():
            log.info("%s fit did not converge in %d iterations", what, fit.n_iter)
            return None
        return fit
