"""Cross-validation: folds, per-fold scores, a prevalence-only baseline and a reliability curve.

Three ways to split the cohort answer three questions:

``stratified``
    k folds with the outcome share kept in every fold and every set of identical records on one
    side (a copy of a test case in the training rows would flatter the score): how well does
    the model rank and calibrate cases like the ones it was trained on?
``grouped``
    k folds where all cases of one group (by default the citizenship country) fall on the same
    side: does the model carry over to countries it has not seen? Missing group values form one
    group, ``"unknown"``.
``temporal``
    one split, training on cases registered up to a year and testing on later ones: does it carry
    over to the future? Cases with an unknown registration year are left out of evaluation.

Every fold is scored with ROC AUC, average precision, Brier score, log loss and expected
calibration error (ECE), next to a baseline that predicts the training-fold prevalence for every
test case, so a score is always read against what knowing nothing about the case would give.
The reliability curve of the pooled out-of-fold predictions obeys the privacy floor: a bin of
fewer than ``k`` cases is suppressed, not dropped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ctdc_risk.errors import ConfigError, StudyError, reject_unknown_keys
from ctdc_risk.privacy import suppress_partition

log = logging.getLogger(__name__)

KINDS = ("stratified", "grouped", "temporal")
METRICS = ("roc_auc", "average_precision", "brier", "log_loss", "ece")
YEAR_COLUMN = "year_of_registration"
UNKNOWN_GROUP = "unknown"
PROBABILITY_CLIP = 1e-15

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

    def __post_init__(self) -> None:
        _check_spec_values({f.name: getattr(self, f.name) for f in fields(self)}, key="cv")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "cv") -> CVSpec:
        """Build from a config mapping, refusing unknown keys and values of the wrong type.

        Parameters
        ----------
        data
            Settings by field name; missing fields take their defaults.
        key
            Where the mapping sits in the config; errors name ``f"{key}.{field}"``.

        Raises
        ------
        ConfigError
            On an unknown key, a value of the wrong type, an unknown ``kind``, ``n_splits < 2``,
            ``n_bins < 1`` or a temporal split without ``train_until_year``.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{key} must be a mapping of settings; got {type(data).__name__}.")
        allowed = [f.name for f in fields(cls)]
        reject_unknown_keys(data, allowed, key)
        values = {f.name: data.get(f.name, f.default) for f in fields(cls)}
        _check_spec_values(values, key=key)
        return cls(**values)


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but `n_splits: true` in a config is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_spec_values(values: Mapping[str, Any], *, key: str) -> None:
    kind = values["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"{key}.kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    n_splits = values["n_splits"]
    if not _is_int(n_splits) or n_splits < 2:
        raise ConfigError(f"{key}.n_splits must be an integer of at least 2; got {n_splits!r}.")
    group_column = values["group_column"]
    if not isinstance(group_column, str) or not group_column:
        raise ConfigError(f"{key}.group_column must be a column name; got {group_column!r}.")
    year = values["train_until_year"]
    if year is not None and not _is_int(year):
        raise ConfigError(f"{key}.train_until_year must be a year (integer) or null; got {year!r}.")
    if kind == "temporal" and year is None:
        raise ConfigError(
            f"{key}.train_until_year is missing: a temporal split trains on cases registered up to "
            "that year and tests on later ones. Set it, or choose another kind."
        )
    n_bins = values["n_bins"]
    if not _is_int(n_bins) or n_bins < 1:
        raise ConfigError(f"{key}.n_bins must be an integer of at least 1; got {n_bins!r}.")


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
    y_int = _as_binary(y, "y")
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


def fold_metrics(y_true: np.ndarray, p: np.ndarray, *, n_bins: int = 10) -> dict[str, float]:
    """Discrimination and calibration scores of predicted probabilities.

    Parameters
    ----------
    y_true
        Binary outcomes (0/1 or bool).
    p
        Predicted probability of outcome 1, within [0, 1].
    n_bins
        Number of equal-width bins on [0, 1] for the ECE.

    Returns
    -------
    dict of str to float
        ``roc_auc``, ``average_precision``, ``brier`` (mean squared error of ``p``), ``log_loss``
        (with ``p`` clipped to [1e-15, 1 - 1e-15]) and ``ece``: the sum over bins of
        ``(n_bin / n) * |mean predicted - observed rate|``. When ``y_true`` holds one class,
        ``roc_auc`` and ``average_precision`` are NaN: ranking needs both classes.

    Examples
    --------
    >>> m = fold_metrics(np.array([0, 0, 1, 1]), np.array([0.0, 0.0, 1.0, 1.0]))
    >>> m["roc_auc"], m["brier"], m["ece"]
    (1.0, 0.0, 0.0)
    """
    y, prob = _check_pair(y_true, p)
    _check_positive_int(n_bins, "n_bins")
    two_classes = 0 < int(y.sum()) < len(y)
    clipped = np.clip(prob, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    _, sum_p, sum_y = _bin_sums(y, prob, n_bins)
    return {
        "roc_auc": float(roc_auc_score(y, prob)) if two_classes else math.nan,
        "average_precision": float(average_precision_score(y, prob)) if two_classes else math.nan,
        "brier": float(np.mean((prob - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))),
        # (n_b / n) * |sum_p / n_b - sum_y / n_b| == |sum_p - sum_y| / n; empty bins add 0.
        "ece": float(np.abs(sum_p - sum_y).sum() / len(y)),
    }


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability curve: predicted probabilities in [lower, upper).

    The last bin also holds ``p == 1``. ``n`` and ``mean_predicted`` are None when the bin has
    fewer than ``k`` cases; ``observed_rate`` is also None when the bin's positive or negative
    cases number fewer than ``k`` (with ``n`` shown, the rate would reveal that small count).
    Bins add up to the scored cases, so further bins are withheld when the published ones
    would give a withheld one back (complementary suppression).
    """

    lower: float
    upper: float
    n: int | None
    mean_predicted: float | None
    observed_rate: float | None
    marker: str = ""
    """How a withheld ``n`` is shown: ``"<k"``, or ``"suppressed"`` for a bin of at least k
    cases withheld so that a smaller one cannot be recovered from the total."""

    @property
    def suppressed(self) -> bool:
        """Whether the bin rests on fewer than ``k`` cases."""
        return self.n is None


def reliability_curve(
    y_true: np.ndarray, p: np.ndarray, *, n_bins: int, k: int
) -> tuple[ReliabilityBin, ...]:
    """Mean predicted probability against observed rate in equal-width bins, under floor ``k``.

    Parameters
    ----------
    y_true
        Binary outcomes (0/1 or bool).
    p
        Predicted probabilities within [0, 1].
    n_bins
        Number of equal-width bins on [0, 1]; every bin is returned, suppressed or not.
    k
        Privacy floor: no published figure rests on fewer than ``k`` cases.

    Returns
    -------
    tuple of ReliabilityBin
        ``n_bins`` bins in order of ``lower``.

    Examples
    --------
    >>> y = np.array([0] * 6 + [1] * 6)
    >>> p = np.array([0.1] * 6 + [0.9] * 6)
    >>> bins = reliability_curve(y, p, n_bins=2, k=5)
    >>> [b.n for b in bins], [round(b.mean_predicted or 0.0, 6) for b in bins]
    ([6, 6], [0.1, 0.9])
    >>> bins[0].observed_rate is None  # 0 positives of 6: the complement is below k
    True
    """
    y, prob = _check_pair(y_true, p, allow_empty=True)
    _check_positive_int(n_bins, "n_bins")
    _check_positive_int(k, "k")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts, sum_p, sum_y = _bin_sums(y, prob, n_bins)
    positives = [round(float(v)) for v in sum_y]
    withheld = suppress_partition([int(c) for c in counts], positives, k=k)
    bins = []
    for i in range(n_bins):
        n = int(counts[i])
        lower, upper = float(edges[i]), float(edges[i + 1])
        if withheld.hide_n[i]:
            bins.append(ReliabilityBin(lower, upper, None, None, None, withheld.n_markers[i]))
            continue
        rate = None if withheld.hide_y[i] else positives[i] / n
        bins.append(ReliabilityBin(lower, upper, n, float(sum_p[i]) / n, rate))
    return tuple(bins)


@dataclass(frozen=True, eq=False)
class CVResult:
    """Cross-validated scores of one model and of the prevalence-only baseline.

    Attributes
    ----------
    model : str
        The model's registry name.
    folds : tuple of dict
        :func:`fold_metrics` per fold, plus ``n_train``, ``n_test`` and ``prevalence_test``.
    baseline_folds : tuple of dict
        The same for the baseline, which predicts the training-fold prevalence for every row.
    reliability : tuple of ReliabilityBin
        Reliability curve of the pooled out-of-fold predictions, under the privacy floor.
    oof : numpy.ndarray
        Out-of-fold probability per row (read-only); NaN for rows in no test fold.
    """

    model: str
    folds: tuple[dict[str, float], ...]
    baseline_folds: tuple[dict[str, float], ...]
    reliability: tuple[ReliabilityBin, ...]
    oof: np.ndarray

    def summary(self) -> dict[str, float]:
        """``{metric}_mean`` and ``{metric}_std`` over folds for each metric in :data:`METRICS`.

        NaN folds (e.g. a single-class test fold) are left out; the std uses ``ddof=1`` over two
        or more scored folds, is 0.0 with one and NaN with none.
        """
        return _summarise(self.folds)

    def baseline_summary(self) -> dict[str, float]:
        """The :meth:`summary` of the prevalence-only baseline."""
        return _summarise(self.baseline_folds)


def _summarise(folds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in METRICS:
        values = np.array([fold.get(metric, math.nan) for fold in folds], dtype=float)
        scored = values[~np.isnan(values)]
        out[f"{metric}_mean"] = float(scored.mean()) if scored.size else math.nan
        if scored.size >= 2:
            out[f"{metric}_std"] = float(scored.std(ddof=1))
        else:
            out[f"{metric}_std"] = 0.0 if scored.size == 1 else math.nan
    return out


def cross_validate_model(
    name: str,
    make_model: Callable[[], Any],
    frame: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    k: int,
    n_bins: int = 10,
    on_fold: Callable[[], None] | None = None,
) -> CVResult:
    """Fit a fresh model on each training fold and score it, and the baseline, on the test fold.

    Parameters
    ----------
    name
        The model's name, kept in the result and the log.
    make_model
        Returns a fresh unfitted estimator (a Pipeline) with ``fit(frame, y)`` and
        ``predict_proba(frame)``; everything it learns is refitted per fold.
    frame
        The cohort's cases.
    y
        Binary outcome per row of ``frame``.
    splits
        Positional ``(train, test)`` pairs, as from :func:`make_splits`; test folds must not
        overlap.
    k
        Privacy floor of the reliability curve.
    n_bins
        Bins of the reliability curve and the ECE.
    on_fold
        Called after each fold (progress display).

    Returns
    -------
    CVResult
        Per-fold scores of the model and the baseline, the reliability curve and the out-of-fold
        predictions.
    """
    y_int = _as_binary(y, "y")
    if len(y_int) != len(frame):
        raise ValueError(f"y has {len(y_int)} values but frame has {len(frame)} rows.")
    checked = _check_splits(splits, y_int)
    oof = np.full(len(y_int), np.nan)
    folds: list[dict[str, float]] = []
    baseline: list[dict[str, float]] = []
    for i, (train, test) in enumerate(checked, start=1):
        model = make_model()
        model.fit(frame.iloc[train], y_int[train])
        p = np.asarray(model.predict_proba(frame.iloc[test]), dtype=float)[:, 1]
        oof[test] = p
        sizes = {
            "n_train": float(len(train)),
            "n_test": float(len(test)),
            "prevalence_test": float(y_int[test].mean()),
        }
        scores = fold_metrics(y_int[test], p, n_bins=n_bins)
        folds.append({**scores, **sizes})
        constant = np.full(len(test), float(y_int[train].mean()))
        baseline.append({**fold_metrics(y_int[test], constant, n_bins=n_bins), **sizes})
        log.info(
            "%s fold %d/%d: n_train=%d n_test=%d roc_auc=%.3f",
            name,
            i,
            len(checked),
            len(train),
            len(test),
            scores["roc_auc"],
        )
        if on_fold is not None:
            on_fold()
    scored = ~np.isnan(oof)
    reliability = reliability_curve(y_int[scored], oof[scored], n_bins=n_bins, k=k)
    oof.setflags(write=False)
    return CVResult(name, tuple(folds), tuple(baseline), reliability, oof)


def _check_splits(splits: Sequence[tuple[np.ndarray, np.ndarray]], y: np.ndarray) -> list[Split]:
    if len(splits) == 0:
        raise ValueError("splits is empty; make_splits gives at least one (train, test) pair.")
    n = len(y)
    seen = np.zeros(n, dtype=bool)
    out: list[Split] = []
    for i, (train_raw, test_raw) in enumerate(splits, start=1):
        train = np.asarray(train_raw, dtype=np.intp)
        test = np.asarray(test_raw, dtype=np.intp)
        for side, rows in (("train", train), ("test", test)):
            if rows.ndim != 1 or len(rows) == 0:
                raise ValueError(f"fold {i}: {side} must be a non-empty 1-D array of positions.")
            if rows.min() < 0 or rows.max() >= n:
                raise ValueError(f"fold {i}: {side} positions must lie within 0..{n - 1}.")
        if seen[test].any():
            raise ValueError(f"fold {i}: test rows overlap an earlier fold's test rows.")
        seen[test] = True
        if len(np.unique(y[train])) < 2:
            raise StudyError(
                f"fold {i}: the training rows hold one outcome class, so no model can be fitted; "
                "change cv.kind, cv.n_splits or cv.train_until_year."
            )
        out.append((train, test))
    return out


def _as_binary(values: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}.")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (or False and True).")
    return arr.astype(np.int64)


def _check_pair(
    y_true: np.ndarray, p: np.ndarray, *, allow_empty: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    y = _as_binary(y_true, "y_true")
    prob = np.asarray(p, dtype=float)
    if prob.shape != y.shape:
        raise ValueError(f"p has shape {prob.shape} but y_true has shape {y.shape}.")
    if len(y) == 0 and not allow_empty:
        raise ValueError("y_true and p are empty; a fold needs at least one row.")
    if not np.isfinite(prob).all() or (prob < 0).any() or (prob > 1).any():
        raise ValueError("p must hold finite probabilities within [0, 1].")
    return y, prob


def _check_positive_int(value: int, name: str) -> None:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def _bin_sums(y: np.ndarray, p: np.ndarray, n_bins: int) -> tuple[np.ndarray, ...]:
    """Rows, sum of ``p`` and sum of ``y`` per equal-width bin (ECE and curve share the bins)."""
    index = np.clip(np.floor(p * n_bins).astype(np.intp), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sum_p = np.bincount(index, weights=p, minlength=n_bins)
    sum_y = np.bincount(index, weights=y.astype(float), minlength=n_bins)
    return counts, sum_p, sum_y
