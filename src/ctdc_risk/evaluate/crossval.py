"""Cross-validation of one model: per-fold scores, a prevalence-only baseline, a reliability curve.

A baseline that predicts the training-fold prevalence for every test case is scored beside the
model, so a score is always read against what knowing nothing about the case would give.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ctdc_risk.errors import StudyError
from ctdc_risk.evaluate.scores import (
    ReliabilityBin,
    as_binary,
    fold_metrics,
    reliability_curve,
)
from ctdc_risk.evaluate.splits import Split
from ctdc_risk.metric_names import METRICS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldScores:
    """The scores of one test fold (:func:`~ctdc_risk.evaluate.scores.fold_metrics`) and its size.

    ``roc_auc`` and ``average_precision`` are NaN when the test fold holds one outcome class.
    """

    roc_auc: float
    average_precision: float
    brier: float
    log_loss: float
    ece: float
    n_train: int
    n_test: int
    prevalence_test: float

    @classmethod
    def from_scores(
        cls, scores: dict[str, float], *, n_train: int, n_test: int, prevalence_test: float
    ) -> FoldScores:
        """From :func:`fold_metrics`' mapping of :data:`~ctdc_risk.metric_names.METRICS`."""
        return cls(
            **{m: scores[m] for m in METRICS},
            n_train=n_train,
            n_test=n_test,
            prevalence_test=prevalence_test,
        )

    def score(self, metric: str) -> float:
        """The fold's value of one of :data:`~ctdc_risk.metric_names.METRICS`."""
        if metric not in METRICS:
            raise KeyError(f"{metric!r} is not one of {', '.join(METRICS)}")
        value: float = getattr(self, metric)
        return value

    def to_record(self) -> dict[str, float]:
        """Every field as a float, by name (scores first, then the fold's size)."""
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False)
class CVResult:
    """Cross-validated scores of one model and of the prevalence-only baseline.

    Attributes
    ----------
    model : str
        The model's registry name.
    folds : tuple of FoldScores
        Scores and size of each test fold.
    baseline_folds : tuple of FoldScores
        The same for the baseline, which predicts the training-fold prevalence for every row.
    reliability : tuple of ReliabilityBin
        Reliability curve of the pooled out-of-fold predictions, under the privacy floor.
    oof : numpy.ndarray
        Out-of-fold probability per row (read-only); NaN for rows in no test fold.
    """

    model: str
    folds: tuple[FoldScores, ...]
    baseline_folds: tuple[FoldScores, ...]
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


def _summarise(folds: Sequence[FoldScores]) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in METRICS:
        values = np.array([fold.score(metric) for fold in folds], dtype=float)
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
    y_int = as_binary(y, "y")
    if len(y_int) != len(frame):
        raise ValueError(f"y has {len(y_int)} values but frame has {len(frame)} rows.")
    checked = _check_splits(splits, y_int)
    oof = np.full(len(y_int), np.nan)
    folds: list[FoldScores] = []
    baseline: list[FoldScores] = []
    for i, (train, test) in enumerate(checked, start=1):
        model = make_model()
        model.fit(frame.iloc[train], y_int[train])
        p = np.asarray(model.predict_proba(frame.iloc[test]), dtype=float)[:, 1]
        oof[test] = p
        prevalence = float(y_int[test].mean())
        scores = fold_metrics(y_int[test], p, n_bins=n_bins)
        constant = np.full(len(test), float(y_int[train].mean()))
        for out, fold_scores in (
            (folds, scores),
            (baseline, fold_metrics(y_int[test], constant, n_bins=n_bins)),
        ):
            out.append(
                FoldScores.from_scores(
                    fold_scores, n_train=len(train), n_test=len(test), prevalence_test=prevalence
                )
            )
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
