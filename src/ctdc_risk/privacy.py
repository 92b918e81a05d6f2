"""The privacy floor: no published count, share or subgroup rests on fewer than k records.

A cell is suppressed when its count is below ``k``. A share is suppressed when its numerator or
its complement (denominator minus numerator) is below ``k``: publishing the share and the
denominator would otherwise reveal the small complement (secondary suppression).

Suppression is also complementary. Cells that add up to a published total (a factor's levels,
the bins of a reliability curve, the steps of a cohort flow) are decided together by
:func:`suppress_partition` and :func:`suppress_chain`: when what is left published would give
a withheld cell back by subtraction or any linear combination (bounds computed by
:mod:`ctdc_risk.disclosure`), more cells are withheld, the least informative first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ctdc_risk.disclosure import LinearSystem, feasible_range, is_disclosed
from ctdc_risk.errors import ConfigError

MIN_K = 5
SUPPRESSED = "suppressed"
"""Marker of a count withheld to protect another (complementary suppression): it may be large."""

# Complementary suppression on (True) or off. Off exists only so tests can show what the audit
# finds without it; nothing in the package turns it off.
_COMPLEMENTARY = True


@dataclass(frozen=True)
class PrivacySpec:
    """Privacy settings: ``k`` is the fewest records any published figure may rest on."""

    k: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < MIN_K:
            raise ConfigError(
                f"privacy.k must be an integer of at least {MIN_K}; got {self.k!r}. Smaller "
                "cells could identify survivors."
            )

    def marker(self) -> str:
        """How a suppressed cell is shown."""
        return f"<{self.k}"


@dataclass(frozen=True)
class ShareCell:
    """A count and share that may be published, or the reason it may not."""

    numerator: int
    denominator: int
    show_denominator: bool
    show_share: bool


def check_share(numerator: int, denominator: int, k: int) -> ShareCell:
    """Decide what of ``numerator / denominator`` may be published under floor ``k``."""
    show_denominator = denominator >= k
    show_share = show_denominator and numerator >= k and (denominator - numerator) >= k
    return ShareCell(numerator, denominator, show_denominator, show_share)


class PrivacyViolationError(RuntimeError):
    """A writer was about to publish a count under the privacy floor (a bug, never data)."""


_COUNT_NAME = re.compile(r"(^|[/_.])n($|_)|^n\w*$|_count$|^count$")
_EXEMPT = frozenset(
    {"n_boot", "n_splits", "n_bins", "n_jobs", "n_values", "n_estimators", "n_bytes"}
)


def is_count_name(name: str) -> bool:
    """True for column or key names that hold numbers of records (``n``, ``n_with``, ...)."""
    last = name.rsplit("/", 1)[-1]
    return last not in _EXEMPT and bool(_COUNT_NAME.search(last))


def _bad_count(value: object, k: int) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return 0 < value < k
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return False  # a marker such as "<10" or an empty cell
        return 0 < number < k
    return False


def guard_table(
    header: Sequence[str], rows: Iterable[Sequence[object]], k: int, where: str
) -> None:
    """Refuse rows whose count columns hold a value between 1 and k - 1."""
    columns = [i for i, name in enumerate(header) if is_count_name(str(name))]
    if not columns:
        return
    for row in rows:
        for i in columns:
            if _bad_count(row[i], k):
                raise PrivacyViolationError(
                    f"{where}: column {header[i]!r} would publish a count under k = {k}"
                )


def guard_document(data: object, k: int, where: str, path: str = "") -> None:
    """Refuse JSON-like data whose count keys hold a value between 1 and k - 1."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if is_count_name(str(key)) and _bad_count(value, k):
                raise PrivacyViolationError(
                    f"{where}: key {here!r} would publish a count under k = {k}"
                )
            guard_document(value, k, where, here)
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            guard_document(value, k, where, f"{path}[{i}]")


def suppress_counts(data: object, k: int) -> object:
    """Copy of JSON-like ``data`` with every count between 1 and k - 1 replaced by ``"<k"``."""
    if isinstance(data, Mapping):
        return {
            key: (
                f"<{k}" if is_count_name(str(key)) and _bad_count(v, k) else suppress_counts(v, k)
            )
            for key, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [suppress_counts(v, k) for v in data]
    return data


def marker_for(value: int, k: int) -> str:
    """How a withheld count is shown: ``"<k"`` when it is under ``k``, else ``"suppressed"``."""
    return f"<{k}" if value < k else SUPPRESSED


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
    while _COMPLEMENTARY and any(hide_y):
        failing = partition_failures(sizes, yes, hide_n, hide_y, k=k, unpublished=never)
        if not failing:
            break
        hidden = hide_n if "n" in failing else hide_y
        candidates = [i for i in range(len(sizes)) if not hidden[i]]
        if not candidates:
            break
        pick = min(candidates, key=lambda i: (order[i], sizes[i], i))
        hide_y[pick] = True
        if "n" in failing:
            hide_n[pick] = True
    shown = [h and not u for h, u in zip(hide_n, never, strict=True)]
    return PartitionSuppression(
        tuple(hide_n),
        tuple(hide_y),
        tuple(marker_for(v, k) if h else "" for v, h in zip(sizes, shown, strict=True)),
        tuple(marker_for(total - v, k) if h else "" for v, h in zip(sizes, shown, strict=True)),
    )


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
    while _COMPLEMENTARY:
        failing = chain_failures(values, hidden, k=k)
        if failing is None:
            break
        pick = next(
            (j for j in _near(failing, len(values)) if 0 < j < len(values) - 1 and not hidden[j]),
            None,
        )
        if pick is None:
            break
        hidden[pick] = True
    return tuple(marker_for(c, k) if h else "" for c, h in zip(values, hidden, strict=True))


def _near(i: int, n: int) -> list[int]:
    """Positions from ``i`` outwards: i, i-1, i+1, i-2, ..."""
    out = [i]
    for d in range(1, n):
        out += [i - d, i + d]
    return out


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
