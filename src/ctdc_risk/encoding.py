"""Turn factors into model columns, learning levels from the training rows only.

:class:`FactorEncoder` is a scikit-learn transformer, so it sits inside every model pipeline and
cross-validation refits it per fold (no leakage of level counts from test rows). Per factor:

- missing values are their own level, ``unknown`` (never folded into "no");
- flags are ``yes`` / ``no`` / ``unknown``; for positive-only releases ``recorded`` /
  ``not recorded`` (blank cannot mean "no" there, and the names say so);
- category levels with fewer than ``min_count`` (the privacy floor k) training rows are pooled
  into their own level, ``other (fewer than k cases)``, whatever its size; no level is ever
  merged into another named level (a pooled level is never labelled, and figures resting on
  fewer than k cases are suppressed when published);
- the **reference level** (what adjusted odds ratios and SHAP directions compare against) is
  chosen by one documented rule: the level set in ``reference`` for that factor; otherwise, for
  a yes/no factor, ``no`` (``not recorded``) when it has at least ``min_count`` training cases
  with and without the outcome; otherwise the largest known level that has; and when no level
  has, the largest known level (the factor's contrasts are then never labelled: see
  :attr:`FactorEncoder.reference_ok_`).

``output="onehot"`` gives a sparse indicator matrix (one column per level, reference included);
``output="ordinal"`` gives one integer-coded column per factor for LightGBM's categorical
splits, so tree contributions are already per factor. Level order (and so the ordinal codes)
does not depend on the reference: yes/no factors are always ``no < unknown < yes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from ctdc_risk.errors import StudyError

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
    """Encode factor columns of the canonical frame; levels and references learnt in ``fit``.

    Parameters
    ----------
    factors
        ``(name, kind)`` pairs, kind ``"category"``, ``"flag"`` (a release's yes/no item) or
        ``"binary"`` (a yes/no/unknown column derived by this package, never positive-only).
    min_count
        Category levels with fewer training rows are pooled (the privacy floor k); a reference
        level needs this many training cases with and without the outcome.
    positive_only
        Flags are positive-only (``recorded`` / ``not recorded``).
    output
        ``"onehot"`` (sparse indicators) or ``"ordinal"`` (integer codes per factor).
    reference
        Factor name -> the reference level to use (``explain.reference`` in the config).

    Attributes
    ----------
    levels_ : dict of str to tuple of str
        Levels per factor in code order.
    reference_ : dict of str to str
        The reference level per factor.
    reference_ok_ : dict of str to bool
        Whether the reference has at least ``min_count`` cases with and without the outcome
        (always true when ``fit`` got no outcome).
    counts_ : dict of str to tuple of int
        Training rows per level, in :attr:`levels_` order.
    """

    def __init__(
        self,
        factors: tuple[tuple[str, str], ...] = (),
        *,
        min_count: int = 10,
        positive_only: bool = False,
        output: Literal["onehot", "ordinal"] = "onehot",
        reference: Mapping[str, str] | None = None,
    ) -> None:
        self.factors = factors
        self.min_count = min_count
        self.positive_only = positive_only
        self.output = output
        self.reference = reference

    def fit(self, X: pd.DataFrame, y: Any = None) -> FactorEncoder:
        if self.output not in ("onehot", "ordinal"):
            raise ValueError(f"output must be 'onehot' or 'ordinal'; got {self.output!r}")
        yv = None if y is None else np.asarray(y).astype(bool)
        self.levels_: dict[str, tuple[str, ...]] = {}
        self.mapping_: dict[str, dict[str, str]] = {}
        self.reference_: dict[str, str] = {}
        self.reference_ok_: dict[str, bool] = {}
        self.counts_: dict[str, tuple[int, ...]] = {}
        for name, kind in self.factors:
            codes, labels = factor_codes(X, name, kind, self.positive_only)
            counts = np.bincount(codes, minlength=len(labels))
            yes = counts if yv is None else np.bincount(codes[yv], minlength=len(labels))
            by_level = dict(zip(labels, counts.tolist(), strict=True))
            yes_by_level = dict(zip(labels, yes.tolist(), strict=True))
            levels, mapping, reference, ok = self._learn_levels(
                name, kind, by_level, None if yv is None else yes_by_level
            )
            self.levels_[name] = levels
            self.mapping_[name] = mapping
            self.reference_[name] = reference
            self.reference_ok_[name] = ok
            pooled = dict.fromkeys(levels, 0)
            for lv, n in by_level.items():
                if n > 0:
                    pooled[mapping[lv]] += n
            self.counts_[name] = tuple(pooled[lv] for lv in levels)
        self.columns_: tuple[EncodedColumn, ...] = tuple(
            EncodedColumn(name, level, level == self.reference_[name])
            for name, _ in self.factors
            for level in self.levels_[name]
        )
        self.n_features_in_ = len(self.factors)
        return self

    def _natural_first(self, kind: str, count: dict[str, int]) -> str:
        if kind in ("flag", "binary"):
            return "not recorded" if self.positive_only and kind == "flag" else "no"
        known = {lv: n for lv, n in count.items() if lv != UNKNOWN}
        return max(sorted(known), key=lambda lv: known[lv]) if known else UNKNOWN

    def _learn_levels(
        self,
        name: str,
        kind: str,
        all_counts: dict[str, int],
        all_yes: dict[str, int] | None,
    ) -> tuple[tuple[str, ...], dict[str, str], str, bool]:
        count = {lv: n for lv, n in all_counts.items() if n > 0}
        first = self._natural_first(kind, count)
        mapping = {lv: lv for lv in count}
        rare = [lv for lv, n in count.items() if n < self.min_count and lv not in (first, UNKNOWN)]
        if kind == "category":
            for lv in rare:
                mapping[lv] = POOLED
        kept = sorted({mapping[lv] for lv in count} - {first})
        levels = (first, *kept)
        reference, ok = self._choose_reference(name, kind, levels, count, all_yes)
        return levels, mapping, reference, ok

    def _choose_reference(
        self,
        name: str,
        kind: str,
        levels: tuple[str, ...],
        count: dict[str, int],
        all_yes: dict[str, int] | None,
    ) -> tuple[str, bool]:
        k = self.min_count

        def n_of(level: str) -> int:
            return count.get(level, 0)

        def enough(level: str) -> bool:
            if level not in count or level in (UNKNOWN, POOLED):
                return False
            if all_yes is None:
                return count[level] >= k
            yes = all_yes.get(level, 0)
            return yes >= k and count[level] - yes >= k

        configured = (self.reference or {}).get(name)
        if configured is not None:
            if configured not in levels or n_of(configured) == 0:
                shown = ", ".join(lv for lv in levels if n_of(lv) > 0)
                raise StudyError(
                    f"explain.reference.{name}: {configured!r} is not a level of this factor in "
                    f"the study's cases (levels with cases: {shown})."
                )
            return configured, enough(configured)
        known = [lv for lv in levels if lv not in (UNKNOWN, POOLED) and n_of(lv) > 0]
        if kind in ("flag", "binary") and enough(levels[0]):
            return levels[0], True
        qualifying = [lv for lv in known if enough(lv)]
        if qualifying:
            return max(qualifying, key=lambda lv: (n_of(lv), -known.index(lv))), True
        fallback = max(known, key=lambda lv: (n_of(lv), -known.index(lv))) if known else levels[0]
        return fallback, False

    def _codes(self, X: pd.DataFrame, name: str, kind: str) -> np.ndarray:
        codes, labels = factor_codes(X, name, kind, self.positive_only)
        levels = self.levels_[name]
        index = {lv: i for i, lv in enumerate(levels)}
        mapping = self.mapping_[name]
        # A level never seen in training (only in a test fold) is scored as the reference: it
        # has no column of its own. Published estimates come from fits that saw every level.
        ref = index[self.reference_[name]]
        lookup = np.array([index.get(mapping.get(lb, ""), ref) for lb in labels])
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
