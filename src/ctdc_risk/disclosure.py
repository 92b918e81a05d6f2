"""What a reader can infer about withheld counts from the counts a run publishes.

A withheld count is not safe just because it is not printed: published totals and the other
cells of the same table pin it by subtraction, or by a longer linear combination. This module
states the published figures as linear relations over unknown counts (:class:`LinearSystem`)
and computes, by linear programming, the tightest interval each unknown can take
(:func:`feasible_range`); :func:`is_disclosed` says when that interval gives a small count away.

The linear programme relaxes integrality, so its intervals are at least as wide as an integer
attacker's; the ends are rounded inwards (every count is a whole number).

Examples
--------
>>> s = LinearSystem()
>>> a, b = s.unknown("a", 0, 9), s.unknown("b", 0, 100)
>>> s.equal({a: 1, b: 1}, 3)   # a + b is published: 3
>>> feasible_range(s, {a: 1})
(0, 3)
>>> is_disclosed(0, 3, k=10)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

_EPS = 1e-6


@dataclass
class LinearSystem:
    """Unknown counts with bounds, and linear equalities and inequalities between them."""

    names: list[str] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    equalities: list[tuple[dict[int, float], float]] = field(default_factory=list)
    inequalities: list[tuple[dict[int, float], float]] = field(default_factory=list)

    def unknown(self, name: str, lower: float, upper: float) -> int:
        """Add an unknown count within ``[lower, upper]``; return its index."""
        self.names.append(name)
        self.lower.append(float(lower))
        self.upper.append(float(max(lower, upper)))
        return len(self.names) - 1

    def equal(self, coefficients: Mapping[int, float], value: float) -> None:
        """Add the relation ``sum(c * x) == value``."""
        self.equalities.append((dict(coefficients), float(value)))

    def at_most(self, coefficients: Mapping[int, float], value: float) -> None:
        """Add the relation ``sum(c * x) <= value``."""
        self.inequalities.append((dict(coefficients), float(value)))


def _matrix(rows: list[tuple[dict[int, float], float]], n: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros((len(rows), n))
    b = np.zeros(len(rows))
    for i, (coefficients, value) in enumerate(rows):
        for j, c in coefficients.items():
            a[i, j] += c
        b[i] = value
    return a, b


def feasible_range(system: LinearSystem, expression: Mapping[int, float]) -> tuple[int, int] | None:
    """The smallest and largest whole value of ``sum(c * x)`` the relations allow.

    Returns None when the relations contradict each other (the published figures are
    inconsistent, which an audit reports as such).
    """
    from scipy.optimize import linprog

    n = len(system.names)
    if n == 0:
        return None
    cost = np.zeros(n)
    for j, c in expression.items():
        cost[j] += c
    a_eq, b_eq = _matrix(system.equalities, n)
    a_ub, b_ub = _matrix(system.inequalities, n)
    bounds = list(zip(system.lower, system.upper, strict=True))
    ends = []
    for sign in (1.0, -1.0):
        result = linprog(
            sign * cost,
            A_ub=a_ub if len(b_ub) else None,
            b_ub=b_ub if len(b_ub) else None,
            A_eq=a_eq if len(b_eq) else None,
            b_eq=b_eq if len(b_eq) else None,
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            return None
        ends.append(sign * float(result.fun))
    low, high = ends
    return math.ceil(low - _EPS), math.floor(high + _EPS)


def is_disclosed(low: int, high: int, *, k: int) -> bool:
    """Whether a count known to lie in ``[low, high]`` is given away under floor ``k``.

    It is when the interval holds fewer than ``k`` whole values and the count may be a small
    positive one (``low < k`` and ``high > 0``): a reader then knows a group of fewer than k
    people more precisely than the ``<k`` marker says. An interval at 0 describes nobody; one
    wholly at or above k describes no small group.

    Examples
    --------
    >>> is_disclosed(3, 3, k=10), is_disclosed(0, 9, k=10), is_disclosed(0, 0, k=10)
    (True, False, False)
    >>> is_disclosed(500, 503, k=10)
    False
    """
    return high - low + 1 < k and low < k and high > 0
