"""The factor table: three lenses and stability side by side, one row per factor level.

Labelling rule (documented in the report and README): a level is

- ``risk`` when its adjusted odds ratio's 95 % interval lies above 1, its SHAP direction is
  positive, and at least ``min_sign_agreement`` of the bootstrap refits agree on that sign;
- ``protective`` when the interval lies below 1, the SHAP direction is negative, and the refits
  agree as often;
- ``reference`` for the level the odds ratios compare against;
- ``unclear`` otherwise, and always for ``unknown`` and pooled levels (they describe what was
  recorded, not the case) and for levels under the privacy floor.

The crude prevalence ratio is shown beside the others but is not required to agree: a crude
association can be confounded, which is what the adjusted odds ratio is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctdc_risk.encoding import POOLED, UNKNOWN
from ctdc_risk.factors.associations import NOTE_REFERENCE, AdjustedOddsRatio, CrudeAssociation
from ctdc_risk.factors.contributions import ShapSummary
from ctdc_risk.factors.stability import StabilityResult
from ctdc_risk.features import FACTORS

LABELS = ("risk", "protective", "unclear", "reference")
NOT_CASE_LEVELS = frozenset({UNKNOWN, POOLED, "not recorded"})

COLUMNS = (
    "factor",
    "factor_label",
    "level",
    "reference_level",
    "domv_level",
    "phase",
    "n_with",
    "n_without",
    "share_with",
    "share_without",
    "crude_pr",
    "crude_pr_low",
    "crude_pr_high",
    "adjusted_or",
    "adjusted_or_low",
    "adjusted_or_high",
    "adjusted_p",
    "adjusted_note",
    "shap_model",
    "shap_direction",
    "shap_importance",
    "rank",
    "rank_low",
    "rank_high",
    "sign_agreement",
    "label",
)


@dataclass(frozen=True)
class FactorTable:
    rows: tuple[dict[str, Any], ...]
    k: int
    min_sign_agreement: float
    n_boot: int

    def labelled(self, label: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["label"] == label]


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def build_factor_table(
    crude: tuple[CrudeAssociation, ...],
    adjusted: tuple[AdjustedOddsRatio, ...],
    shap: ShapSummary,
    stability: StabilityResult,
    *,
    shap_model: str,
    k: int,
    min_sign_agreement: float,
) -> FactorTable:
    """Join the lenses per factor level and label each level by the documented rule."""
    adj = {(a.factor, a.level): a for a in adjusted}
    reference = {a.factor: a.level for a in adjusted if a.note == NOTE_REFERENCE}
    order = sorted(shap.importance, key=lambda f: (-shap.importance[f], f))
    rank = {f: i + 1 for i, f in enumerate(order)}
    rows = []
    for c in crude:
        key = (c.factor, c.level)
        a = adj.get(key)
        factor = FACTORS[c.factor]
        # A share (and the ratio built on it) is published only if the outcome's yes and no
        # counts on each side reach k: a share of 0 % or 100 % of a group says something
        # about every person in it.
        small = (
            c.n_with < k
            or c.n_without < k
            or not _share_ok(c.share_with, c.n_with, k)
            or not _share_ok(c.share_without, c.n_without, k)
        )
        direction = shap.direction.get(key)
        agreement = stability.sign_agreement.get(key)
        interval = stability.rank_interval.get(c.factor)
        is_reference = a is not None and a.note == NOTE_REFERENCE
        row: dict[str, Any] = {
            "factor": c.factor,
            "factor_label": factor.label,
            "level": c.level,
            "reference_level": reference.get(c.factor, ""),
            "domv_level": factor.domv,
            "phase": factor.phase,
            "n_with": None if c.n_with < k else c.n_with,
            "n_without": None if c.n_without < k else c.n_without,
            "share_with": None if small else _r(c.share_with),
            "share_without": None if small else _r(c.share_without),
            "crude_pr": None if small else _r(c.prevalence_ratio),
            "crude_pr_low": None if small or c.pr_ci95 is None else _r(c.pr_ci95[0]),
            "crude_pr_high": None if small or c.pr_ci95 is None else _r(c.pr_ci95[1]),
            "adjusted_or": _r(a.odds_ratio) if a and not small else None,
            "adjusted_or_low": _r(a.ci95[0]) if a and a.ci95 and not small else None,
            "adjusted_or_high": _r(a.ci95[1]) if a and a.ci95 and not small else None,
            "adjusted_p": _r(a.p_value) if a and not small else None,
            "adjusted_note": a.note if a else "",
            "shap_model": shap_model,
            "shap_direction": None if small else _r(direction),
            "shap_importance": _r(shap.importance.get(c.factor)),
            "rank": rank.get(c.factor),
            "rank_low": interval[0] if interval else None,
            "rank_high": interval[1] if interval else None,
            "sign_agreement": _r(agreement, 4),
            "label": "reference"
            if is_reference
            else _label(c.level, small, a, direction, agreement, min_sign_agreement),
        }
        rows.append(row)
    rows.sort(key=lambda r: (r["rank"] or 10**6, r["factor"], _level_order(r)))
    return FactorTable(tuple(rows), k, min_sign_agreement, stability.n_boot)


def _share_ok(share: float | None, n: int, k: int) -> bool:
    if share is None:
        return False
    yes = round(share * n)
    return yes >= k and n - yes >= k


def _level_order(row: dict[str, Any]) -> tuple[int, str]:
    return (0 if row["label"] == "reference" else 1, str(row["level"]))


def _label(
    level: str,
    small: bool,
    a: AdjustedOddsRatio | None,
    direction: float | None,
    agreement: float | None,
    min_agreement: float,
) -> str:
    if small or level in NOT_CASE_LEVELS or a is None or a.ci95 is None or direction is None:
        return "unclear"
    if agreement is None or agreement < min_agreement:
        return "unclear"
    low, high = a.ci95
    if low > 1 and direction > 0:
        return "risk"
    if high < 1 and direction < 0:
        return "protective"
    return "unclear"


def table_records(table: FactorTable) -> list[list[Any]]:
    """Rows in :data:`COLUMNS` order for ``factors.csv`` (None -> blank, suppressed -> <k)."""
    marker = f"<{table.k}"
    out = []
    for row in table.rows:
        values = []
        for col in COLUMNS:
            v = row[col]
            if v is None and col in ("n_with", "n_without"):
                v = marker
            values.append(v)
        out.append(values)
    return out
