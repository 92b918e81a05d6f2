"""What a reader can work out about a partly published partition or chain of counts.

The published cells, their totals and the ``<k`` markers (as bounds) are written down as a
:class:`~ctdc_risk.disclosure.LinearSystem`; a withheld count is disclosed when linear
programming pins it to fewer than ``k`` values (or a withheld share to 0 % or 100 %). The
suppression in :mod:`ctdc_risk.privacy` withholds cells until none is; the audit reads a run
folder the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctdc_risk.disclosure import LinearSystem, feasible_range, is_disclosed


def partition_failures(
    sizes: Sequence[int],
    yes: Sequence[int],
    hide_n: Sequence[bool],
    hide_y: Sequence[bool],
    *,
    k: int,
    unpublished: Sequence[bool] | None = None,
) -> set[str]:
    """``{"n"}``, ``{"y"}``, both or neither: which withheld counts a reader could recover.

    Models what is published of a partition: the totals, each shown size and outcome count,
    and ``<k`` markers as bounds, exactly as the audit reads them from a run folder.
    """
    system, n_var, y_var = partition_system(
        sizes, yes, hide_n, hide_y, k=k, unpublished=unpublished
    )
    failing: set[str] = set()
    for i in range(len(sizes)):
        if hide_n[i]:
            bounds = feasible_range(system, {n_var[i]: 1})
            if bounds is None or is_disclosed(*bounds, k=k):
                failing.add("n")
        if hide_y[i] and "n" not in failing:
            n_high = sizes[i] if not hide_n[i] else system.upper[n_var[i]]
            for expression in ({y_var[i]: 1.0}, {n_var[i]: 1.0, y_var[i]: -1.0}):
                bounds = feasible_range(system, expression)
                if bounds is None or is_disclosed(*bounds, k=k) or bounds[1] <= 0 < n_high:
                    failing.add("y")  # recovered, or its share pinned to 0 % or 100 %
    return failing


def partition_system(
    sizes: Sequence[int],
    yes: Sequence[int],
    hide_n: Sequence[bool],
    hide_y: Sequence[bool],
    *,
    k: int,
    unpublished: Sequence[bool] | None = None,
) -> tuple[LinearSystem, list[int], list[int]]:
    """The linear relations a reader has about a partially published partition.

    Every cell's size and outcome count is a variable; a published one is fixed by equal
    bounds. A withheld size shown ``<k`` lies in ``[0, k-1]``; one whose complement is shown
    ``<k`` in ``[total-k+1, total]``; an ``unpublished`` one anywhere. Sizes add up to the
    total, outcome counts to theirs, and no outcome count exceeds its cell's size.
    """
    total, positive = sum(sizes), sum(yes)
    system = LinearSystem()
    n_var, y_var = [], []
    for i, (v, w) in enumerate(zip(sizes, yes, strict=True)):
        if unpublished is not None and unpublished[i]:
            n_var.append(system.unknown(f"n[{i}]", 0, total))
        elif hide_n[i]:
            low = total - (k - 1) if 0 < total - v < k else 0
            high = k - 1 if v < k else total
            n_var.append(system.unknown(f"n[{i}]", max(low, 0), high))
        else:
            n_var.append(system.unknown(f"n[{i}]", v, v))
        if hide_y[i]:
            y_var.append(system.unknown(f"y[{i}]", 0, positive))
        else:
            y_var.append(system.unknown(f"y[{i}]", w, w))
        system.at_most({y_var[-1]: 1.0, n_var[-1]: -1.0}, 0.0)
    system.equal(dict.fromkeys(n_var, 1.0), total)
    system.equal(dict.fromkeys(y_var, 1.0), positive)
    return system, n_var, y_var


def chain_failures(values: Sequence[int], hidden: Sequence[bool], *, k: int) -> int | None:
    """The first step whose removed cases (or a withheld count) a reader could pin, or None."""
    system, var = chain_system(values, hidden, k=k)
    for i in range(len(values)):
        if hidden[i]:
            bounds = feasible_range(system, {var[i]: 1})
            if bounds is None or is_disclosed(*bounds, k=k):
                return i
        if i:
            bounds = feasible_range(system, {var[i - 1]: 1, var[i]: -1})
            if bounds is None or is_disclosed(*bounds, k=k):
                return i
    return None


def chain_system(
    values: Sequence[int], hidden: Sequence[bool], *, k: int
) -> tuple[LinearSystem, list[int]]:
    """Relations a reader has about a partially published chain of shrinking counts."""
    system = LinearSystem()
    top = max(values) if values else 0
    var = []
    for v, h in zip(values, hidden, strict=True):
        if not h:
            var.append(system.unknown("c", v, v))
        else:
            var.append(system.unknown("c", 0, k - 1 if v < k else top))
    for i in range(1, len(var)):
        system.at_most({var[i]: 1.0, var[i - 1]: -1.0}, 0.0)
    return system, var
