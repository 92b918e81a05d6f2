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
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from highspy._core import _Highs

_EPS = 1e-6


@dataclass
class LinearSystem:
    """Unknown counts with bounds, and linear equalities and inequalities between them."""

    names: list[str] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    equalities: list[tuple[dict[int, float], float]] = field(default_factory=list)
    inequalities: list[tuple[dict[int, float], float]] = field(default_factory=list)
    # The HiGHS model of these relations, built at the first feasible_range and kept while no
    # relation is added: the next bound of the same system only changes the objective, and
    # HiGHS starts it from the last optimal basis.
    _model: tuple[tuple[int, int, int], _Highs] | None = field(
        default=None, init=False, repr=False, compare=False
    )

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

    def solver(self) -> _Highs:
        """The HiGHS model of the relations as they stand (built again after any addition)."""
        shape = (len(self.names), len(self.equalities), len(self.inequalities))
        if self._model is None or self._model[0] != shape:
            self._model = (shape, _highs_model(self))
        return self._model[1]


def _highs_model(system: LinearSystem) -> _Highs:
    """A silent, single-threaded HiGHS model: one column per unknown, one row per relation."""
    import highspy
    from highspy._core import _Highs

    # _Highs (in highspy's __all__) is the solver without highspy.Highs's Python callbacks, whose
    # set-up prints a banner on the terminal: the CLI's output is ours.
    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    n = len(system.names)
    highs.addVars(n, np.array(system.lower), np.array(system.upper))
    rows = [*system.equalities, *system.inequalities]
    if rows:
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        for coefficients, _ in rows:
            starts.append(len(index))
            for j, c in coefficients.items():
                if c:
                    index.append(j)
                    value.append(c)
        rhs = np.array([v for _, v in rows])
        lhs = rhs.copy()
        lhs[len(system.equalities) :] = -highspy.kHighsInf  # inequalities: sum(c * x) <= value
        highs.addRows(
            len(rows),
            lhs,
            rhs,
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=np.float64),
        )
    return highs


def feasible_range(system: LinearSystem, expression: Mapping[int, float]) -> tuple[int, int] | None:
    """The smallest and largest whole value of ``sum(c * x)`` the relations allow.

    Returns None when the relations contradict each other (the published figures are
    inconsistent, which an audit reports as such).
    """
    import highspy

    n = len(system.names)
    if n == 0:
        return None
    highs = system.solver()
    cost = np.zeros(n)
    for j, c in expression.items():
        cost[j] += c
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    ends = []
    for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
        highs.changeObjectiveSense(sense)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        ends.append(float(highs.getInfo().objective_function_value))
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
