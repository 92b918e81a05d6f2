"""The replication table's vocabulary and types: the verdicts, what a level can be in one
release, ReleaseEstimate, ReplicationRow, ReleaseSummary, and ReplicationTable with its records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ctdc_risk.privacy import Floor
from ctdc_risk.stats import Z95, Pooled

REPLICATES = "replicates"
SAME_DIRECTION = "same direction, not significant everywhere"
DIRECTION_DIFFERS = "direction differs"
CANNOT_TEST = "cannot be tested"
REFERENCE = "reference"
VERDICTS = (REPLICATES, SAME_DIRECTION, DIRECTION_DIFFERS, CANNOT_TEST, REFERENCE)

# What a level can be in one release.
ESTIMATED = "estimated"
ABSENT = "absent"
FACTOR_ABSENT = "factor absent"
SUPPRESSED = "suppressed"
NOT_ESTIMABLE = "not estimable"
OTHER_REFERENCE = "other reference"
IS_REFERENCE = "reference"


@dataclass(frozen=True)
class ReleaseEstimate:
    """One level in one release: its adjusted odds ratio, or why there is none."""

    status: str
    odds_ratio: float | None = None
    low: float | None = None
    high: float | None = None
    n_cases: int | None = None
    """Cases at this level in the release's study (None when absent or under the floor k)."""
    label: str = ""
    """The release's own label (risk, protective, unclear, ...; blank when absent)."""
    note: str = ""

    @property
    def significant(self) -> bool | None:
        """Whether the 95 % interval excludes 1 (None when not estimated)."""
        if self.status != ESTIMATED or self.low is None or self.high is None:
            return None
        return self.low > 1 or self.high < 1

    @property
    def log_or(self) -> float | None:
        return None if self.odds_ratio is None else math.log(self.odds_ratio)

    @property
    def se(self) -> float | None:
        """Standard error of the log odds ratio, recovered from the Wald interval."""
        if self.low is None or self.high is None:
            return None
        return (math.log(self.high) - math.log(self.low)) / (2 * Z95)


@dataclass(frozen=True)
class ReplicationRow:
    """One factor level across releases, pooled and judged."""

    factor: str
    factor_label: str
    level: str
    reference_level: str
    estimates: tuple[ReleaseEstimate, ...]
    pooled: Pooled | None
    verdict: str
    reason: str

    @property
    def estimable_in(self) -> int:
        return sum(e.status == ESTIMATED for e in self.estimates)

    @property
    def display(self) -> str:
        return f"{self.factor_label}: {self.level}"


@dataclass(frozen=True)
class ReleaseSummary:
    """One release of a replication as published: counts under the floor k are None."""

    name: str
    file: str
    """The file's name (no folders: a path can hold a user name)."""
    release_id: str
    release_label: str
    flag_semantics: str
    folder: str
    """The sub-folder holding this release's own study."""
    n_cases: int | None
    n_outcome: int | None
    other_reference: dict[str, str] = field(default_factory=dict)
    """Factor -> why this release compares its levels with another reference level."""

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "release_id": self.release_id,
            "release_label": self.release_label,
            "flag_semantics": self.flag_semantics,
            "folder": self.folder,
            "n_cases": self.n_cases,
            "n_outcome": self.n_outcome,
            "other_reference": dict(self.other_reference),
        }


@dataclass(frozen=True)
class ReplicationTable:
    """Every factor level of every release, aligned, pooled and judged."""

    releases: tuple[str, ...]
    rows: tuple[ReplicationRow, ...]
    k: int
    reference: dict[str, str] = field(default_factory=dict)
    """The reference level each factor's contrasts use (the first release's)."""

    def counts(self) -> dict[str, int]:
        """How many levels (reference levels not counted) got each verdict."""
        out = {v: 0 for v in VERDICTS if v != REFERENCE}
        for row in self.rows:
            if row.verdict != REFERENCE:
                out[row.verdict] += 1
        return out

    def columns(self) -> list[str]:
        """Column names of :meth:`to_records`; release ``i`` (from 1) has suffix ``_i``."""
        per_release = [
            f"{name}_{i}"
            for i in range(1, len(self.releases) + 1)
            for name in ("or", "or_low", "or_high", "n_cases", "label", "status")
        ]
        return [
            "factor", "factor_label", "level", "reference_level", *per_release,
            "estimable_in", "pooled_method", "pooled_or", "pooled_or_low", "pooled_or_high",
            "cochran_q", "q_df", "q_p", "i2", "tau2", "verdict", "reason",
        ]  # fmt: skip

    def to_records(self) -> list[dict[str, Any]]:
        """One plain mapping per row in :meth:`columns` order (None for blank; cases under
        the floor k as ``"<k"``)."""
        marker = Floor(self.k).marker
        records = []
        for row in self.rows:
            rec: dict[str, Any] = {
                "factor": row.factor,
                "factor_label": row.factor_label,
                "level": row.level,
                "reference_level": row.reference_level,
            }
            for i, e in enumerate(row.estimates, 1):
                rec[f"or_{i}"] = _r(e.odds_ratio)
                rec[f"or_low_{i}"] = _r(e.low)
                rec[f"or_high_{i}"] = _r(e.high)
                shown = e.status not in (ABSENT, FACTOR_ABSENT)
                rec[f"n_cases_{i}"] = e.n_cases if e.n_cases is not None or not shown else marker
                rec[f"label_{i}"] = e.label
                rec[f"status_{i}"] = e.status if not e.note else f"{e.status}: {e.note}"
            p = row.pooled
            rec.update(
                {
                    "estimable_in": row.estimable_in,
                    "pooled_method": p.method if p else "",
                    "pooled_or": _r(p.odds_ratio) if p else None,
                    "pooled_or_low": _r(p.low) if p else None,
                    "pooled_or_high": _r(p.high) if p else None,
                    "cochran_q": _r(p.q) if p else None,
                    "q_df": p.df if p and p.q is not None else None,
                    "q_p": _sig(p.q_p) if p else None,
                    "i2": _r(p.i2, 4) if p else None,
                    "tau2": _r(p.tau2) if p else None,
                    "verdict": row.verdict,
                    "reason": row.reason,
                }
            )
            records.append(rec)
        return records


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _sig(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.3g}")
