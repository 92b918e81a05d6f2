"""The factor catalogue: every canonical column a study may use, named as a person would name it.

Each factor carries its case phase (before recruitment, recruitment, exploitation) and its
level in IOM's Determinants of Migrant Vulnerability (DoMV: individual, household/family,
community, structural). Feature sets select factors by these tags; a target's leakage columns
are always removed. Exploitation-phase factors describe what happened after recruitment (and
registration context): reports present them as context, not causes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from ctdc_risk.data.schema import (
    COLUMN_BY_NAME,
    EXPLOIT_GROUPS,
    MEANS_GROUPS,
    RECRUITER_FLAGS,
    SECTOR_GROUPS,
    SEX_GROUPS,
)
from ctdc_risk.validate import Constraints, ListOf, Options, Satisfies, Text, from_mapping

Phase = Literal["before_recruitment", "recruitment", "exploitation"]
Domv = Literal["individual", "household_family", "community", "structural"]
PHASES: tuple[Phase, ...] = ("before_recruitment", "recruitment", "exploitation")
DOMV_LEVELS: tuple[Domv, ...] = ("individual", "household_family", "community", "structural")
PHASE_WORDS: dict[str, str] = {
    "before_recruitment": "before recruitment",
    "recruitment": "recruitment",
    "exploitation": "exploitation (context, not a cause)",
}


@dataclass(frozen=True)
class Factor:
    """A case characteristic as a person would name it, mapped to one canonical column."""

    name: str
    label: str
    kind: Literal["category", "flag", "binary"]
    """``flag``: a release's yes/no item (positive-only in some releases); ``binary``: a yes/no
    column derived by this package, whose "no" is always real."""
    phase: Phase
    domv: Domv


def _catalogue() -> dict[str, Factor]:
    items: list[Factor] = [
        Factor("age_band", "age band", "category", "before_recruitment", "individual"),
        Factor("gender", "gender", "category", "before_recruitment", "individual"),
        Factor(
            "citizenship_subregion",
            "citizen of (UN sub-region)",
            "category",
            "before_recruitment",
            "structural",
        ),
        # Cross-border is derived from the country of exploitation, which is known only once the
        # exploitation has happened: it is exploitation-phase, like the place of exploitation.
        Factor(
            "cross_border", "trafficked across a border", "binary", "exploitation", "structural"
        ),
        Factor("is_abduction", "recruited by abduction", "flag", "recruitment", "individual"),
        Factor(
            "recruiter_family",
            "recruited by a family member",
            "flag",
            "recruitment",
            "household_family",
        ),
        Factor(
            "recruiter_intimate_partner",
            "recruited by an intimate partner",
            "flag",
            "recruitment",
            "household_family",
        ),
        Factor(
            "recruiter_friend",
            "recruited by a friend or acquaintance",
            "flag",
            "recruitment",
            "community",
        ),
        Factor("recruiter_other", "recruited by someone else", "flag", "recruitment", "community"),
        Factor(
            "exploitation_subregion",
            "exploited in (UN sub-region)",
            "category",
            "exploitation",
            "structural",
        ),
        Factor(
            "trafficking_months",
            "time in trafficking (months)",
            "category",
            "exploitation",
            "individual",
        ),
        Factor("datasource", "registered by", "category", "exploitation", "structural"),
        Factor(
            "registration_period",
            "registration period",
            "category",
            "exploitation",
            "structural",
        ),
        Factor(
            "documented_groups",
            "number of item groups recorded",
            "category",
            "exploitation",
            "structural",
        ),
    ]
    for group, phase, domv in (
        (MEANS_GROUPS, "exploitation", "individual"),
        (EXPLOIT_GROUPS, "exploitation", "structural"),
        (SECTOR_GROUPS, "exploitation", "structural"),
        (SEX_GROUPS, "exploitation", "individual"),
    ):
        for name, desc in group.items():
            items.append(Factor(name, desc, "flag", phase, domv))  # type: ignore[arg-type]
    return {f.name: f for f in items}


FACTORS: dict[str, Factor] = _catalogue()

# Registration year as periods: a factor a person can read, with enough cases per level.
PERIODS: tuple[tuple[str, int, int], ...] = (
    ("2002-2010", 2002, 2010),
    ("2011-2014", 2011, 2014),
    ("2015-2017", 2015, 2017),
    ("2018 or later", 2018, 9999),
)


def add_derived_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add factor columns derived from canonical ones (``registration_period``)."""
    year = frame["year_of_registration"]
    period = pd.Series(pd.NA, index=frame.index, dtype="object")
    for label, lo, hi in PERIODS:
        period[(year >= lo).fillna(False) & (year <= hi).fillna(False)] = label
    out = frame.copy()
    out["registration_period"] = pd.Categorical(period, categories=[p[0] for p in PERIODS])
    return out


