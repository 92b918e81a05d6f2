"""The data report: what was read, how it was harmonised, and what could not be mapped.

Written as ``data_report.json`` in every run folder and summarised at the end of every command.
It holds counts and column names only; raw values appear only for countries that could not be
mapped, and only when at least ``k`` cells share the value (a privacy floor). Every unmapped
country cell is also counted under the reason it stayed unmapped (a fixed phrase, never a
value), which is what the terminal summary shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ctdc_risk.data.canonical import HarmoniseLog
from ctdc_risk.data.io import SourceInfo
from ctdc_risk.data.releases import HeaderMatch
from ctdc_risk.privacy import Floor

# What every report and terminal summary of generated data says first.
GENERATED_BANNER = "generated demonstration data, not CTDC records"


@dataclass(frozen=True)
class DataReport:
    """Everything a reader needs to trust (or question) the canonical frame."""

    source: SourceInfo
    release_id: str
    release_label: str
    flag_semantics: str
    rows_read: int
    rows_out: int
    rows_dropped: dict[str, int]
    columns_read: int
    columns_extra: tuple[str, ...]
    header_respelled: tuple[str, ...]
    columns_absent: tuple[str, ...]
    missing_share: dict[str, float]
    rewrites: dict[str, dict[str, int]]
    unmapped_countries: dict[str, dict[str, Any]]
    country_mapped_share: float | None
    child_status_rule: dict[str, int]
    inconsistencies: dict[str, int]
    recruiter_from_text: int
    n_duplicate_rows: int
    notes: tuple[str, ...] = field(default=())
    country_na_as_missing: dict[str, int] = field(default_factory=dict)
    """Country cells ``NA`` read as missing (R's missing value), in releases without alpha-2."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def generated(self) -> bool:
        """True for the built-in generator's data (not CTDC records)."""
        return self.source.file_format == "generated"

    def published(self, k: int) -> dict[str, Any]:
        """The report as written to a run folder: counts under ``k`` shown as ``"<k"``."""

        floor = Floor(k).count
        d = self.to_dict()
        for key in ("rows_dropped", "child_status_rule", "inconsistencies"):
            d[key] = {name: floor(n) for name, n in d[key].items()}
        d["rewrites"] = {
            col: {what: floor(n) for what, n in counts.items()}
            for col, counts in d["rewrites"].items()
        }
        d["unmapped_countries"] = {
            col: _unmapped_published(info, k) for col, info in d["unmapped_countries"].items()
        }
        d["country_na_as_missing"] = {c: floor(n) for c, n in d["country_na_as_missing"].items()}
        d["recruiter_from_text"] = floor(d["recruiter_from_text"])
        d["n_duplicate_rows"] = floor(d["n_duplicate_rows"])
        return d

    def summary_lines(self, k: int = 10) -> list[str]:
        """A few lines for the terminal at the end of a command, counts under ``k`` as ``<k``.

        The terminal is a published output too (logs are copied, screens are shared): it
        shows the same floored counts as ``data_report.json``.
        """

        count = Floor(k).text

        if self.generated:
            first = f"data: {GENERATED_BANNER} ({self.source.name})"
        else:
            first = f"data: {self.source.name} ({self.source.file_format}), {self.release_label}"
        lines = [
            first,
            f"rows: {self.rows_read:,} read, {self.rows_out:,} kept"
            + (
                f" ({', '.join(f'{count(n)} {why}' for why, n in self.rows_dropped.items())}"
                " dropped)"
                if self.rows_dropped
                else ""
            ),
        ]
        if self.flag_semantics == "positive_only":
            lines.append("flags are positive-only: blank means 'not recorded', never 'no'")
        if self.country_mapped_share is not None:
            shown = [_unmapped_published(v, k)["n_cells"] for v in self.unmapped_countries.values()]
            unmapped = (
                count(sum(shown)) if all(isinstance(n, int) for n in shown) else "some"
            )  # a withheld total would give a rare value's cells back
            lines.append(
                f"countries: {self.country_mapped_share:.1%} of recorded values mapped to ISO"
                f" alpha-3 ({unmapped} cells unmapped)"
            )
            by_reason: dict[str, int] = {}
            for info in self.unmapped_countries.values():
                for why, n in info.get("cells_by_reason", {}).items():
                    by_reason[why] = by_reason.get(why, 0) + n
            for why, n in sorted(by_reason.items(), key=lambda item: -item[1]):
                lines.append(f"  unmapped because {why}: {count(n)} cells")
        n_na = sum(self.country_na_as_missing.values())
        if n_na:
            lines.append(
                f"countries: {n_na:,} cells 'NA' read as missing (how R writes a missing value; "
                "this release does not use ISO alpha-2 codes, so NA is not Namibia)"
            )
        n_rewrites = sum(sum(c.values()) for c in self.rewrites.values())
        if n_rewrites:
            lines.append(f"spelling variants rewritten: {count(n_rewrites)} cells")
        if self.columns_extra:
            lines.append(f"extra columns ignored: {len(self.columns_extra)}")
        for what, n in self.inconsistencies.items():
            lines.append(f"inconsistent: {what} in {count(n)} rows")
        lines.extend(f"note: {note}" for note in self.notes)
        return lines


def _unmapped_published(info: dict[str, Any], k: int) -> dict[str, Any]:
    """Unmapped-country counts as published: under ``k`` shown ``"<k"``.

    The total is the values shown plus the rarer ones; when the rarer ones are under k, the
    total is withheld too, or subtracting the values shown would give their count back.
    """

    floor = Floor(k).count
    out = {
        name: floor(v) if name != "values_with_at_least_k_cells" else v for name, v in info.items()
    }
    rarer = info.get("cells_in_rarer_values", 0)
    if isinstance(rarer, int) and 0 < rarer < k and isinstance(out.get("n_cells"), int):
        out["n_cells"] = "suppressed"
    reasons = info.get("cells_by_reason")
    if isinstance(reasons, dict):
        # Reasons add up to the total: one under k would come back by subtraction.
        small = any(isinstance(n, int) and 0 < n < k for n in reasons.values())
        out["cells_by_reason"] = (
            f"suppressed: a reason holds fewer than {k} cells" if small else dict(reasons)
        )
    return out


def build_data_report(
    frame: pd.DataFrame,
    source: SourceInfo,
    match: HeaderMatch,
    hlog: HarmoniseLog,
    *,
    k: int,
    n_duplicate_rows: int,
) -> DataReport:
    """Assemble the data report from the stages' records."""
    release = match.release
    absent = tuple(c for c in release.columns if c not in match.raw_for)
    unmapped: dict[str, dict[str, Any]] = {}
    for column, counter in hlog.unmapped_countries.items():
        shown = {v: n for v, n in counter.most_common() if n >= k}
        unmapped[column] = {
            "n_cells": sum(counter.values()),
            "n_values": len(counter),
            "values_with_at_least_k_cells": shown,
            "cells_in_rarer_values": sum(counter.values()) - sum(shown.values()),
            "cells_by_reason": dict(hlog.unmapped_reasons.get(column, Counter()).most_common()),
        }
    country_mapped_share = _country_mapped_share(frame, unmapped)
    return DataReport(
        source=source,
        release_id=release.id,
        release_label=release.label,
        flag_semantics=str(release.flag_semantics),
        rows_read=hlog.rows_in,
        rows_out=len(frame),
        rows_dropped=dict(hlog.rows_dropped),
        columns_read=len(match.raw_for) + len(match.extra_columns),
        columns_extra=match.extra_columns,
        header_respelled=match.respelled,
        columns_absent=absent,
        missing_share={c: round(float(frame[c].isna().mean()), 4) for c in frame.columns}
        if len(frame)
        else {},
        rewrites={c: dict(v) for c, v in hlog.rewrites.items()},
        unmapped_countries=unmapped,
        country_mapped_share=country_mapped_share,
        child_status_rule=dict(hlog.child_status_rule),
        inconsistencies=dict(hlog.inconsistencies),
        recruiter_from_text=hlog.recruiter_from_text,
        n_duplicate_rows=n_duplicate_rows,
        notes=source.notes,
        country_na_as_missing=dict(hlog.country_na_missing),
    )


def _country_mapped_share(frame: pd.DataFrame, unmapped: dict[str, dict[str, Any]]) -> float | None:
    mapped = int(frame["citizenship_iso3"].notna().sum() + frame["exploitation_iso3"].notna().sum())
    failed = sum(v["n_cells"] for v in unmapped.values())
    total = mapped + failed
    return round(mapped / total, 6) if total else None
