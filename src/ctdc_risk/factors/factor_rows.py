"""The factor table's types: a FactorRow per factor level, a ContextRow per context level,
the FactorTable holding them, and their rows for factors.csv and context.csv.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Any

from ctdc_risk.factors.labels import LabelRule
from ctdc_risk.privacy import Floor


@dataclass(frozen=True)
class FactorRow:
    """One factor level with every lens, its label and the reason for it.

    Counts and shares are ``None`` where they are suppressed under the privacy floor.
    """

    factor: str
    factor_label: str
    level: str
    reference_level: str
    domv_level: str
    phase: str
    n_with: int | None
    n_without: int | None
    share_with: float | None
    share_without: float | None
    crude_pr: float | None
    crude_pr_low: float | None
    crude_pr_high: float | None
    adjusted_or: float | None
    adjusted_or_low: float | None
    adjusted_or_high: float | None
    boot_or_low: float | None
    boot_or_high: float | None
    adjusted_p: float | None
    q_value: float | None
    adjusted_note: str
    shap_model: str
    shap_direction: float | None
    shap_importance: float | None
    rank: float | None
    rank_low: float | None
    rank_high: float | None
    sign_agreement: float | None
    shap_sign_agreement: float | None
    label: str
    reason: str
    e_value: float | None = None
    """Labelled levels: how strong an unmeasured confounder would have to be to explain the
    odds ratio away (VanderWeele and Ding); ``e_value_ci`` the same for the interval limit."""
    e_value_ci: float | None = None

    def to_record(self) -> dict[str, Any]:
        """The row as a plain mapping (JSON output)."""
        return dict(zip(COLUMNS, astuple(self), strict=True))


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(FactorRow))


@dataclass(frozen=True)
class ContextRow:
    """Crude shares for a level of a factor recorded after the outcome's phase (context)."""

    factor: str
    factor_label: str
    level: str
    phase: str
    n_with: int | None
    n_without: int | None
    share_with: float | None
    share_without: float | None
    crude_pr: float | None
    crude_pr_low: float | None
    crude_pr_high: float | None

    def to_record(self) -> dict[str, Any]:
        return dict(zip(CONTEXT_COLUMNS, astuple(self), strict=True))


CONTEXT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ContextRow))


@dataclass(frozen=True)
class FactorTable:
    rows: tuple[FactorRow, ...]
    k: int
    rule: LabelRule
    n_boot: int
    context: tuple[ContextRow, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    """``(factor, reason)`` for factors of the feature set that the study left out."""
    markers: tuple[tuple[str, str, str, str], ...] = ()
    """``(factor, level, column, marker)`` for each withheld count: ``"<k"`` when it is under
    k, ``"suppressed"`` when it is withheld only so that another cannot be recovered."""

    def marker(self, factor: str, level: str, column: str) -> str:
        """How a withheld ``n_with`` or ``n_without`` of a level is shown."""
        for f, lv, col, m in self.markers:
            if (f, lv, col) == (factor, level, column):
                return m
        return Floor(self.k).marker

    @property
    def min_sign_agreement(self) -> float:
        return self.rule.min_sign_agreement

    def labelled(self, label: str) -> list[FactorRow]:
        return [r for r in self.rows if r.label == label]


def table_records(table: FactorTable) -> list[list[Any]]:
    """Rows in :data:`COLUMNS` order for ``factors.csv`` (None -> blank, suppressed -> <k)."""
    return _records(table, table.rows, COLUMNS)


def context_records(table: FactorTable) -> list[list[Any]]:
    """Context rows in :data:`CONTEXT_COLUMNS` order for ``context.csv``."""
    return _records(table, table.context, CONTEXT_COLUMNS)


def _records(
    table: FactorTable,
    rows: tuple[FactorRow, ...] | tuple[ContextRow, ...],
    columns: tuple[str, ...],
) -> list[list[Any]]:
    out = []
    for row in rows:
        rec = row.to_record()
        out.append(
            [
                table.marker(row.factor, row.level, col)
                if rec[col] is None and col in ("n_with", "n_without")
                else rec[col]
                for col in columns
            ]
        )
    return out