def add_documented_groups(frame: pd.DataFrame, groups: Iterable[str]) -> pd.DataFrame:
    """Add ``documented_groups``: how many of ``groups`` (names of :data:`FLAG_GROUPS`) have at
    least one item recorded in the case; how thoroughly the case was documented."""
    recorded = np.zeros(len(frame), dtype=int)
    for name in groups:
        cols = [c for c in FLAG_GROUPS[name] if c in frame]
        if cols:
            recorded += np.logical_or.reduce(
                [frame[c].fillna(False).to_numpy(dtype=bool) for c in cols]
            ).astype(int)
    levels = ("0", "1", "2", "3 or more")
    out = frame.copy()
    out["documented_groups"] = pd.Categorical.from_codes(
        np.minimum(recorded, 3).tolist(), categories=pd.Index(levels)
    )
    return out


FLAG_GROUPS: dict[str, tuple[str, ...]] = {
    "means of control": tuple(MEANS_GROUPS),
    "type of exploitation": tuple(EXPLOIT_GROUPS),
    "sector of labour": tuple(SECTOR_GROUPS),
    "form of sexual exploitation": tuple(SEX_GROUPS),
    "recruiter's relation": tuple(RECRUITER_FLAGS),
}
"""Groups of yes/no items that answer one question (a case may have several items of one)."""
DESIGN_FACTORS = frozenset({"documented_groups"})
"""Factors used only by sensitivity analyses, never selected by a feature set."""


_FACTOR_PATTERNS = ListOf(
    Satisfies(
        lambda pattern: bool(fnmatch.filter(FACTORS, pattern)),
        what="a factor name or pattern",
        problem="matches no factor",
        near=FACTORS,
        why=f"Factors are {', '.join(FACTORS)}.",
    ),
    example="age_band,cross_*",
)


@dataclass(frozen=True)
class FeatureSetSpec:
    """Which factors a study uses: by phase and DoMV level, plus explicit includes/excludes."""

    _constraints: ClassVar[Constraints] = {
        "name": Text(scalars=True),
        "phases": ListOf(Options(PHASES), example="before_recruitment,recruitment"),
        "domv": ListOf(Options(DOMV_LEVELS), example="individual,household_family"),
        "include": _FACTOR_PATTERNS,
        "exclude": _FACTOR_PATTERNS,
    }
    name: str
    phases: tuple[str, ...] = PHASES
    domv: tuple[str, ...] = DOMV_LEVELS
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, key: str = "features") -> FeatureSetSpec:
        return from_mapping(cls, data, key, defaults={"name": "custom"})


