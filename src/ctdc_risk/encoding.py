"""Turn factors into model columns, learning levels from the training rows only.

:class:`FactorEncoder` is a scikit-learn transformer, so it sits inside every model pipeline and
cross-validation refits it per fold (no leakage of level counts from test rows). Per factor:

- missing values are their own level, ``unknown`` (never folded into "no");
- flags are ``yes`` / ``no`` / ``unknown``; for positive-only releases ``recorded`` /
  ``not recorded`` (blank cannot mean "no" there, and the names say so);
- category levels with fewer than ``min_count`` (the privacy floor k) training rows are pooled
  into ``other (fewer than k cases)``; if the pool itself is still smaller than k it joins the
  reference level, so no model column rests on fewer than k rows;
- the reference level is ``no`` / ``not recorded`` for flags and the most common known level
  for categories (adjusted odds ratios compare against it).

``output="onehot"`` gives a sparse indicator matrix (one column per level, reference included);
``output="ordinal"`` gives one integer-coded column per factor for LightGBM's categorical
splits, so tree contributions are already per factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

UNKNOWN = "unknown"
POOLED = "other (fewer than k cases)"


@dataclass(frozen=True)
class EncodedColumn:
    """One one-hot column: which factor and level it stands for."""

    factor: str
    level: str
    is_reference: bool

    @property
    def name(self) -> str:
        return f"{self.factor}={self.level}"


def factor_codes(
    frame: pd.DataFrame, factor: str, kind: str, positive_only: bool
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer code per row and the level text of each code (vectorised: no per-row strings)."""
    col = frame[factor]
    if kind in ("flag", "binary"):
        yes = col.fillna(False).to_numpy(dtype=bool)
        # A "binary" factor is derived by this package (cross-border from two countries), so
        # its "no" is real even in a positive-only release.
        if positive_only and kind == "flag":
            return np.where(yes, 0, 1), ("recorded", "not recorded")
        no = (~col.astype("boolean")).fillna(False).to_numpy(dtype=bool)
        return np.where(yes, 0, np.where(no, 1, 2)), ("yes", "no", UNKNOWN)
    cat = col if isinstance(col.dtype, pd.CategoricalDtype) else col.astype("category")
    labels = tuple(str(c) for c in cat.cat.categories)
    codes = cat.cat.codes.to_numpy().astype(np.int64)
    return np.where(codes < 0, len(labels), codes), (*labels, UNKNOWN)


class FactorEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Encode factor columns of the canonical frame; levels learnt in ``fit``.

    Parameters
    ----------
    factors
        ``(name, kind)`` pairs, kind ``"category"``, ``"flag"`` (a release's yes/no item) or
        ``"binary"`` (a yes/no/unknown column derived by this package, never positive-only).
    min_count
        Levels with fewer training rows are pooled (the privacy floor k).
    positive_only
        Flags are positive-only (``recorded`` / ``not recorded``).
    output
        ``"onehot"`` (sparse indicators) or ``"ordinal"`` (integer codes per factor).
    """

    def __init__(
        self,
        factors: tuple[tuple[str, str], ...] = (),
        *,
        min_count: int = 10,
        positive_only: bool = False,
        output: Literal["onehot", "ordinal"] = "onehot",
    ) -> None:
        self.factors = factors
        self.min_count = min_count
        self.positive_only = positive_only
        self.output = output

    def fit(self, X: pd.DataFrame, y: Any = None) -> FactorEncoder:
        if self.output not in ("onehot", "ordinal"):
            raise ValueError(f"output must be 'onehot' or 'ordinal'; got {self.output!r}")
        self.levels_: dict[str, tuple[str, ...]] = {}
        self.mapping_: dict[str, dict[str, str]] = {}
        for name, kind in self.factors:
            codes, labels = factor_codes(X, name, kind, self.positive_only)
            counts = np.bincount(codes, minlength=len(labels))
            levels, mapping = self._learn_levels(
                dict(zip(labels, counts.tolist(), strict=True)), kind
            )
            self.levels_[name] = levels
            self.mapping_[name] = mapping
        self.columns_: tuple[EncodedColumn, ...] = tuple(
            EncodedColumn(name, level, i == 0)
            for name, _ in self.factors
            for i, level in enumerate(self.levels_[name])
        )
        self.n_features_in_ = len(self.factors)
        return self

    def _learn_levels(
        self, all_counts: dict[str, int], kind: str
    ) -> tuple[tuple[str, ...], dict[str, str]]:
        count = {lv: n for lv, n in all_counts.items() if n > 0}
        if kind in ("flag", "binary"):
            reference = "not recorded" if self.positive_only and kind == "flag" else "no"
        else:
            known = {lv: n for lv, n in count.items() if lv != UNKNOWN}
            reference = max(sorted(known), key=lambda lv: known[lv]) if known else UNKNOWN
        mapping = {lv: lv for lv in count}
        rare = [lv for lv, n in count.items() if n < self.min_count and lv != reference]
        if kind == "category" and rare:
            pooled_n = sum(count[lv] for lv in rare)
            target = POOLED if pooled_n >= self.min_count else reference
            for lv in rare:
                mapping[lv] = target
        elif rare:  # a rare flag level joins the reference: never a column under k rows
            for lv in rare:
                mapping[lv] = reference
        kept = sorted({mapping[lv] for lv in count} - {reference})
        return (reference, *kept), mapping

    def _codes(self, X: pd.DataFrame, name: str, kind: str) -> np.ndarray:
        codes, labels = factor_codes(X, name, kind, self.positive_only)
        levels = self.levels_[name]
        index = {lv: i for i, lv in enumerate(levels)}
        mapping = self.mapping_[name]
        # A level never seen in training goes to the reference (it has no column of its own).
        lookup = np.array([index.get(mapping.get(lb, levels[0]), 0) for lb in labels])
        out: np.ndarray = lookup[codes]
        return out

    def transform(self, X: pd.DataFrame) -> Any:
        codes = [self._codes(X, name, kind) for name, kind in self.factors]
        if self.output == "ordinal":
            return np.column_stack(codes).astype(np.float64) if codes else np.empty((len(X), 0))
        n = len(X)
        offsets = np.cumsum([0, *(len(self.levels_[name]) for name, _ in self.factors)])
        rows = np.tile(np.arange(n), len(codes))
        cols: Any = np.concatenate([c + offsets[i] for i, c in enumerate(codes)]) if codes else []
        data = np.ones(len(rows), dtype=np.float64)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, int(offsets[-1])))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if self.output == "ordinal":
            return np.array([name for name, _ in self.factors], dtype=object)
        return np.array([c.name for c in self.columns_], dtype=object)
