"""Scores of predicted probabilities: discrimination, calibration and the reliability curve.

Every fold is scored with ROC AUC, average precision, Brier score, log loss and expected
calibration error (ECE). The reliability curve obeys the privacy floor: a bin of fewer than
``k`` cases is suppressed, not dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ctdc_risk.privacy import suppress_partition

PROBABILITY_CLIP = 1e-15


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer and not a bool."""
    # bool is an int subclass, but `n_splits: true` in a config is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


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


def as_binary(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` as a 1-D int64 array of 0 and 1; a ValueError naming ``name`` otherwise."""
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
    y = as_binary(y_true, "y_true")
    prob = np.asarray(p, dtype=float)
    if prob.shape != y.shape:
        raise ValueError(f"p has shape {prob.shape} but y_true has shape {y.shape}.")
    if len(y) == 0 and not allow_empty:
        raise ValueError("y_true and p are empty; a fold needs at least one row.")
    if not np.isfinite(prob).all() or (prob < 0).any() or (prob > 1).any():
        raise ValueError("p must hold finite probabilities within [0, 1].")
    return y, prob


def _check_positive_int(value: int, name: str) -> None:
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def _bin_sums(y: np.ndarray, p: np.ndarray, n_bins: int) -> tuple[np.ndarray, ...]:
    """Rows, sum of ``p`` and sum of ``y`` per equal-width bin (ECE and curve share the bins)."""
    index = np.clip(np.floor(p * n_bins).astype(np.intp), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sum_p = np.bincount(index, weights=p, minlength=n_bins)
    sum_y = np.bincount(index, weights=y.astype(float), minlength=n_bins)
    return counts, sum_p, sum_y
