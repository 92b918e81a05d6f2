"""Bootstrap stability of factor ranks and directions.

The factor levels are fixed by the encoder fitted on the whole cohort (so every refit speaks
about the same levels); the classifier is refitted on ``n_boot`` bootstrap samples of the
encoded rows, in parallel worker processes. Refit ``b`` draws its sample from a generator seeded
by ``(seed, b)``, so results are identical for any number of workers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.errors import ConfigError, reject_unknown_keys
from ctdc_risk.factors.contributions import ShapSummary, explain_encoded, summarise_contributions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StabilitySpec:
    """Bootstrap settings."""

    n_boot: int = 100
    n_jobs: int = 2
    min_sign_agreement: float = 0.9

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "stability") -> StabilitySpec:
        allowed = {"n_boot", "n_jobs", "min_sign_agreement"}
        reject_unknown_keys(data, allowed, key)
        spec = cls(**dict(data))
        if not isinstance(spec.n_boot, int) or spec.n_boot < 0:
            raise ConfigError(f"{key}.n_boot must be a non-negative integer; got {spec.n_boot!r}.")
        if not isinstance(spec.n_jobs, int) or spec.n_jobs < 1:
            raise ConfigError(f"{key}.n_jobs must be a positive integer; got {spec.n_jobs!r}.")
        if not 0.5 <= spec.min_sign_agreement <= 1:
            raise ConfigError(
                f"{key}.min_sign_agreement must be within 0.5..1; got {spec.min_sign_agreement!r}."
            )
        return spec


@dataclass(frozen=True)
class StabilityResult:
    n_boot: int
    rank_median: dict[str, float]
    rank_interval: dict[str, tuple[int, int]]
    """2.5th and 97.5th percentile of each factor's importance rank (1 = most important)."""
    sign_agreement: dict[tuple[str, str], float | None]
    """Share of refits whose direction for the level has the whole-cohort sign."""


_Refit = tuple[list[float], dict[tuple[str, str], float | None]]


def _ranks(importance: Sequence[float]) -> np.ndarray:
    order = np.argsort(-np.asarray(importance), kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _refits(
    classifier: Any,
    encoder: FactorEncoder,
    X: Any,
    codes: np.ndarray,
    y: np.ndarray,
    seeds: Sequence[tuple[int, int]],
    k: int,
) -> list[_Refit | None]:
    out: list[_Refit | None] = []
    n = len(y)
    for seed in seeds:
        rng = np.random.default_rng(list(seed))
        idx = np.sort(rng.integers(0, n, n))
        if y[idx].min() == y[idx].max():
            out.append(None)  # a one-class resample cannot be fitted; it is not counted
            continue
        model = clone(classifier).fit(X[idx], y[idx])
        summary = summarise_contributions(explain_encoded(model, encoder, X, codes), k=k)
        out.append((list(summary.importance.values()), summary.direction))
    return out


def bootstrap_stability(
    classifier: Any,
    encoder: FactorEncoder,
    X: Any,
    codes: np.ndarray,
    y: np.ndarray,
    reference: ShapSummary,
    *,
    spec: StabilitySpec,
    seed: int,
    k: int,
) -> StabilityResult:
    """Refit ``classifier`` (unfitted template) on bootstrap samples; summarise ranks and signs."""
    from joblib import Parallel, delayed

    factors = list(reference.importance)
    if spec.n_boot == 0:
        return StabilityResult(0, {}, {}, {})
    seeds = [(seed, b) for b in range(spec.n_boot)]
    n_jobs = min(spec.n_jobs, spec.n_boot)
    chunks = [seeds[i::n_jobs] for i in range(n_jobs)]
    log.info("stability: %d bootstrap refits in %d process(es)", spec.n_boot, n_jobs)
    if n_jobs == 1:
        parts = [_refits(classifier, encoder, X, codes, y, chunks[0], k)]
    else:
        parts = Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(_refits)(classifier, encoder, X, codes, y, chunk, k) for chunk in chunks
        )
    # Chunks interleave refits (b = i, i + n_jobs, ...); restore refit order before summarising.
    by_refit: dict[int, _Refit | None] = {}
    for chunk, part in zip(chunks, parts, strict=True):
        for (_, b), result in zip(chunk, part, strict=True):
            by_refit[b] = result
    results = [r for _, r in sorted(by_refit.items()) if r is not None]
    ranks = np.array([_ranks(imp) for imp, _ in results]) if results else np.empty((0, 0))
    rank_median = (
        {f: float(np.median(ranks[:, i])) for i, f in enumerate(factors)} if results else {}
    )
    rank_interval = {
        f: (int(np.percentile(ranks[:, i], 2.5)), int(np.ceil(np.percentile(ranks[:, i], 97.5))))
        for i, f in enumerate(factors)
    } if results else {}  # fmt: skip
    agreement: dict[tuple[str, str], float | None] = {}
    for key, ref in reference.direction.items():
        signs = [float(s) for _, d in results if (s := d.get(key)) is not None]
        if ref is None or not signs or ref == 0:
            agreement[key] = None
            continue
        agreement[key] = float(np.mean(np.sign(signs) == np.sign(ref)))
    return StabilityResult(len(results), rank_median, rank_interval, agreement)
