"""The full bootstrap: how much each factor's rank, odds ratio and direction move under resampling.

Each refit redraws the study's cases by *identical-record group* (copies of one record are drawn
or left out together, since they are one piece of evidence) and refits the whole pipeline on
the draw: the factor encoder (levels, pooling and reference chosen again), the adjusted Firth
logistic model, and the primary model with its SHAP values. From the refits come:

- percentile intervals of each level's adjusted odds ratio against the study's reference level
  (a refit where the level or the reference is pooled or missing does not count for it);
- the share of refits whose odds ratio lies on the same side of 1 as the study's estimate, and
  the same for the SHAP direction;
- each factor's importance rank (1 = most important; ties share the average rank), with a 95 %
  percentile interval widened where needed to contain the study's own rank.

Refit ``b`` draws from a generator seeded by ``(seed, b)``, so results are identical for any
number of worker processes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ctdc_risk.validate import Constraints, Interval, from_mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StabilitySpec:
    """Bootstrap settings."""

    _constraints: ClassVar[Constraints] = {
        "n_boot": Interval(int, 0, None),
        "n_jobs": Interval(int, 1, None),
        "min_sign_agreement": Interval(float, 0.5, 1),
    }
    n_boot: int = 100
    n_jobs: int = 2
    min_sign_agreement: float = 0.9

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "stability") -> StabilitySpec:
        return from_mapping(cls, data, key)


Level = tuple[str, str]


@dataclass(frozen=True)
class StabilityResult:
    n_boot: int
    """Refits that could be fitted (a draw with one outcome class is not counted)."""
    rank_median: dict[str, float]
    rank_interval: dict[str, tuple[float, float]]
    """2.5th and 97.5th percentile of each factor's rank, widened to contain its point rank."""
    sign_agreement: dict[Level, float | None]
    """Share of refits whose adjusted odds ratio is on the study's side of 1."""
    shap_sign_agreement: dict[Level, float | None] = field(default_factory=dict)
    """Share of refits whose SHAP direction has the study's sign."""
    or_interval: dict[Level, tuple[float, float]] = field(default_factory=dict)
    """2.5th and 97.5th percentile of the refits' adjusted odds ratios."""
    point_rank: dict[str, float] = field(default_factory=dict)
    """Each factor's rank in the study itself (average ranks for ties)."""


@dataclass(frozen=True)
class PointEstimates:
    """What the study estimated on all its cases, which each refit is compared with."""

    factors: tuple[str, ...]
    importance: dict[str, float]
    log_or: dict[Level, float]
    direction: dict[Level, float | None]
    reference: dict[str, str]
    codes: np.ndarray
    """(n_rows, n_factors) the study's level index of every row (primary model's encoder)."""
    levels: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class RefitPlan:
    """How to refit the pipeline on a draw: both callables must be picklable (``partial``)."""

    fit_log_or: Callable[[pd.DataFrame, np.ndarray, np.ndarray], dict[Level, float]]
    """(cases, outcome, record groups) -> log odds ratio per level against the study's reference."""
    fit_shap: Callable[[pd.DataFrame, np.ndarray], np.ndarray]
    """(cases, outcome) -> SHAP values (n_rows_of_the_study, n_factors) on the study's cases."""


_Refit = tuple[np.ndarray, dict[Level, float], dict[Level, float | None]]


def average_ranks(importance: Sequence[float]) -> np.ndarray:
    """Rank 1 = largest; ties share the average of the ranks they span.

    Examples
    --------
    >>> average_ranks([0.5, 0.1, 0.5, 0.0]).tolist()
    [1.5, 3.0, 1.5, 4.0]
    """
    from scipy.stats import rankdata

    out: np.ndarray = rankdata(-np.asarray(importance, dtype=float), method="average")
    return out


def _direction(values: np.ndarray, point: PointEstimates, k: int) -> dict[Level, float | None]:
    """Mean SHAP of each level minus that of its factor's reference level (same rows as study)."""
    out: dict[Level, float | None] = {}
    for i, factor in enumerate(point.factors):
        levels = point.levels[factor]
        col = values[:, i]
        counts = np.bincount(point.codes[:, i], minlength=len(levels))
        sums = np.bincount(point.codes[:, i], weights=col, minlength=len(levels))
        ref = levels.index(point.reference[factor]) if point.reference[factor] in levels else -1
        for j, level in enumerate(levels):
            if ref < 0 or j == ref or counts[j] < k or counts[ref] < k:
                out[(factor, level)] = None
            else:
                out[(factor, level)] = float(sums[j] / counts[j] - sums[ref] / counts[ref])
    return out