def matches(name: str, patterns: Iterable[str]) -> bool:
    """True if ``name`` matches any glob pattern (``recruiter_*``)."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def select_factors(
    spec: FeatureSetSpec, *, leakage: Iterable[str], frame: pd.DataFrame
) -> tuple[Factor, ...]:
    """Factors of the feature set that do not leak the target and carry some information.

    A factor whose column is entirely missing in this data (the release does not record it)
    is left out: it would be one "unknown" level and tell nothing.
    """
    leakage_reason = reason_from_patterns(leakage)
    chosen = []
    for factor in FACTORS.values():
        if factor.name in DESIGN_FACTORS:
            continue
        wanted = (factor.phase in spec.phases and factor.domv in spec.domv) or matches(
            factor.name, spec.include
        )
        if not wanted or matches(factor.name, spec.exclude) or leak_reason(factor, leakage_reason):
            continue
        if factor.name in frame and frame[factor.name].notna().any():
            chosen.append(factor)
    return tuple(chosen)


@dataclass(frozen=True)
class FactorSelection:
    """The factors of one study, by role, and the ones left out with the reason.

    Attributes
    ----------
    covariates
        Factors the models use, adjusted for one another and eligible for a label.
    context
        Factors of a later case phase than the outcome (exploitation, for a recruitment
        outcome): described with crude shares beside the results, never adjusted or labelled.
    dropped
        ``(factor name, reason)`` for every factor of the feature set left out.
    """

    covariates: tuple[Factor, ...]
    context: tuple[Factor, ...]
    dropped: tuple[tuple[str, str], ...]


NOT_RECORDED = "not recorded in this data"
CONSTANT = "the same for every case (constant): it cannot go with any difference"


def select_study_factors(
    spec: FeatureSetSpec,
    *,
    leakage_reason: Callable[[str], str | None],
    covariate_phases: Iterable[str],
    frame: pd.DataFrame,
) -> FactorSelection:
    """Split the feature set's factors into covariates, context and dropped (with reasons).

    Parameters
    ----------
    spec
        The feature set.
    leakage_reason
        Column name -> why it would leak the outcome, or None (``TargetSpec.leakage_reason``).
    covariate_phases
        Case phases whose factors may be covariates (``TargetSpec.covariate_phases``); factors
        of other phases become context.
    frame
        The study's cases (after cohort and target rules).
    """
    phases = tuple(covariate_phases)
    covariates: list[Factor] = []
    context: list[Factor] = []
    dropped: list[tuple[str, str]] = []
    for factor in FACTORS.values():
        wanted = (factor.phase in spec.phases and factor.domv in spec.domv) or matches(
            factor.name, spec.include
        )
        if factor.name in DESIGN_FACTORS and factor.name not in spec.include:
            continue
        if not wanted or matches(factor.name, spec.exclude):
            continue
        if reason := leak_reason(factor, leakage_reason):
            dropped.append((factor.name, f"would leak the outcome: {reason}"))
        elif factor.name not in frame or not frame[factor.name].notna().any():
            dropped.append((factor.name, NOT_RECORDED))
        elif frame[factor.name].nunique(dropna=False) <= 1:
            dropped.append((factor.name, CONSTANT))
        elif factor.phase in phases:
            covariates.append(factor)
        else:
            context.append(factor)
    return FactorSelection(tuple(covariates), tuple(context), tuple(dropped))


def source_columns(factor: Factor) -> tuple[str, ...]:
    """The canonical columns a factor is derived from (used by the leakage check)."""
    if factor.name == "registration_period":
        return ("year_of_registration",)
    if factor.name == "documented_groups":
        return ()  # built per study from the item groups that do not leak its outcome
    if factor.name in COLUMN_BY_NAME:
        return (factor.name,)
    raise KeyError(factor.name)  # pragma: no cover - every catalogue factor is mapped


def leak_reason(factor: Factor, leakage_reason: Callable[[str], str | None]) -> str | None:
    """Why ``factor`` would leak the outcome: the reason of its first column that would.

    ``leakage_reason`` maps a column name to its reason or None
    (``TargetSpec.leakage_reason``, or :func:`reason_from_patterns`). The one leakage filter
    of factor selection.
    """
    for column in (factor.name, *source_columns(factor)):
        if reason := leakage_reason(column):
            return reason
    return None


def reason_from_patterns(patterns: Iterable[str]) -> Callable[[str], str | None]:
    """A ``leakage_reason`` from bare glob patterns (no written reasons)."""
    leakage = tuple(patterns)

    def reason(column: str) -> str | None:
        return "matches a leakage pattern" if matches(column, leakage) else None

    return reason
