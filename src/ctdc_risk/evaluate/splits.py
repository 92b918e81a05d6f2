"""Train/test splits of a cohort: stratified, grouped (by country) or temporal.

See :mod:`ctdc_risk.evaluate` for the question each kind of split answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ctdc_risk.errors import ConfigError, StudyError
from ctdc_risk.evaluate.scores import as_binary
from ctdc_risk.validate import (
    Constraints,
    Interval,
    Is,
    Options,
    OrNone,
    Text,
    check_fields,
    from_mapping,
)

log = logging.getLogger(__name__)

KINDS = ("stratified", "grouped", "temporal")
YEAR_COLUMN = "year_of_registration"
UNKNOWN_GROUP = "unknown"

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class CVSpec:
    """How to cross-validate a model.

    Attributes
    ----------
    kind : str
        ``"stratified"``, ``"grouped"`` or ``"temporal"`` (see the module docstring).
    n_splits : int
        Number of folds for stratified and grouped splits; at least 2.
    group_column : str
        Canonical column whose values must not be split across train and test (grouped only).
    train_until_year : int or None
        Temporal only: train on ``year_of_registration <= train_until_year``, test on later years.
    n_bins : int
        Number of equal-width bins on [0, 1] for the reliability curve and the ECE.

    Examples
    --------
    >>> CVSpec.from_mapping({"kind": "grouped", "n_splits": 3}).group_column
    'citizenship_iso3'
    """

    kind: str = "stratified"
    n_splits: int = 5
    group_column: str = "citizenship_iso3"
    train_until_year: int | None = None
    n_bins: int = 10

    _constraints: ClassVar[Constraints] = {
        "kind": Options(KINDS),
        "n_splits": Interval(int, 2, None),
        "group_column": Text(nonempty=True, what="a column name"),
        "train_until_year": OrNone(Is(int, what="a year (integer)")),
        "n_bins": Interval(int, 1, None),
    }

    def __post_init__(self) -> None:
        check_fields(self, "cv")
        _need_year(self.kind, self.train_until_year, "cv")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "cv") -> CVSpec:
        """Build from a config mapping; errors name ``f"{key}.{field}"``.

        Raises
        ------
        ConfigError
            On an unknown key, a value of the wrong type, an unknown ``kind``, ``n_splits < 2``,
            ``n_bins < 1`` or a temporal split without ``train_until_year``.
        """
        if isinstance(data, Mapping):
            # Checked before building too, so the error names the block where the config put
            # it (study.cv); __post_init__ can only say cv.
            _need_year(data.get("kind", cls.kind), data.get("train_until_year"), key)
        return from_mapping(cls, data, key)


def _need_year(kind: object, year: object, key: str) -> None:
    if kind == "temporal" and year is None:
        raise ConfigError(
            f"{key}.train_until_year is missing: a temporal split trains on cases registered up to "
            "that year and tests on later ones. Set it, or choose another kind."
        )


def make_splits(
    spec: CVSpec,
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    seed: int,
    records: np.ndarray | None = None,
) -> list[Split]:
    """Positional train/test index pairs for ``frame`` as ``spec`` asks.

    Parameters
    ----------
    spec
        The cross-validation settings.
    frame
        The cohort's cases (canonical columns); only the group or year column is read.
    y
        Binary outcome per row of ``frame`` (0/1 or bool).
    seed
        Seed of the shuffles; the same seed gives the same splits.
    records
        Identical-record group per row (:func:`~ctdc_risk.data.records.record_groups`):
        stratified folds keep each group on one side. ``None`` treats every row as distinct.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        ``(train, test)`` positions (0..n-1), each sorted ascending: ``n_splits`` pairs, or one
        pair for a temporal split (whose unknown-year rows are in neither).

    Raises
    ------
    StudyError
        When the data cannot be split as configured: fewer groups than folds, an outcome class
        with fewer cases than folds, a fold whose training rows hold one class, or a temporal
        side that is empty or holds one class. The message names the ``cv.*`` key to change.

    Examples
    --------
    >>> y = np.array([0, 1] * 10)
    >>> splits = make_splits(CVSpec(n_splits=4), pd.DataFrame(index=range(20)), y, seed=0)
    >>> sorted(np.concatenate([test for _, test in splits]).tolist()) == list(range(20))
    True
    """
    y_int = as_binary(y, "y")
    if len(y_int) != len(frame):
        raise ValueError(f"y has {len(y_int)} values but frame has {len(frame)} rows.")
    if spec.kind == "temporal":
        splits = [_temporal_split(spec, frame, y_int)]
    elif spec.kind == "grouped":
        splits = _grouped_splits(spec, frame, y_int, seed)
    else:
        _check_class_counts(y_int, spec.n_splits, "stratified")
        if records is not None and len(np.unique(records)) < len(y_int):
            if len(np.unique(records)) < spec.n_splits:
                raise StudyError(
                    f"cv.n_splits: {spec.n_splits} folds need at least {spec.n_splits} distinct "
                    f"records; found {len(np.unique(records))}. Lower cv.n_splits."
                )
            grouped = StratifiedGroupKFold(n_splits=spec.n_splits, shuffle=True, random_state=seed)
            splits = list(grouped.split(np.zeros((len(y_int), 1)), y_int, records))
        else:
            splitter = StratifiedKFold(n_splits=spec.n_splits, shuffle=True, random_state=seed)
            splits = list(splitter.split(np.zeros((len(y_int), 1)), y_int))
    return [(np.sort(tr).astype(np.intp), np.sort(te).astype(np.intp)) for tr, te in splits]


def _check_class_counts(y: np.ndarray, n_splits: int, what: str) -> None:
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if min(n_pos, n_neg) < n_splits:
        raise StudyError(
            f"cv.n_splits: {n_splits} {what} folds need at least {n_splits} cases of each outcome; "
            f"found {n_pos} positive and {n_neg} negative. Lower cv.n_splits or widen the cohort."
        )


def _group_codes(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        raise StudyError(
            f"cv.group_column: {column!r} is not a column of the cohort frame; "
            "choose a canonical column such as citizenship_iso3."
        )
    # Missing values are one group, so unknown-country cases never straddle train and test.
    keys = frame[column].astype("string").fillna(UNKNOWN_GROUP)
    codes, _ = pd.factorize(keys, sort=True)
    return np.asarray(codes, dtype=np.intp)


def _grouped_splits(spec: CVSpec, frame: pd.DataFrame, y: np.ndarray, seed: int) -> list[Split]:
    groups = _group_codes(frame, spec.group_column)
    n_groups = len(np.unique(groups))
    if n_groups < spec.n_splits:
        raise StudyError(
            f"cv.n_splits: {spec.n_splits} grouped folds need at least {spec.n_splits} distinct "
            f"values of cv.group_column {spec.group_column!r}; found {n_groups} (missing values "
            f"count as one group, {UNKNOWN_GROUP!r}). Lower cv.n_splits or group by another column."
        )
    _check_class_counts(y, spec.n_splits, "grouped")
    splitter = StratifiedGroupKFold(n_splits=spec.n_splits, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros((len(y), 1)), y, groups))
    for i, (train, test) in enumerate(splits, start=1):
        if len(test) == 0 or len(np.unique(y[train])) < 2:
            raise StudyError(
                f"cv.group_column: grouping by {spec.group_column!r} leaves fold {i} of "
                f"{spec.n_splits} with no test cases or one outcome class in training (a few "
                "groups hold most cases of one outcome). Lower cv.n_splits or use kind stratified."
            )
        if len(np.unique(y[test])) < 2:
            log.warning(
                "grouped fold %d has one outcome class in its test rows; its AUC and average "
                "precision are undefined (NaN)",
                i,
            )
    return splits


def _temporal_split(spec: CVSpec, frame: pd.DataFrame, y: np.ndarray) -> Split:
    cut = spec.train_until_year
    if cut is None:
        raise ConfigError("cv.train_until_year is missing: a temporal split needs it.")
    if YEAR_COLUMN not in frame.columns:
        raise StudyError(
            f"cv.kind: a temporal split needs column {YEAR_COLUMN!r}, which the cohort frame "
            "lacks; choose kind stratified or grouped."
        )
    year = pd.to_numeric(frame[YEAR_COLUMN], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(year)
    if not known.any():
        raise StudyError(f"cv.kind: no case has a known {YEAR_COLUMN}; a temporal split needs it.")
    span = f"known years run from {int(year[known].min())} to {int(year[known].max())}"
    train = np.flatnonzero(known & (year <= cut))
    test = np.flatnonzero(known & (year > cut))
    for side, rows, fix in (
        (f"training (up to {cut})", train, "choose a later year"),
        (f"test (after {cut})", test, "choose an earlier year"),
    ):
        n_pos = int(y[rows].sum())
        if n_pos == 0 or n_pos == len(rows):
            raise StudyError(
                f"cv.train_until_year: the {side} cases must hold both outcomes; found "
                f"{n_pos} positive and {len(rows) - n_pos} negative ({span}). Change "
                f"cv.train_until_year: {fix}."
            )
    log.info(
        "temporal split at %d: %d training, %d test, %d unknown-year cases left out",
        cut,
        len(train),
        len(test),
        int((~known).sum()),
    )
    return train, test
