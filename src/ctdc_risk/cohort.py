"""Cohorts: ordered rules that select the cases a study is about, with a count after each rule.

A cohort is data, not code: each rule names a canonical column, an operator and a value, so a
config file can define new cohorts and every rule is checked against the canonical frame
before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ctdc_risk.data.schema import COLUMN_BY_NAME
from ctdc_risk.errors import ConfigError

OPERATORS = ("is_true", "is_false", "equals", "in", "is_known")


@dataclass(frozen=True)
class CohortRule:
    """Keep rows where ``column`` satisfies ``op`` (with ``value`` for equals / in)."""

    name: str
    column: str
    op: str
    value: Any = None

    def check(self, key: str) -> None:
        """Validate the rule against the canonical frame; ``key`` names it in errors."""
        if self.column not in COLUMN_BY_NAME:
            raise ConfigError(
                f"{key}.column: {self.column!r} is not a canonical column "
                "(see docs/canonical_frame.md)."
            )
        if self.op not in OPERATORS:
            raise ConfigError(f"{key}.op: {self.op!r} is not one of {', '.join(OPERATORS)}.")
        col = COLUMN_BY_NAME[self.column]
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
        col = frame[self.column]
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
class CohortSpec:
    """A named cohort: a description and ordered rules."""

    name: str
    description: str
    rules: tuple[CohortRule, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "cohort") -> CohortSpec:
        """Build from a config mapping, refusing unknown keys."""
        _strict(data, {"name", "description", "rules"}, key)
        rules_data = data.get("rules") or []
        if not isinstance(rules_data, Sequence) or isinstance(rules_data, str):
            raise ConfigError(f"{key}.rules must be a list of rules.")
        rules = []
        for i, rd in enumerate(rules_data):
            rkey = f"{key}.rules[{i}]"
            if not isinstance(rd, Mapping):
                raise ConfigError(f"{rkey} must be a mapping with name, column, op (and value).")
            _strict(rd, {"name", "column", "op", "value"}, rkey)
            for required in ("name", "column", "op"):
                if required not in rd:
                    raise ConfigError(f"{rkey}.{required} is missing.")
            value = rd.get("value")
            rule = CohortRule(
                str(rd["name"]),
                str(rd["column"]),
                str(rd["op"]),
                list(value) if isinstance(value, list | tuple) else value,
            )
            rule.check(rkey)
            rules.append(rule)
        if "name" not in data:
            raise ConfigError(f"{key}.name is missing.")
        return cls(str(data["name"]), str(data.get("description", "")), tuple(rules))


def _strict(data: Mapping[str, Any], allowed: set[str], key: str) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise ConfigError(
            f"{key}: unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(allowed))}."
        )


@dataclass(frozen=True)
class CohortFlow:
    """Rows remaining after each rule, starting with all rows."""

    steps: tuple[tuple[str, int], ...]

    @property
    def n_final(self) -> int:
        return self.steps[-1][1]

    def rows(self) -> list[tuple[str, int]]:
        return list(self.steps)


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
    keep = pd.Series(True, index=frame.index)
    steps = [("all records", len(frame))]
    for rule in spec.rules:
        keep &= rule.mask(frame).to_numpy()
        steps.append((rule.name, int(keep.sum())))
    return Cohort(spec, frame.loc[keep].reset_index(drop=True), CohortFlow(tuple(steps)))
