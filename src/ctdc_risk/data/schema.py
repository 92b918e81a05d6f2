"""The canonical frame: one documented table shape that every CTDC release is harmonised into.

Every later stage (cohorts, targets, features, reports) reads only these columns. The list below
is the single source of truth: the pandera schema in :mod:`ctdc_risk.data.validate`, the
generator in :mod:`ctdc_risk.data.synthetic` and ``docs/canonical_frame.md`` all follow it.

Flags are three-state (``True`` yes, ``False`` no, ``<NA>`` unknown / not recorded) in pandas'
nullable ``boolean`` dtype. Releases whose flags are positive-only (``1`` or blank) give ``True``
or ``<NA>``; the dataset records that fact (:attr:`FlagSemantics.POSITIVE_ONLY`) so later stages
can say "not recorded" rather than "no".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import pandas as pd

ColumnKind = Literal["flag", "category", "year", "bool", "iso3", "region", "subregion"]


class FlagSemantics(StrEnum):
    """What a missing flag means in a release."""

    THREE_STATE = "three_state"
    """Flags are coded yes / no / missing: an absent value is truly unknown."""
    POSITIVE_ONLY = "positive_only"
    """Flags are ``1`` or blank: blank means "not recorded as yes", never "no"."""


AGE_BANDS: tuple[str, ...] = (
    "0--8",
    "9--17",
    "18--20",
    "21--23",
    "24--26",
    "27--29",
    "30--38",
    "39--47",
    "48+",
)
CHILD_AGE_BANDS: frozenset[str] = frozenset({"0--8", "9--17"})
GENDERS: tuple[str, ...] = ("female", "male", "trans_nonconforming")
MAJORITY: tuple[str, ...] = ("minor", "adult")
DATASOURCES: tuple[str, ...] = ("case_management", "hotline")
TRAFFICKING_MONTHS: tuple[str, ...] = ("0--12", "13--24", "25+")
CHILD_STATUS_SOURCES: tuple[str, ...] = (
    "age_band",
    "majority_status",
    "majority_status_at_exploit",
)
UN_REGIONS: tuple[str, ...] = ("Africa", "Americas", "Asia", "Europe", "Oceania", "Antarctica")


@dataclass(frozen=True)
class CanonicalColumn:
    """One column of the canonical frame."""

    name: str
    kind: ColumnKind
    description: str
    levels: tuple[str, ...] = ()
    group: str = ""


def _flag(name: str, description: str, group: str) -> CanonicalColumn:
    return CanonicalColumn(name, "flag", description, group=group)


# Merged groups of the newest (2024-2026) release; older, more detailed releases are mapped onto
# them so a study can compare releases on the same factors.
MEANS_GROUPS: dict[str, str] = {
    "means_debt_bondage_earnings": "debt bondage, or earnings taken or financial access restricted",
    "means_threats": "threats (including threats of law enforcement)",
    "means_abuse_psy_phy_sex": "psychological, physical or sexual abuse",
    "means_false_promises": "false promises",
    "means_drugs_alcohol": "psychoactive substances",
    "means_deny_basic_needs": "necessities or medical care withheld",
    "means_excessive_work_hours": "excessive working hours",
    "means_withhold_docs": "documents withheld",
}
MEANS_DETAIL: dict[str, str] = {
    "moc_debt_bondage": "debt bondage",
    "moc_takes_earnings": "earnings taken",
    "moc_restricts_financial_access": "financial access restricted",
    "moc_threats": "threats",
    "moc_psychological_abuse": "psychological abuse",
    "moc_physical_abuse": "physical abuse",
    "moc_sexual_abuse": "sexual abuse",
    "moc_false_promises": "false promises",
    "moc_psychoactive_substances": "psychoactive substances",
    "moc_restricts_movement": "movement restricted",
    "moc_restricts_medical_care": "medical care restricted",
    "moc_excessive_working_hours": "excessive working hours",
    "moc_uses_children": "uses children",
    "moc_threat_of_law_enforcement": "threat of law enforcement",
    "moc_withholds_necessities": "necessities withheld",
    "moc_withholds_documents": "documents withheld",
    "moc_other": "other means of control",
}
# Which detailed flags make up each merged group. A merged flag is yes when any member is yes,
# no when every member is known to be no, unknown otherwise.
MEANS_MERGE: dict[str, tuple[str, ...]] = {
    "means_debt_bondage_earnings": (
        "moc_debt_bondage",
        "moc_takes_earnings",
        "moc_restricts_financial_access",
    ),
    "means_threats": ("moc_threats", "moc_threat_of_law_enforcement"),
    "means_abuse_psy_phy_sex": (
        "moc_psychological_abuse",
        "moc_physical_abuse",
        "moc_sexual_abuse",
    ),
    "means_false_promises": ("moc_false_promises",),
    "means_drugs_alcohol": ("moc_psychoactive_substances",),
    "means_deny_basic_needs": ("moc_withholds_necessities", "moc_restricts_medical_care"),
    "means_excessive_work_hours": ("moc_excessive_working_hours",),
    "means_withhold_docs": ("moc_withholds_documents",),
}

EXPLOIT_GROUPS: dict[str, str] = {
    "exploit_forced_labour": "forced labour",
    "exploit_sexual": "sexual exploitation",
    "exploit_other": "other exploitation (forced marriage, military, organ removal, slavery)",
}
EXPLOIT_DETAIL: dict[str, str] = {
    "exploit_forced_marriage": "forced marriage",
    "exploit_forced_military": "forced military service",
    "exploit_organ_removal": "organ removal",
    "exploit_slavery_practices": "slavery and similar practices",
}

SECTOR_GROUPS: dict[str, str] = {
    "sector_agriculture": "agriculture or aquafarming",
    "sector_construction": "construction",
    "sector_domestic_work": "domestic work",
    "sector_hospitality": "hospitality",
}
SECTOR_DETAIL: dict[str, str] = {
    "labour_agriculture": "agriculture",
    "labour_aquafarming": "aquafarming",
    "labour_begging": "begging",
    "labour_construction": "construction",
    "labour_domestic_work": "domestic work",
    "labour_hospitality": "hospitality",
    "labour_illicit_activities": "illicit activities",
    "labour_manufacturing": "manufacturing",
    "labour_mining_drilling": "mining or drilling",
    "labour_peddling": "peddling",
    "labour_transportation": "transportation",
    "labour_other": "other sector",
}
SECTOR_MERGE: dict[str, tuple[str, ...]] = {
    "sector_agriculture": ("labour_agriculture", "labour_aquafarming"),
    "sector_construction": ("labour_construction",),
    "sector_domestic_work": ("labour_domestic_work",),
    "sector_hospitality": ("labour_hospitality",),
}

SEX_GROUPS: dict[str, str] = {
    "sex_prostitution": "prostitution",
    "sex_pornography": "pornography",
}
SEX_DETAIL: dict[str, str] = {
    "sex_remote_interactive": "remote interactive sexual services",
    "sex_private_services": "private sexual services",
    "sex_other": "other sexual exploitation",
}

RECRUITER_FLAGS: dict[str, str] = {
    "recruiter_family": "recruited by a family member or relative",
    "recruiter_intimate_partner": "recruited by an intimate partner",
    "recruiter_friend": "recruited by a friend or acquaintance",
    "recruiter_other": "recruited by someone else",
}


def _build_columns() -> tuple[CanonicalColumn, ...]:
    cols: list[CanonicalColumn] = [
        CanonicalColumn("year_of_registration", "year", "year the case was registered"),
        CanonicalColumn(
            "datasource", "category", "who registered the case", DATASOURCES, "provenance"
        ),
        CanonicalColumn("gender", "category", "gender of the victim", GENDERS, "person"),
        CanonicalColumn(
            "age_band", "category", "age band at registration (years)", AGE_BANDS, "person"
        ),
        CanonicalColumn(
            "majority_status", "category", "minor or adult at registration", MAJORITY, "person"
        ),
        CanonicalColumn(
            "majority_status_at_exploit",
            "category",
            "minor or adult when exploited",
            MAJORITY,
            "person",
        ),
        CanonicalColumn("is_child", "bool", "child (under 18), by the rule recorded", (), "person"),
        CanonicalColumn(
            "child_status_source",
            "category",
            "which column decided is_child",
            CHILD_STATUS_SOURCES,
            "person",
        ),
        CanonicalColumn("citizenship_iso3", "iso3", "citizenship, ISO 3166 alpha-3", (), "place"),
        CanonicalColumn(
            "citizenship_region", "region", "UN region of citizenship", UN_REGIONS, "place"
        ),
        CanonicalColumn(
            "citizenship_subregion", "subregion", "UN sub-region of citizenship", (), "place"
        ),
        CanonicalColumn(
            "exploitation_iso3", "iso3", "country of exploitation, ISO alpha-3", (), "place"
        ),
        CanonicalColumn(
            "exploitation_region", "region", "UN region of exploitation", UN_REGIONS, "place"
        ),
        CanonicalColumn(
            "exploitation_subregion", "subregion", "UN sub-region of exploitation", (), "place"
        ),
        CanonicalColumn(
            "cross_border",
            "bool",
            "citizenship differs from country of exploitation (unknown if either is)",
            (),
            "place",
        ),
        CanonicalColumn(
            "trafficking_months",
            "category",
            "time in trafficking, months (coarsest common bands)",
            TRAFFICKING_MONTHS,
            "exploitation",
        ),
        _flag("is_abduction", "recruited by abduction", "recruitment"),
    ]
    for group, members in (
        ("means_of_control", MEANS_GROUPS | MEANS_DETAIL),
        ("exploitation_type", EXPLOIT_GROUPS | EXPLOIT_DETAIL),
        ("labour_sector", SECTOR_GROUPS | SECTOR_DETAIL),
        ("sexual_exploitation_type", SEX_GROUPS | SEX_DETAIL),
        ("recruiter_relation", RECRUITER_FLAGS),
    ):
        cols.extend(_flag(name, desc, group) for name, desc in members.items())
    cols.append(
        CanonicalColumn(
            "recruiter_known",
            "bool",
            "the recruiter's relation to the victim is recorded",
            (),
            "recruiter_relation",
        )
    )
    return tuple(cols)


CANONICAL_COLUMNS: tuple[CanonicalColumn, ...] = _build_columns()
CANONICAL_NAMES: tuple[str, ...] = tuple(c.name for c in CANONICAL_COLUMNS)
COLUMN_BY_NAME: dict[str, CanonicalColumn] = {c.name: c for c in CANONICAL_COLUMNS}
FLAG_COLUMNS: tuple[str, ...] = tuple(c.name for c in CANONICAL_COLUMNS if c.kind == "flag")


def canonical_markdown() -> str:
    """Return the canonical frame as a Markdown table (the body of ``docs/canonical_frame.md``)."""
    lines = ["| column | kind | levels | meaning |", "|---|---|---|---|"]
    for col in CANONICAL_COLUMNS:
        levels = ", ".join(f"`{lv}`" for lv in col.levels)
        lines.append(f"| `{col.name}` | {col.kind} | {levels} | {col.description} |")
    return "\n".join(lines) + "\n"


def categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Series:
    """A categorical Series from integer codes (``-1`` = missing): the fast path at 1M rows."""
    codes_: Any = np.asarray(codes)
    cat: Any = pd.Categorical.from_codes(codes_, categories=pd.Index(list(categories)))
    return pd.Series(cat)