def _refits(
    plan: RefitPlan,
    frame: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    point: PointEstimates,
    seeds: Sequence[tuple[int, int]],
    k: int,
) -> list[_Refit | None]:
    out: list[_Refit | None] = []
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    for seed in seeds:
        rng = np.random.default_rng(list(seed))
        draws = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        # Every copy of a drawn record comes with it, as often as the record was drawn.
        idx = np.repeat(np.arange(len(y)), draws[groups])
        if len(idx) == 0 or y[idx].min() == y[idx].max():
            out.append(None)  # a one-class draw cannot be fitted; it is not counted
            continue
        sample = frame.iloc[idx].reset_index(drop=True)
        log_or = plan.fit_log_or(sample, y[idx], groups[idx])
        values = plan.fit_shap(sample, y[idx])
        importance = np.abs(values).mean(axis=0)
        out.append((average_ranks(importance), log_or, _direction(values, point, k)))
    return out


def bootstrap_stability(
    plan: RefitPlan,
    frame: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    point: PointEstimates,
    *,
    spec: StabilitySpec,
    seed: int,
    k: int,
    progress: Callable[[int, int], None] | None = None,
) -> StabilityResult:
    """Refit the whole pipeline on ``spec.n_boot`` group-bootstrap draws and summarise."""
    from joblib import Parallel, delayed

    ranks = average_ranks([point.importance[f] for f in point.factors]).tolist()
    point_rank = dict(zip(point.factors, ranks, strict=True))
    if spec.n_boot == 0:
        return StabilityResult(0, {}, {}, {}, {}, {}, point_rank)
    seeds = [(seed, b) for b in range(spec.n_boot)]
    n_jobs = min(spec.n_jobs, spec.n_boot)
    # Small batches keep every worker busy to the end and let progress be shown as they land.
    batch = max(1, min(10, spec.n_boot // (4 * n_jobs) or 1))
    chunks = [seeds[i : i + batch] for i in range(0, len(seeds), batch)]
    log.info("stability: %d bootstrap refits in %d process(es)", spec.n_boot, n_jobs)
    by_refit: dict[int, _Refit | None] = {}
    run = delayed(_refits)
    if n_jobs == 1:
        parts: Any = (_refits(plan, frame, y, groups, point, c, k) for c in chunks)
    else:
        parts = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
            run(plan, frame, y, groups, point, c, k) for c in chunks
        )
    done = 0
    for chunk, part in zip(chunks, parts, strict=True):
        for (_, b), result in zip(chunk, part, strict=True):
            by_refit[b] = result
        done += len(chunk)
        if progress is not None:
            progress(done, spec.n_boot)
    results = [r for _, r in sorted(by_refit.items()) if r is not None]
    return _summarise(results, point, point_rank)


def _summarise(
    results: list[_Refit], point: PointEstimates, point_rank: dict[str, float]
) -> StabilityResult:
    if not results:
        return StabilityResult(0, {}, {}, {}, {}, {}, point_rank)
    ranks = np.array([r for r, _, _ in results])
    rank_median = {f: float(np.median(ranks[:, i])) for i, f in enumerate(point.factors)}
    rank_interval = {}
    for i, f in enumerate(point.factors):
        # Ranks move in halves (ties share the average), so the interval is given in halves.
        low = math.floor(float(np.percentile(ranks[:, i], 2.5)) * 2) / 2
        high = math.ceil(float(np.percentile(ranks[:, i], 97.5)) * 2) / 2
        rank_interval[f] = (min(low, point_rank[f]), max(high, point_rank[f]))
    agreement: dict[Level, float | None] = {}
    or_interval: dict[Level, tuple[float, float]] = {}
    for key, ref in point.log_or.items():
        draws = np.array([lo[key] for _, lo, _ in results if key in lo])
        if len(draws) == 0:
            agreement[key] = None
            continue
        or_interval[key] = (
            float(np.exp(np.percentile(draws, 2.5))),
            float(np.exp(np.percentile(draws, 97.5))),
        )
        agreement[key] = None if ref == 0 else float(np.mean(np.sign(draws) == np.sign(ref)))
    shap_agreement: dict[Level, float | None] = {}
    for key, ref_dir in point.direction.items():
        signs = [s for _, _, d in results if (s := d.get(key)) is not None]
        if ref_dir is None or ref_dir == 0 or not signs:
            shap_agreement[key] = None
            continue
        shap_agreement[key] = float(np.mean(np.sign(signs) == np.sign(ref_dir)))
    return StabilityResult(
        len(results),
        rank_median,
        rank_interval,
        agreement,
        shap_agreement,
        or_interval,
        point_rank,
    )
