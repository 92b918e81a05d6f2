"""The privacy floor: no published count, share or subgroup rests on fewer than k records.

A cell is suppressed when its count is below ``k``. A share is suppressed when its numerator or
its complement (denominator minus numerator) is below ``k``: publishing the share and the
denominator would otherwise reveal the small complement (secondary suppression).

:class:`Floor` is the one owner of ``k``, the ``"<k"`` marker and these rules; the guards
here check every table and document a run writes against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ctdc_risk.validate import Constraints, Interval, check_fields

MIN_K = 5
SUPPRESSED = "suppressed"
"""Marker of a count withheld to protect another (complementary suppression): it may be large."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Floor:
    """The privacy floor of a run: the one owner of ``k``, of the ``"<k"`` marker and of the
    rule that decides whether a count may be shown.

    Examples
    --------
    >>> floor = Floor(10)
    >>> floor.marker, floor.count(3), floor.count(0), floor.count(12), floor.text(1234)
    ('<10', '<10', 0, 12, '1,234')
    """

    k: int

    @property
    def marker(self) -> str:
        """How a count under ``k`` is shown."""
        return f"<{self.k}"

    def is_small(self, n: object) -> bool:
        """True for a count of records between 1 and k - 1 (what may never be published)."""
        return isinstance(n, int) and not isinstance(n, bool) and 0 < n < self.k

    def count(self, n: _T) -> _T | str:
        """``n`` as published: the marker when it is a count between 1 and k - 1."""
        return self.marker if self.is_small(n) else n

    def text(self, n: int) -> str:
        """``n`` as published in a sentence: ``"1,234"``, or the marker."""
        return self.marker if 0 < n < self.k else f"{n:,}"

    def withheld(self, n: int) -> str:
        """How a withheld count is shown: the marker when it is under ``k``, else
        ``"suppressed"`` (withheld only so that another cannot be recovered)."""
        return self.marker if n < self.k else SUPPRESSED

    def share(self, numerator: int, denominator: int) -> ShareCell:
        """What of ``numerator / denominator`` may be published (see :func:`check_share`)."""
        show_denominator = denominator >= self.k
        show_share = (
            show_denominator and numerator >= self.k and (denominator - numerator) >= self.k
        )
        return ShareCell(numerator, denominator, show_denominator, show_share)

    def is_published_small(self, value: object) -> bool:
        """True for a value a count column or key may not hold: a number (or numeric text)
        between 1 and k - 1. Markers, blanks and flags are not counts."""
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, int | float):
            return 0 < value < self.k
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return False  # a marker such as "<10" or an empty cell
            return 0 < number < self.k
        return False

    def floored(self, data: object) -> object:
        """Copy of JSON-like ``data`` with every count key's small value replaced by the
        marker."""
        if isinstance(data, Mapping):
            return {
                key: (
                    self.marker
                    if is_count_name(str(key)) and self.is_published_small(v)
                    else self.floored(v)
                )
                for key, v in data.items()
            }
        if isinstance(data, list | tuple):
            return [self.floored(v) for v in data]
        return data

    def check_table(
        self, header: Sequence[str], rows: Iterable[Sequence[object]], where: str
    ) -> None:
        """Raise :class:`PrivacyViolationError` if a count column holds a value between 1
        and k - 1."""
        columns = [i for i, name in enumerate(header) if is_count_name(str(name))]
        if not columns:
            return
        for row in rows:
            for i in columns:
                if self.is_published_small(row[i]):
                    raise PrivacyViolationError(
                        f"{where}: column {header[i]!r} would publish a count under k = {self.k}"
                    )

    def check_document(self, data: object, where: str, path: str = "") -> None:
        """Raise :class:`PrivacyViolationError` if a count key of JSON-like ``data`` holds a
        value between 1 and k - 1."""
        if isinstance(data, Mapping):
            for key, value in data.items():
                here = f"{path}.{key}" if path else str(key)
                if is_count_name(str(key)) and self.is_published_small(value):
                    raise PrivacyViolationError(
                        f"{where}: key {here!r} would publish a count under k = {self.k}"
                    )
                self.check_document(value, where, here)
        elif isinstance(data, list | tuple):
            for i, value in enumerate(data):
                self.check_document(value, where, f"{path}[{i}]")


@dataclass(frozen=True)
class PrivacySpec:
    """Privacy settings: ``k`` is the fewest records any published figure may rest on."""

    _constraints: ClassVar[Constraints] = {
        "k": Interval(int, MIN_K, None, why="Smaller cells could identify survivors.")
    }
    k: int = 10

    def __post_init__(self) -> None:
        check_fields(self, "privacy")

    def marker(self) -> str:
        """How a suppressed cell is shown."""
        return self.floor.marker

    @property
    def floor(self) -> Floor:
        """The floor every output of the run is held to."""
        return Floor(self.k)


@dataclass(frozen=True)
class ShareCell:
    """A count and share that may be published, or the reason it may not."""

    numerator: int
    denominator: int
    show_denominator: bool
    show_share: bool


def check_share(numerator: int, denominator: int, k: int) -> ShareCell:
    """Decide what of ``numerator / denominator`` may be published under floor ``k``."""
    return Floor(k).share(numerator, denominator)


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


def marker_for(value: int, k: int) -> str:
    """How a withheld count is shown: ``"<k"`` when it is under ``k``, else ``"suppressed"``."""
    return Floor(k).withheld(value)
