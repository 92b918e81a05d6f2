"""Privacy: the floor k every output is held to, and complementary suppression.

The floor itself (``k``, the ``"<k"`` marker, which counts and shares may be shown, the guards
of every written file) lives in :mod:`ctdc_risk.privacy.floor`, re-exported here.

Suppression is also complementary. Cells that add up to a published total (a factor's levels,
the bins of a reliability curve, the steps of a cohort flow) are decided together by
:func:`suppress_partition` and :func:`suppress_chain`: when what is left published would give
a withheld cell back by subtraction or any linear combination (bounds computed by
:mod:`ctdc_risk.privacy.relations` with :mod:`ctdc_risk.disclosure`), more cells are withheld,
the least informative first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ctdc_risk.privacy.floor import (
    MIN_K,
    SUPPRESSED,
    Floor,
    PrivacySpec,
    PrivacyViolationError,
    ShareCell,
    check_share,
    is_count_name,
    marker_for,
)
from ctdc_risk.privacy.relations import (
    chain_failures,
    chain_system,
    partition_failures,
    partition_system,
)

__all__ = [
    "MIN_K",
    "SUPPRESSED",
    "Floor",
    "PartitionSuppression",
    "PrivacySpec",
    "PrivacyViolationError",
    "ShareCell",
    "chain_failures",
    "chain_system",
    "check_share",
    "is_count_name",
    "marker_for",
    "partition_failures",
    "partition_system",
    "suppress_chain",
    "suppress_partition",
]

# Complementary suppression on (True) or off. Off exists only so tests can show what the audit
# finds without it; nothing in the package turns it off.
_COMPLEMENTARY = True


@dataclass(frozen=True)
class PartitionSuppression:
    """Which cells of a partition to withhold.

    ``hide_n[i]``: the size of cell i (and its complement, total minus size);
    ``hide_y[i]``: its outcome count, so every share, rate or ratio built from it.
    ``n_markers[i]`` and ``without_markers[i]`` say how a withheld size and its complement
    are shown (``"<k"`` or ``"suppressed"``); empty where published.
    """

    hide_n: tuple[bool, ...]
    hide_y: tuple[bool, ...]
    n_markers: tuple[str, ...]
    without_markers: tuple[str, ...]

    @property
    def complementary(self) -> int:
        """How many sizes are withheld only to protect others."""
        return sum(h and m == SUPPRESSED for h, m in zip(self.hide_n, self.n_markers, strict=True))


def suppress_partition(
    n: Sequence[int],
    y: Sequence[int],
    *,
    k: int,
    prefer: Sequence[int] | None = None,
    unpublished: Sequence[bool] | None = None,
) -> PartitionSuppression:
    """Decide which cells of a partition to withhold, complementary suppression included.

    The cells (a factor's levels, a curve's bins) share every case out once, so their sizes
    add up to a published total ``sum(n)`` and their outcome counts to ``sum(y)``. A cell's
    size is withheld when it or the total minus it is under ``k``; its outcome count (every
    share built on it) when the size is, or when the count, the size minus it, or either count
    of the rest of the total is under ``k``. Then, while the published rest would let a reader
    bound a withheld count to fewer than ``k`` values, or pin a withheld share to 0 % or
    100 %, the next cell is withheld too: the lowest ``prefer`` rank first, then the smallest.
    ``unpublished`` cells are never shown (a remainder such as children of unrecorded gender
    beside boys and girls), so they carry no marker, but they too must not be recoverable.

    Examples
    --------
    >>> s = suppress_partition([500, 300, 3], [200, 100, 3], k=10)
    >>> s.hide_n, s.n_markers
    ((False, True, True), ('', 'suppressed', '<10'))
    """
    sizes, yes = [int(v) for v in n], [int(v) for v in y]
    total, positive = sum(sizes), sum(yes)
    order = list(prefer) if prefer is not None else [0] * len(sizes)
    never = list(unpublished) if unpublished is not None else [False] * len(sizes)
    hide_n = [v < k or 0 < total - v < k or never[i] for i, v in enumerate(sizes)]
    hide_y = [
        hide_n[i] or min(yes[i], sizes[i] - yes[i]) < k
        or min(positive - yes[i], total - sizes[i] - positive + yes[i]) < k
        for i in range(len(sizes))
    ]  # fmt: skip

    def failures() -> set[str] | None:
        if not any(hide_y):
            return None
        return partition_failures(sizes, yes, hide_n, hide_y, k=k, unpublished=never) or None

    def next_cell(failing: set[str]) -> int | None:
        hidden = hide_n if "n" in failing else hide_y
        candidates = [i for i in range(len(sizes)) if not hidden[i]]
        return min(candidates, key=lambda i: (order[i], sizes[i], i), default=None)

    def withhold(failing: set[str], pick: int) -> None:
        hide_y[pick] = True
        if "n" in failing:
            hide_n[pick] = True

    _withhold_until_safe(failures, next_cell, withhold)
    shown = [h and not u for h, u in zip(hide_n, never, strict=True)]
    floor = Floor(k)
    return PartitionSuppression(
        tuple(hide_n),
        tuple(hide_y),
        tuple(floor.withheld(v) if h else "" for v, h in zip(sizes, shown, strict=True)),
        tuple(floor.withheld(total - v) if h else "" for v, h in zip(sizes, shown, strict=True)),
    )


def suppress_chain(counts: Sequence[int], *, k: int) -> tuple[str, ...]:
    """Markers for a chain of shrinking counts (a cohort flow); empty where published.

    Each step removes ``counts[i-1] - counts[i]`` cases. A count under ``k`` (other than 0) is
    withheld; then, while two published counts, or the bounds of withheld ones, would pin the
    cases a step removes to fewer than ``k`` values, a neighbouring count is withheld too. The
    first and last counts stay published (the data report and the study's total give them).

    Examples
    --------
    >>> suppress_chain([1000, 997, 500, 500], k=10)
    ('', 'suppressed', '', '')
    """
    values = [int(c) for c in counts]
    hidden = [0 < c < k for c in values]
    hidden[0] = hidden[-1] = False

    def next_cell(failing: int) -> int | None:
        inner = range(1, len(values) - 1)
        return next((j for j in _near(failing, len(values)) if j in inner and not hidden[j]), None)

    def withhold(_: int, pick: int) -> None:
        hidden[pick] = True

    _withhold_until_safe(lambda: chain_failures(values, hidden, k=k), next_cell, withhold)
    floor = Floor(k)
    return tuple(floor.withheld(c) if h else "" for c, h in zip(values, hidden, strict=True))


_F = TypeVar("_F")


def _withhold_until_safe(
    failures: Callable[[], _F | None],
    next_cell: Callable[[_F], int | None],
    withhold: Callable[[_F, int], None],
) -> None:
    """The one loop of complementary suppression (partitions and chains alike).

    While ``failures()`` says what stays published gives a withheld count back, withhold the
    cell ``next_cell`` picks for that failure; stop when nothing fails or no cell is left.
    """
    while _COMPLEMENTARY:
        failing = failures()
        if failing is None:
            return
        pick = next_cell(failing)
        if pick is None:
            return
        withhold(failing, pick)


def _near(i: int, n: int) -> list[int]:
    """Positions from ``i`` outwards: i, i-1, i+1, i-2, ..."""
    out = [i]
    for d in range(1, n):
        out += [i - d, i + d]
    return out
