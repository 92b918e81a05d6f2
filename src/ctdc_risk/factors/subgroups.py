"""How much each factor mattered in subgroups (boys, girls, age bands, regions), published
only where the subgroup's size tells nothing new."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.factors.contributions import Contributions, summarise_contributions
from ctdc_risk.factors.factor_rows import FactorTable
from ctdc_risk.privacy import SUPPRESSED, Floor


@dataclass(frozen=True)
class SubgroupRow:
    """Mean absolute SHAP value of one factor among the cases of one subgroup."""

    subgroup: str
    n: int | str
    """The subgroup's size, or ``"suppressed"`` where publishing it would give a cell back."""
    factor: str
    importance: float

    def to_record(self) -> dict[str, object]:
        """The row as in ``shap_subgroups.csv``."""
        return {
            "subgroup": self.subgroup,
            "n": self.n,
            "factor": self.factor,
            "mean_abs_shap": self.importance,
        }

    @property
    def size(self) -> int | None:
        """The published size, None where withheld."""
        return self.n if isinstance(self.n, int) else None


@dataclass(frozen=True)
class SubgroupLevels:
    """The levels of one factor that a subgroup is exactly made of (its size repeats theirs)."""

    factor: str
    levels: tuple[str, ...]

    def to_record(self) -> dict[str, object]:
        return {"factor": self.factor, "levels": list(self.levels)}


@dataclass(frozen=True)
class SubgroupImportance:
    """The subgroup rows and, per subgroup whose size is shown, the levels it adds up."""

    rows: tuple[SubgroupRow, ...] = ()
    levels: Mapping[str, SubgroupLevels] = field(default_factory=dict)

    COLUMNS = ("subgroup", "n", "factor", "mean_abs_shap")

    def to_records(self) -> list[dict[str, object]]:
        return [r.to_record() for r in self.rows]

    def levels_document(self) -> dict[str, dict[str, object]]:
        """``subgroup_levels`` of ``factors.json``."""
        return {name: lv.to_record() for name, lv in self.levels.items()}


def subgroup_importance(
    contrib: Contributions, masks: Mapping[str, np.ndarray], floor: Floor
) -> tuple[SubgroupRow, ...]:
    """Per subgroup of at least k cases, the mean absolute SHAP value of each factor."""
    rows = []
    for name, mask in masks.items():
        n = int(mask.sum())
        if n < floor.k:
            continue  # never a summary of fewer than k cases
        summary = summarise_contributions(contrib, k=floor.k, rows=np.flatnonzero(mask))
        for factor, importance in summary.importance.items():
            rows.append(SubgroupRow(name, n, factor, round(importance, 6)))
    return tuple(rows)


def withhold_subgroup_sizes(
    rows: tuple[SubgroupRow, ...],
    masks: Mapping[str, np.ndarray],
    encoder: FactorEncoder,
    frame: pd.DataFrame,
    table: FactorTable,
) -> SubgroupImportance:
    """Subgroup sizes that tell nothing new, and the factor levels each one adds up.

    A subgroup's size is published only when the subgroup is exactly a set of levels of one
    factor whose sizes the factor table publishes (boys in a cohort of children are the male
    level): then it repeats published counts. Any other size (citizens of a region part of
    whom sit in a pooled level, say) would be a new marginal that, subtracted from the factor
    table, can give a small group back; it is shown as ``"suppressed"``.
    """
    onehot = encoder.transform(frame).tocsc()
    shown = {(r.factor, r.level) for r in table.rows if r.n_with is not None}
    relations: dict[str, SubgroupLevels] = {}
    for name, mask in masks.items():
        for j_factor in dict.fromkeys(c.factor for c in encoder.columns_):
            cols = [j for j, c in enumerate(encoder.columns_) if c.factor == j_factor]
            inside = np.asarray(onehot[mask][:, cols].sum(axis=0)).ravel()
            whole = np.asarray(onehot[:, cols].sum(axis=0)).ravel()
            if not np.all((inside == 0) | (inside == whole)):
                continue
            levels = [encoder.columns_[j].level for j, m in zip(cols, inside, strict=True) if m]
            if all((j_factor, lv) in shown for lv in levels):
                relations[name] = SubgroupLevels(j_factor, tuple(levels))
                break
    published = tuple(r if r.subgroup in relations else replace(r, n=SUPPRESSED) for r in rows)
    sized = {r.subgroup: relations[r.subgroup] for r in published if r.n != SUPPRESSED}
    return SubgroupImportance(published, sized)
