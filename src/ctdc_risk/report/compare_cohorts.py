"""Two runs of separate groups (cohorts that share no case) of one outcome, compared by a test.

A label that differs between boys and girls is no evidence that a factor acts differently: the
smaller group has the wider intervals. Instead each level's adjusted odds ratios (same reference
level in both runs) are compared by a z-test on the difference of their log odds ratios, with
standard errors read from the published 95 % intervals (the groups are independent samples),
and Holm's (or Benjamini-Hochberg's, as the runs were configured) correction across every level
tested. A level differs when its q-value is below alpha and the interval of the ratio of odds
ratios excludes 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from ctdc_risk.stats import Z95, bh_adjust, holm_adjust, two_sided_p

# Cohorts that share no case: two runs of one pair are independent samples.
DISJOINT_COHORTS = (
    frozenset({"boys", "girls"}),
    frozenset({"children_0_8", "children_9_17"}),
    frozenset({"adults", "children"}),
)
POOLED = "other (fewer than k cases)"
NOT_CASE_LEVELS = frozenset({"unknown", "not recorded", POOLED})
OR_COLUMNS = ("adjusted_or", "adjusted_or_low", "adjusted_or_high")


class _Run(Protocol):
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def params(self) -> Mapping[str, str]: ...


def as_float(text: str | None) -> float | None:
    """A published number, or ``None`` for a blank or non-finite cell."""
    try:
        value = float(text or "nan")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def separate_groups(runs: Sequence[_Run]) -> bool:
    """Two runs of one outcome on one data set, in cohorts that share no case."""
    if len(runs) != 2:
        return False
    a, b = (r.tags for r in runs)
    return frozenset({a.get("cohort"), b.get("cohort")}) in DISJOINT_COHORTS and all(
        a.get(tag) == b.get(tag) for tag in ("target", "data_release", "data_sha256")
    )


def _log_or(row: Mapping[str, str]) -> tuple[float, float] | None:
    """Log odds ratio and its standard error from a published Wald interval."""
    value, low, high = (as_float(row.get(c)) for c in OR_COLUMNS)
    if value is None or low is None or high is None or min(value, low) <= 0 or high <= low:
        return None
    return math.log(value), (math.log(high) - math.log(low)) / (2 * Z95)


_Tested = dict[tuple[str, str], tuple[tuple[float, float, float], float, bool]]


def group_tests(
    runs: Sequence[_Run], per_run: list[dict[tuple[str, str], Mapping[str, str]]]
) -> tuple[_Tested, float, str]:
    """Per level in both runs: ratio of odds ratios [CI], q-value, whether the difference holds."""
    alphas = {r.params.get("explain.alpha", "0.05") for r in runs}
    methods = {r.params.get("explain.multiplicity", "holm") for r in runs}
    alpha = float(alphas.pop()) if len(alphas) == 1 else 0.05
    method = methods.pop() if len(methods) == 1 and methods <= {"holm", "bh"} else "holm"
    a, b = per_run
    found: dict[tuple[str, str], tuple[tuple[float, float, float], float]] = {}
    for key, row_a in a.items():
        row_b = b.get(key)
        if row_b is None or key[1] in NOT_CASE_LEVELS or row_a.get("label") == "reference":
            continue
        if "suppressed" in (row_a.get("label"), row_b.get("label")):
            continue
        if row_a.get("reference_level") != row_b.get("reference_level"):
            continue
        ea, eb = _log_or(row_a), _log_or(row_b)
        if ea is None or eb is None:
            continue
        diff, se = ea[0] - eb[0], math.hypot(ea[1], eb[1])
        ratio = (math.exp(diff), math.exp(diff - Z95 * se), math.exp(diff + Z95 * se))
        found[key] = (ratio, two_sided_p(diff / se))
    adjust = holm_adjust if method == "holm" else bh_adjust
    qs = adjust([p for _, p in found.values()])
    out = {
        key: (ratio, q, q < alpha and not ratio[1] <= 1 <= ratio[2])
        for (key, (ratio, _)), q in zip(found.items(), qs, strict=True)
    }
    return out, alpha, method
