"""Targets: the outcome a study explains, who it is defined for, and what would leak it.

A target names its outcome flag, the rules that make the outcome *known* (e.g. the recruiter's
relation is recorded), its case phase, and the columns that would leak it into the features,
each with the written reason it is left out (e.g. every recruiter-relation field for family
recruitment). Leakage patterns are globs over canonical column names; the outcome and
eligibility columns are always added to them.

The phase decides the role of every other factor: for a recruitment outcome, what was recorded
about the exploitation that followed is a consequence as much as a context, so it is described
beside the results and never adjusted for or labelled (see :func:`covariate_phases`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from ctdc_risk.cohort import CohortRule, Rules, apply_rules
from ctdc_risk.data.schema import CANONICAL_NAMES, COLUMN_BY_NAME
from ctdc_risk.errors import StudyError
from ctdc_risk.features import FACTORS, PHASES, matches
from ctdc_risk.privacy import Floor
from ctdc_risk.validate import (
    Constraints,
    MappingOf,
    Options,
    OrNone,
    Satisfies,
    Text,
    check_mapping,
)

OUTCOME_LEAKS = "the outcome itself"
ELIGIBILITY_LEAKS = "decides whether the outcome is known"
_YES_NO = tuple(name for name, col in COLUMN_BY_NAME.items() if col.kind in ("flag", "bool"))


@dataclass(frozen=True)
class TargetSpec:
    """An outcome to explain.

    Attributes
    ----------
    name, description
        Identifier and a sentence for reports.
    outcome
        Canonical yes/no column; the outcome is "yes" where it is yes, "no" otherwise among
        eligible rows.
    outcome_words
        The outcome in plain words for generated sentences ("recruited by a family member").
    eligible
        Rules that make the outcome known; rows failing them are not part of the study.
    leakage
        Glob patterns of canonical columns that would leak the outcome.
    leakage_reasons
        One written reason per pattern of ``leakage`` (same order).
    phase
        The outcome's case phase (``recruitment`` or ``exploitation``; by default the phase of
        the outcome's factor in the catalogue).
    """

    name: str
    description: str
    outcome: str
    outcome_words: str
    eligible: tuple[CohortRule, ...]
    leakage: tuple[str, ...]
    leakage_reasons: tuple[str, ...] = ()
    phase: str = "exploitation"

    _config: ClassVar[Constraints] = {
        "name": Text(scalars=True),
        "description": Text(scalars=True),
        "outcome": Satisfies(_YES_NO.__contains__, what="a yes/no canonical column", near=_YES_NO),
        "outcome_words": Text(scalars=True),
        "eligible": Rules(),
        # One mapping in the config, two fields here: the patterns and their reasons.
        "leakage": OrNone(
            MappingOf(
                Satisfies(
                    lambda p: any(matches(c, [p]) for c in CANONICAL_NAMES),
                    what="a pattern of canonical column names",
                    problem="matches no canonical column",
                ),
                Text(
                    scalars=True, nonempty=True, strip=True, why="Give the reason it is left out."
                ),
                what="a mapping of each column pattern to the reason it is left out, e.g. "
                "{'recruiter_*': 'the recruiter fields give the answer away'}",
            )
        ),
        "phase": OrNone(Options(PHASES[1:], "the outcome's case phase")),
    }
    """The config's keys (the dataclass has ``leakage_reasons`` instead)."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "target") -> TargetSpec:
        values = check_mapping(data, cls._config, key, required=("name", "outcome"))
        outcome = str(values["outcome"])
        leakage = cast(dict[str, str], values.get("leakage") or {})
        default_phase = FACTORS[outcome].phase if outcome in FACTORS else "exploitation"
        return cls(
            name=str(values["name"]),
            description=str(values.get("description", "")),
            outcome=outcome,
            outcome_words=str(values.get("outcome_words", outcome)),
            eligible=cast(tuple[CohortRule, ...], values.get("eligible") or ()),
            leakage=tuple(leakage),
            leakage_reasons=tuple(leakage.values()),
            phase=str(values.get("phase") or default_phase),
        )

    @property
    def leakage_patterns(self) -> tuple[str, ...]:
        """Declared leakage plus the outcome and every eligibility column."""
        eligibility = tuple(c for rule in self.eligible for c in rule.columns)
        return (*self.leakage, self.outcome, *eligibility)

    def leakage_reason(self, column: str) -> str | None:
        """Why ``column`` is left out of the features, or None when it is not."""
        if column == self.outcome:
            return OUTCOME_LEAKS
        for pattern, reason in zip(self.leakage, self.leakage_reasons, strict=False):
            if matches(column, [pattern]):
                return reason
        if any(column in rule.columns for rule in self.eligible):
            return ELIGIBILITY_LEAKS
        return None

    @property
    def covariate_phases(self) -> tuple[str, ...]:
        """Case phases whose factors may be adjusted for and labelled for this outcome.

        Only what exists before or at the outcome's phase: for a recruitment outcome, before
        recruitment and recruitment; for an exploitation outcome, every phase.
        """
        return PHASES[: PHASES.index(self.phase) + 1]


@dataclass(frozen=True)
class Target:
    """Eligible rows of a cohort with their outcome."""

    spec: TargetSpec
    frame: pd.DataFrame
    y: np.ndarray
    flow: tuple[tuple[str, int], ...]

    @property
    def n_positive(self) -> int:
        return int(self.y.sum())

    @property
    def prevalence(self) -> float:
        return float(self.y.mean())


def make_target(frame: pd.DataFrame, spec: TargetSpec, *, k: int) -> Target:
    """Keep the rows whose outcome is known and derive the outcome.

    Raises
    ------
    StudyError
        No eligible rows, one class only, or a class with fewer than ``k`` records (a study
        on so few cases would publish figures below the privacy floor).
    """
    keep, flow = apply_rules(frame, spec.eligible, start="cohort")
    eligible = frame.loc[keep].reset_index(drop=True)
    y = eligible[spec.outcome].fillna(False).to_numpy(dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    where = " -> ".join(f"{rule}: {n:,}" for rule, n in flow)
    if len(y) == 0:
        raise StudyError(
            f"target {spec.name!r}: no rows of the cohort have the outcome recorded ({where})."
        )
    if n_pos == 0 or n_neg == 0:
        which = "yes" if n_neg == 0 else "no"
        # Error messages reach the terminal: counts under k are shown "<k" there too.
        shown = f"{len(y):,}" if len(y) >= k else Floor(k).marker
        raise StudyError(
            f"target {spec.name!r}: every one of the {shown} eligible rows is {which!r}; "
            "a study needs both outcomes. Choose another cohort or target."
        )
    if min(n_pos, n_neg) < k:
        raise StudyError(
            f"target {spec.name!r}: fewer than {k} rows are "
            f"{'yes' if n_pos < n_neg else 'no'} (privacy.k = {k}); results would rest on too "
            "few cases. Choose a wider cohort."
        )
    return Target(spec, eligible, y, flow)
