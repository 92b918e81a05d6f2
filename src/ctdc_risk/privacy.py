"""The privacy floor: no published count, share or subgroup rests on fewer than k records.

A cell is suppressed when its count is below ``k``. A share is suppressed when its numerator or
its complement (denominator minus numerator) is below ``k``: publishing the share and the
denominator would otherwise reveal the small complement (secondary suppression).
"""

from __future__ import annotations

from dataclasses import dataclass

from ctdc_risk.errors import ConfigError

MIN_K = 5
SUPPRESSED = "suppressed"


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
