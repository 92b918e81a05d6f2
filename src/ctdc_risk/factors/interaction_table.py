"""What an effect-modification analysis is about and what it returns.

The modifiers a study may test (:data:`MODIFIERS`), one row per tested level
(:class:`InteractionRow`) and the table of a study (:class:`InteractionTable`), with the rule
in words. :mod:`.interaction` estimates them.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass, fields
from typing import Any

from ctdc_risk.factors.labels import LabelRule

LEVEL_CHOICES = ("labelled", "all")
RESULTS = ("holds", "does not hold", "suppressed", "not estimable")


@dataclass(frozen=True)
class Modifier:
    """A pre-specified effect modifier: two groups of one factor."""

    name: str
    factor: str
    group: str
    """The level whose odds ratios are divided by the comparison group's (``m = 1``)."""
    comparison: str
    group_words: str
    comparison_words: str
    fixed_words: str
    """What a cohort of one group fixes, in words ("gender", "age band")."""
    any_age_words: tuple[str, str] = ("", "")
    """The groups' names when the cases are not all children (empty: the same names)."""


MODIFIERS: dict[str, Modifier] = {
    "gender": Modifier(
        "gender", "gender", "male", "female", "boys", "girls", "gender",
        ("male victims", "female victims"),
    ),
    "age_0_8_9_17": Modifier(
        "age_0_8_9_17", "age_band", "0--8", "9--17", "children aged 0-8",
        "children aged 9-17", "age band",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class InteractionRow:
    """One level's odds ratio in each group, their ratio and the interaction test.

    Estimates are ``None`` where the row is suppressed or not estimable.
    """

    modifier: str
    factor: str
    factor_label: str
    level: str
    reference_level: str
    group: str
    comparison_group: str
    or_group: float | None
    or_group_low: float | None
    or_group_high: float | None
    or_comparison: float | None
    or_comparison_low: float | None
    or_comparison_high: float | None
    ratio_of_or: float | None
    ratio_low: float | None
    ratio_high: float | None
    lr_statistic: float | None
    """Penalised likelihood ratio statistic, corrected for copies of records (1 df)."""
    design_effect: float | None
    """Clustered over model-based variance of the interaction term (at least 1)."""
    p_value: float | None
    q_value: float | None
    result: str
    reason: str

    def to_record(self) -> dict[str, Any]:
        return dict(zip(INTERACTION_COLUMNS, astuple(self), strict=True))


INTERACTION_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(InteractionRow))


@dataclass(frozen=True)
class ModifierSummary:
    """A modifier as the study used it: its groups' names and why it was skipped, if it was."""

    name: str
    factor: str
    group: str
    comparison_group: str
    group_words: str
    comparison_words: str
    skipped: str = ""


@dataclass(frozen=True)
class InteractionTable:
    """Every interaction test of a study, adjusted together."""

    rows: tuple[InteractionRow, ...]
    modifiers: tuple[ModifierSummary, ...]
    k: int
    rule: LabelRule
    levels: str

    def holding(self, modifier: str | None = None) -> list[InteractionRow]:
        return [r for r in self.rows if r.result == "holds" and modifier in (None, r.modifier)]

    def tested(self, modifier: str | None = None) -> list[InteractionRow]:
        return [r for r in self.rows if r.q_value is not None and modifier in (None, r.modifier)]

    def metrics(self) -> dict[str, float]:
        """``interactions/...`` metrics: counts of tests and, per holding one, its figures."""
        m: dict[str, float] = {
            "interactions/tested": float(len(self.tested())),
            "interactions/holding": float(len(self.holding())),
        }
        for mod in self.modifiers:
            if mod.skipped:
                continue
            m[f"interactions/{mod.name}/tested"] = float(len(self.tested(mod.name)))
            m[f"interactions/{mod.name}/holding"] = float(len(self.holding(mod.name)))
        for r in self.holding():
            base = metric_key(f"interactions/{r.modifier}/{r.factor}/{r.level}")
            for name, value in (
                ("ratio_of_or", r.ratio_of_or),
                ("ratio_low", r.ratio_low),
                ("ratio_high", r.ratio_high),
                ("q_value", r.q_value),
            ):
                if value is not None:
                    m[f"{base}/{name}"] = float(value)
        return m

    def records(self) -> list[list[Any]]:
        """Rows in :data:`INTERACTION_COLUMNS` order for ``interactions.csv``."""
        return [list(astuple(r)) for r in self.rows]

    def document(self) -> dict[str, Any]:
        """``interactions.json``: the rule, the modifiers and the rows."""
        return {
            "privacy_k": self.k,
            "levels_tested": self.levels,
            "rule": INTERACTION_RULE_TEXT.format(
                multiplicity=self.rule.multiplicity, alpha=self.rule.alpha
            ),
            "modifiers": [
                {
                    "name": m.name,
                    "factor": m.factor,
                    "group": m.group,
                    "comparison_group": m.comparison_group,
                    "skipped": m.skipped,
                }
                for m in self.modifiers
            ],
            "interactions": [r.to_record() for r in self.rows],
        }


INTERACTION_RULE_TEXT = (
    "per modifier and tested level: one Firth model of the cases with the modifier known, with "
    "every covariate, the modifier and the modifier's products with each level of the tested "
    "level's factor that has >= k cases in each group; ratio of odds ratios = exp(product "
    "coefficient), Wald 95% CI with the larger of model-based and record-clustered variance; "
    "Heinze-Schemper penalised likelihood ratio test (1 df) divided by the clustered/model "
    "variance ratio when above 1; {multiplicity} across every interaction test of the study; "
    "holds when q < {alpha} and the ratio's CI excludes 1; a level is tested only with >= k "
    "cases with and without the outcome for it and its reference in each group"
)


def metric_key(text: str) -> str:
    """A metric name MLflow accepts: letters, digits, ``_ - . / space``; others become ``_``.

    Examples
    --------
    >>> metric_key("interactions/gender/citizenship_subregion/Latin America (South)")
    'interactions/gender/citizenship_subregion/Latin America _South_'
    """
    return re.sub(r"[^\w./\- ]", "_", text)
