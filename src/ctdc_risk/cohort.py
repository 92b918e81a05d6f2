"""Cohorts: ordered rules that select the cases a study is about, with a count after each rule.

A cohort is data, not code: each rule names a canonical column, an operator and a value, so a
config file can define new cohorts and every rule is checked against the canonical frame
before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from ctdc_risk.data.schema import COLUMN_BY_NAME
from ctdc_risk.errors import ConfigError
from ctdc_risk.validate import (
    AnyOf,
    Check,
    Constraints,
    ListOf,
    Nested,
    Options,
    Text,
    from_mapping,
)

OPERATORS = ("is_true", "is_false", "equals", "in", "is_known", "any_true")


@dataclass(frozen=True)
class CohortRule:
    """Keep rows where ``column`` satisfies ``op`` (with ``value`` for equals / in).

    ``any_true`` takes a list of yes/no columns and keeps rows where any of them is yes.
    """

    _constraints: ClassVar[Constraints] = {
        "name": Text(scalars=True),
        "column": AnyOf((Text(scalars=True), ListOf(Text(scalars=True)))),
        "op": Options(OPERATORS),
        # a list stays a list: `in` reads it as the allowed values
        "value": AnyOf((ListOf(into=list), Check())),
    }
    name: str
    column: str | tuple[str, ...]
    op: str
    value: Any = None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.column if isinstance(self.column, tuple) else (self.column,)

    def check(self, key: str) -> None:
        """Validate the rule against the canonical frame; ``key`` names it in errors."""
        if self.op == "any_true":
            for name in self.columns:
                if name not in COLUMN_BY_NAME or COLUMN_BY_NAME[name].kind not in ("flag", "bool"):
                    raise ConfigError(f"{key}.column: {name!r} is not a yes/no canonical column.")
            return
        if isinstance(self.column, tuple):
            raise ConfigError(f"{key}.column: a list of columns needs op 'any_true'.")
        if self.column not in COLUMN_BY_NAME:
            raise ConfigError(
                f"{key}.column: {self.column!r} is not a canonical column "
                "(see docs/canonical_frame.md)."
            )
        if self.op not in OPERATORS:
            raise ConfigError(f"{key}.op: {self.op!r} is not one of {', '.join(OPERATORS)}.")
        col = COLUMN_BY_NAME[str(self.column)]
        if self.op in ("is_true", "is_false") and col.kind not in ("flag", "bool"):
            raise ConfigError(f"{key}.op: {self.op} needs a yes/no column; {self.column} is not.")
        if self.op in ("equals", "in"):
            values = self.value if self.op == "in" else [self.value]
            if self.op == "in" and not isinstance(self.value, list | tuple):
                raise ConfigError(f"{key}.value: op 'in' needs a list of values.")
            if col.levels:
                unknown = [v for v in values if v not in col.levels]
                if unknown:
                    raise ConfigError(
                        f"{key}.value: {unknown[0]!r} is not a level of {self.column} "
                        f"({', '.join(col.levels)})."
                    )

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        if self.op == "any_true":
            anyyes = pd.concat([frame[c].fillna(False) for c in self.columns], axis=1).any(axis=1)
            return anyyes.astype(bool)
        col = frame[self.column if isinstance(self.column, str) else self.column[0]]
        if self.op == "is_true":
            return col.fillna(False).astype(bool)
        if self.op == "is_false":
            return (~col.astype("boolean")).fillna(False).astype(bool)
        if self.op == "equals":
            equal: pd.Series = (col == self.value).fillna(False).astype(bool)
            return equal
        if self.op == "in":
            return col.isin(list(self.value))
        return col.notna()


@dataclass(frozen=True)
class Rules(Check):
    """A list of rule mappings (null: none), each built and checked against the canonical frame."""

    def _describe(self) -> str:
        return "a list of rules"

    def __call__(self, value: object, key: str) -> tuple[CohortRule, ...]:
        one = Nested(CohortRule, what="a mapping with name, column, op (and value)")
        shape = ListOf(one, what="a list of rules")
        rules = cast(tuple[CohortRule, ...], shape([] if value is None else value, key))
        for i, rule in enumerate(rules):
            rule.check(f"{key}[{i}]")
        return rules


@dataclass(frozen=True)
class CohortSpec:
    """A named cohort: a description and ordered rules."""

    _constraints: ClassVar[Constraints] = {
        "name": Text(scalars=True),
        "description": Text(scalars=True),
        "rules": Rules(),
    }
    name: str
    description: str
    rules: tuple[CohortRule, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "cohort") -> CohortSpec:
        """Build from a config mapping, refusing unknown keys."""
        return from_mapping(cls, data, key, defaults={"description": "", "rules": ()})


@dataclass(frozen=True)
class CohortFlow:
    """Rows remaining after each rule, starting with all rows."""

    steps: tuple[tuple[str, int], ...]

    @property
    def n_final(self) -> int:
        return self.steps[-1][1]


@dataclass(frozen=True)
class Cohort:
    spec: CohortSpec
    frame: pd.DataFrame
    flow: CohortFlow


def select_cohort(frame: pd.DataFrame, spec: CohortSpec) -> Cohort:
    """Apply the cohort's rules in order, recording the rows left after each.

    Examples
    --------
    >>> from ctdc_risk.data.synthetic import generate_synthetic
    >>> spec = CohortSpec("children", "", (CohortRule("child", "is_child", "is_true"),))
    >>> cohort = select_cohort(generate_synthetic(1000, seed=0), spec)
    >>> cohort.flow.steps[0]
    ('all records', 1000)
    """
    keep, steps = apply_rules(frame, spec.rules, start="all records")
    return Cohort(spec, frame.loc[keep].reset_index(drop=True), CohortFlow(steps))


# The groups a study or a headline table compares within its cases. Each is the same rules a
# cohort config uses (conf/cohort/*.yaml), so "boys" means one thing in every table.
CHILD = CohortRule("child", "is_child", "is_true")
ADULT = CohortRule("adult", "is_child", "is_false")
MALE = CohortRule("male", "gender", "equals", "male")
FEMALE = CohortRule("female", "gender", "equals", "female")
AGED_0_8 = CohortRule("age 0-8", "age_band", "equals", "0--8")
AGED_9_17 = CohortRule("age 9-17", "age_band", "equals", "9--17")
GROUPS: dict[str, tuple[CohortRule, ...]] = {
    "children": (CHILD,),
    "adults": (ADULT,),
    "boys": (CHILD, MALE),
    "girls": (CHILD, FEMALE),
    "aged 0-8": (AGED_0_8,),
    "aged 9-17": (AGED_9_17,),
}


def group_masks(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Boolean row mask of each named group of :data:`GROUPS` (unknown values are outside).

    Examples
    --------
    >>> frame = pd.DataFrame({"is_child": pd.array([True, True, False, None], dtype="boolean"),
    ...                       "gender": ["male", "female", "male", "male"]})
    >>> {k: v.tolist() for k, v in group_masks(frame, ["boys", "adults"]).items()}
    {'boys': [True, False, False, False], 'adults': [False, False, True, False]}
    """
    return {name: apply_rules(frame, GROUPS[name], start="")[0] for name in names}


def apply_rules(
    frame: pd.DataFrame, rules: tuple[CohortRule, ...], *, start: str
) -> tuple[np.ndarray, tuple[tuple[str, int], ...]]:
    """Boolean mask of rows passing every rule, and the row count after each rule."""
    keep = np.ones(len(frame), dtype=bool)
    steps = [(start, len(frame))]
    for rule in rules:
        keep &= rule.mask(frame).to_numpy(dtype=bool)
        steps.append((rule.name, int(keep.sum())))
    return keep, tuple(steps)
