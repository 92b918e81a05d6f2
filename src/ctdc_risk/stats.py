"""Small closed-form statistics (no heavy imports): intervals, adjusted p-values, E-values and
the pooling of log odds ratios across releases."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    Examples
    --------
    >>> lo, hi = wilson_interval(41, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.319, 0.508)
    """
    if total <= 0:
        raise ValueError(f"total must be positive; got {total}")
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be within 0..{total}; got {successes}")
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; rounding would put it a hair inside.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == total else min(1.0, centre + half)
    return lo, hi


def ratio_of_proportions(
    x1: int, n1: int, x2: int, n2: int, *, z: float = Z95
) -> tuple[float, tuple[float, float]] | None:
    """Ratio (x1/n1) / (x2/n2) with a 95 % interval on the log scale (Katz).

    Returns ``None`` when a count is zero (the ratio or its interval is undefined).

    Examples
    --------
    >>> ratio, (lo, hi) = ratio_of_proportions(41, 100, 9, 100)
    >>> round(ratio, 2), round(lo, 2), round(hi, 2)
    (4.56, 2.34, 8.87)
    """
    if min(x1, x2) <= 0 or min(n1, n2) <= 0:
        return None
    ratio = (x1 / n1) / (x2 / n2)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    log_r = math.log(ratio)
    return ratio, (math.exp(log_r - z * se), math.exp(log_r + z * se))


def two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic.

    Examples
    --------
    >>> round(two_sided_p(1.959963984540054), 6)
    0.05
    """
    return math.erfc(abs(z) / math.sqrt(2.0))


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control), in input order.

    Examples
    --------
    >>> [round(q, 3) for q in holm_adjust([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def bh_adjust(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control), in input order.

    Examples
    --------
    >>> [round(q, 3) for q in bh_adjust([0.01, 0.04, 0.03])]
    [0.03, 0.04, 0.04]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    out = [0.0] * m
    running = 1.0
    for position, i in enumerate(order):
        rank = m - position
        running = min(running, p_values[i] * m / rank)
        out[i] = min(1.0, running)
    return out


COMMON_OUTCOME = 0.15


def e_value(odds_ratio: float, *, prevalence: float) -> float:
    """VanderWeele and Ding's E-value of an odds ratio.

    The minimum strength (risk ratio) with which an unmeasured confounder would have to be
    associated with both the exposure and the outcome, beyond the measured covariates, to
    explain the association away. An odds ratio of a common outcome (prevalence above 15 %)
    is first turned into an approximate risk ratio by its square root.

    Examples
    --------
    >>> round(e_value(3.9, prevalence=0.05), 2)
    7.26
    >>> round(e_value(0.5, prevalence=0.05), 2)
    3.41
    >>> round(e_value(4.0, prevalence=0.5), 2)  # common outcome: RR ~ sqrt(OR) = 2
    3.41
    """
    rr = math.sqrt(odds_ratio) if prevalence > COMMON_OUTCOME else odds_ratio
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value_limit(low: float, high: float, *, prevalence: float) -> float:
    """E-value of the interval limit closest to 1 (1 when the interval includes 1)."""
    if low <= 1 <= high:
        return 1.0
    return e_value(low if low > 1 else high, prevalence=prevalence)


# Pooling across releases (replication): DerSimonian-Laird random effects.
RANDOM_EFFECTS = "random effects (DerSimonian-Laird)"
FIXED_EFFECT = "fixed effect (one release)"


@dataclass(frozen=True)
class Pooled:
    """Pooled log odds ratio across releases, with heterogeneity."""

    method: str
    odds_ratio: float
    low: float
    high: float
    q: float | None = None
    """Cochran's Q (None with one release)."""
    df: int = 0
    q_p: float | None = None
    i2: float | None = None
    """Share of the variation between releases beyond chance, max(0, (Q - df) / Q)."""
    tau2: float | None = None
    """Between-release variance of the log odds ratio (DerSimonian-Laird)."""


def chi2_sf(q: float, df: int) -> float:
    """P(chi² with ``df`` degrees of freedom > ``q``).

    Examples
    --------
    >>> round(chi2_sf(3.841459, 1), 4)
    0.05
    """
    from scipy.special import gammaincc

    return float(gammaincc(df / 2.0, q / 2.0)) if q > 0 else 1.0


def pool_log_odds_ratios(log_or: Sequence[float], se: Sequence[float]) -> Pooled:
    """Pool log odds ratios: DerSimonian-Laird random effects, or the one estimate itself.

    Parameters
    ----------
    log_or, se
        One log odds ratio and its standard error (positive) per release.

    Examples
    --------
    Two releases, log OR 0 and 1 with standard errors 0.5: fixed-effect weights 4 and 4,
    Q = 4 * 0.5² * 2 = 2, df = 1, I² = (2 - 1) / 2 = 0.5, tau² = (2 - 1) / (8 - 32 / 8) = 0.25.

    >>> p = pool_log_odds_ratios([0.0, 1.0], [0.5, 0.5])
    >>> p.q, p.i2, p.tau2, round(math.log(p.odds_ratio), 6)
    (2.0, 0.5, 0.25, 0.5)
    """
    if len(log_or) != len(se) or not log_or:
        raise ValueError(
            f"need one standard error per log odds ratio, at least one; got {len(log_or)} log "
            f"odds ratios and {len(se)} standard errors."
        )
    if any(not (s > 0 and math.isfinite(s)) for s in se):
        raise ValueError(f"standard errors must be positive and finite; got {list(se)}.")
    weights = [1.0 / (s * s) for s in se]
    total = sum(weights)
    fixed = sum(w * y for w, y in zip(weights, log_or, strict=True)) / total
    if len(log_or) == 1:
        half = Z95 * math.sqrt(1.0 / total)
        return Pooled(FIXED_EFFECT, math.exp(fixed), math.exp(fixed - half), math.exp(fixed + half))
    # Identical estimates agree exactly: no rounding residue in Q.
    same = max(log_or) == min(log_or)
    q = 0.0 if same else sum(w * (y - fixed) ** 2 for w, y in zip(weights, log_or, strict=True))
    df = len(log_or) - 1
    c = total - sum(w * w for w in weights) / total
    tau2 = max(0.0, (q - df) / c) if c > 0 else 0.0
    star = [1.0 / (s * s + tau2) for s in se]
    pooled = sum(w * y for w, y in zip(star, log_or, strict=True)) / sum(star)
    half = Z95 * math.sqrt(1.0 / sum(star))
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return Pooled(
        RANDOM_EFFECTS,
        math.exp(pooled),
        math.exp(pooled - half),
        math.exp(pooled + half),
        q=q,
        df=df,
        q_p=chi2_sf(q, df),
        i2=i2,
        tau2=tau2,
    )
