"""Does the model carry over? Scores with folds grouped by country and on later years.

Stratified folds answer "how well on cases like the training ones". A program works in other
countries and in later years, so every study also scores its models

- with folds **grouped by country of citizenship**: all cases of a country on one side. The
  cases with no recorded citizenship would form one giant group, so they are split into groups
  of the ordinary size of a country group (identical records kept together); scores are
  averaged over folds weighted by their number of cases;
- on a **temporal split**, where the registration years allow one: trained on the cases
  registered up to the year by which about 70 % of cases with a known year were registered,
  tested on the later ones.

A study's summary then quotes the most conservative of the default, country and temporal AUCs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from ctdc_risk.errors import StudyError
from ctdc_risk.evaluate import YEAR_COLUMN, CVResult, Split, cross_validate_model

log = logging.getLogger(__name__)

COUNTRY_COLUMN = "citizenship_iso3"
TEMPORAL_SHARE = 0.7


@dataclass(frozen=True)
class TransportScore:
    """One way of scoring a model on cases unlike its training cases."""

    kind: str
    """``country`` or ``temporal``."""
    roc_auc: float | None
    ece: float | None
    n_folds: int
    note: str
    """What the split was, or why it could not be made."""


@dataclass(frozen=True)
class TransportSplits:
    """One way of holding out cases unlike the training ones, made once for every use."""

    kind: str
    """``country`` or ``temporal``."""
    splits: tuple[Split, ...]
    """(train, test) pairs; empty when the split could not be made."""
    note: str
    """What the split was, or why it could not be made."""


def _unavailable(kind: str, reason: str) -> TransportSplits:
    return TransportSplits(kind, (), reason)


def country_splits(
    frame: pd.DataFrame, y: np.ndarray, records: np.ndarray, *, n_splits: int, seed: int
) -> TransportSplits:
    """Folds grouped by country of citizenship, or none with the reason they cannot be made."""
    if COUNTRY_COLUMN not in frame.columns:
        return _unavailable("country", f"no {COUNTRY_COLUMN} column")
    country = frame[COUNTRY_COLUMN].astype("string")
    known = country.notna().to_numpy()
    codes, uniques = pd.factorize(country[known], sort=True)
    if len(uniques) < n_splits:
        return _unavailable(
            "country", f"{len(uniques)} countries of citizenship, fewer than {n_splits} folds"
        )
    sizes = np.bincount(codes)
    ordinary = max(1, round(float(sizes.mean())))
    groups = np.empty(len(y), dtype=np.int64)
    groups[known] = codes
    # Unknown citizenship: whole identical-record groups, dealt into chunks of ordinary size.
    unknown_rows = np.flatnonzero(~known)
    if len(unknown_rows):
        rec, first = np.unique(records[unknown_rows], return_index=True)
        order = np.argsort(first, kind="stable")
        rec_sizes = np.bincount(np.searchsorted(rec, records[unknown_rows]), minlength=len(rec))
        chunk_of_rec = np.empty(len(rec), dtype=np.int64)
        filled, chunk = 0, len(uniques)
        for r in order:
            chunk_of_rec[r] = chunk
            filled += int(rec_sizes[r])
            if filled >= ordinary:
                filled, chunk = 0, chunk + 1
        groups[unknown_rows] = chunk_of_rec[np.searchsorted(rec, records[unknown_rows])]
    n_pos = int(y.sum())
    if min(n_pos, len(y) - n_pos) < n_splits:
        return _unavailable("country", "too few cases of one outcome for grouped folds")
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    splits = []
    for train, test in splitter.split(np.zeros((len(y), 1)), y, groups):
        if len(test) == 0 or len(np.unique(y[train])) < 2:
            return _unavailable("country", "a few countries hold most cases of one outcome")
        splits.append((np.sort(train).astype(np.intp), np.sort(test).astype(np.intp)))
    return TransportSplits("country", tuple(splits), f"{len(splits)} folds grouped by country")


def temporal_split(frame: pd.DataFrame, y: np.ndarray, *, k: int) -> TransportSplits:
    """Train up to the year by which ~70 % of known-year cases were registered; test on later."""
    if YEAR_COLUMN not in frame.columns:
        return _unavailable("temporal", "no registration year")
    year = pd.to_numeric(frame[YEAR_COLUMN], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(year)
    years = np.unique(year[known])
    if len(years) < 2:
        return _unavailable("temporal", "fewer than two registration years")
    cumulative = np.array([np.mean(year[known] <= v) for v in years])
    candidates = [int(v) for v, share in zip(years[:-1], cumulative[:-1], strict=True)]
    cut = next(
        (v for v, share in zip(candidates, cumulative, strict=False) if share >= TEMPORAL_SHARE),
        candidates[-1],
    )
    train = np.flatnonzero(known & (year <= cut))
    test = np.flatnonzero(known & (year > cut))
    for rows in (train, test):
        n_pos = int(y[rows].sum())
        if min(n_pos, len(rows) - n_pos) < k:
            return _unavailable(
                "temporal", f"the years after {cut} hold too few cases of one outcome"
            )
    split = (train.astype(np.intp), test.astype(np.intp))
    return TransportSplits(
        "temporal", (split,), f"trained up to {cut}, tested on later registrations"
    )


def weighted_scores(result: CVResult) -> tuple[float | None, float | None]:
    """AUC and ECE averaged over folds weighted by test-fold size (undefined folds left out)."""
    out: list[float | None] = []
    for metric in ("roc_auc", "ece"):
        pairs = [
            (f.n_test, f.score(metric)) for f in result.folds if not math.isnan(f.score(metric))
        ]
        total = sum(n for n, _ in pairs)
        out.append(sum(n * v for n, v in pairs) / total if total else None)
    return out[0], out[1]


def make_transport_splits(
    frame: pd.DataFrame,
    y: np.ndarray,
    records: np.ndarray,
    *,
    n_splits: int,
    seed: int,
    k: int,
) -> tuple[TransportSplits, TransportSplits]:
    """The country-grouped folds and the temporal split (each may be unavailable, with why).

    The models' transport scores and the targeting's transport figures both use these, so
    they hold out the same cases.
    """
    return (
        country_splits(frame, y, records, n_splits=n_splits, seed=seed),
        temporal_split(frame, y, k=k),
    )


def score_transport(
    name: str,
    make_model: Callable[[], Any],
    frame: pd.DataFrame,
    y: np.ndarray,
    records: np.ndarray,
    *,
    n_splits: int,
    seed: int,
    k: int,
    on_fold: Callable[[], None] | None = None,
) -> tuple[TransportScore, TransportScore]:
    """Country-grouped and temporal scores of one model (each may be unavailable, with why).

    ``on_fold`` is called after each fitted fold (progress display).
    """
    scores = []
    for held in make_transport_splits(frame, y, records, n_splits=n_splits, seed=seed, k=k):
        if not held.splits:
            scores.append(TransportScore(held.kind, None, None, 0, f"not scored: {held.note}"))
            continue
        result = _cross_validate(name, make_model, frame, y, list(held.splits), k, on_fold)
        auc, ece = weighted_scores(result) if result else (None, None)
        scores.append(TransportScore(held.kind, auc, ece, len(held.splits), held.note))
    return scores[0], scores[1]


def _cross_validate(
    name: str,
    make_model: Callable[[], Any],
    frame: pd.DataFrame,
    y: np.ndarray,
    splits: list[Split],
    k: int,
    on_fold: Callable[[], None] | None = None,
) -> CVResult | None:
    try:
        return cross_validate_model(
            f"{name} (transport)", make_model, frame, y, splits, k=k, on_fold=on_fold
        )
    except StudyError as exc:
        log.info("transport scoring of %s skipped: %s", name, exc)
        return None
