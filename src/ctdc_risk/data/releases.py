"""The CTDC releases this package reads, recognised from their header alone.

Each :class:`Release` lists its columns and what each one holds, so harmonisation is a table
lookup instead of a branch per release. Header matching ignores case, spaces, dashes and
underscores (``Year Of Registration`` matches ``yearOfRegistration``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ctdc_risk.data.header import normalise_header
from ctdc_risk.data.schema import CANONICAL_NAMES, FlagSemantics
from ctdc_risk.errors import ReleaseDetectionError

# Raw flag column -> internal flag name. Internal names are canonical flag columns, or one of the
# control flags below that change how other flags are read.
NOT_SPECIFIED_MEANS = "_means_not_specified"
NOT_SPECIFIED_LABOUR = "_labour_not_specified"
RECRUITER_UNKNOWN = "_recruiter_unknown"
SEX_AND_LABOUR = "_sex_and_labour"

_MEANS_OLD = {
    "meansOfControlDebtBondage": "moc_debt_bondage",
    "meansOfControlTakesEarnings": "moc_takes_earnings",
    "meansOfControlRestrictsFinancialAccess": "moc_restricts_financial_access",
    "meansOfControlThreats": "moc_threats",
    "meansOfControlPsychologicalAbuse": "moc_psychological_abuse",
    "meansOfControlPhysicalAbuse": "moc_physical_abuse",
    "meansOfControlSexualAbuse": "moc_sexual_abuse",
    "meansOfControlFalsePromises": "moc_false_promises",
    "meansOfControlPsychoactiveSubstances": "moc_psychoactive_substances",
    "meansOfControlRestrictsMovement": "moc_restricts_movement",
    "meansOfControlRestrictsMedicalCare": "moc_restricts_medical_care",
    "meansOfControlExcessiveWorkingHours": "moc_excessive_working_hours",
    "meansOfControlUsesChildren": "moc_uses_children",
    "meansOfControlThreatOfLawEnforcement": "moc_threat_of_law_enforcement",
    "meansOfControlWithholdsNecessities": "moc_withholds_necessities",
    "meansOfControlWithholdsDocuments": "moc_withholds_documents",
    "meansOfControlOther": "moc_other",
    "meansOfControlNotSpecified": NOT_SPECIFIED_MEANS,
}
_LABOUR_OLD = {
    "typeOfLabourAgriculture": "labour_agriculture",
    "typeOfLabourAquafarming": "labour_aquafarming",
    "typeOfLabourBegging": "labour_begging",
    "typeOfLabourConstruction": "labour_construction",
    "typeOfLabourDomesticWork": "labour_domestic_work",
    "typeOfLabourHospitality": "labour_hospitality",
    "typeOfLabourIllicitActivities": "labour_illicit_activities",
    "typeOfLabourManufacturing": "labour_manufacturing",
    "typeOfLabourMiningOrDrilling": "labour_mining_drilling",
    "typeOfLabourPeddling": "labour_peddling",
    "typeOfLabourTransportation": "labour_transportation",
    "typeOfLabourOther": "labour_other",
    "typeOfLabourNotSpecified": NOT_SPECIFIED_LABOUR,
}
_RECRUITER = {
    "recruiterRelationIntimatePartner": "recruiter_intimate_partner",
    "recruiterRelationFriend": "recruiter_friend",
    "recruiterRelationFamily": "recruiter_family",
    "recruiterRelationOther": "recruiter_other",
}
_EXPLOIT = {
    "isForcedLabour": "exploit_forced_labour",
    "isSexualExploit": "exploit_sexual",
    "isOtherExploit": "exploit_other",
}


@dataclass(frozen=True)
class Release:
    """A CTDC release format.

    ``text`` maps raw text columns to the parser role that reads them; ``flags`` maps raw flag
    columns to internal flag names. ``optional`` columns are read when present; all others are
    required for the header to match. ``country_coding`` is how the release writes countries
    (``alpha2``, ``alpha3`` or ``name``): only an alpha-2 release makes ``NA`` Namibia.
    """

    id: str
    label: str
    flag_semantics: FlagSemantics
    text: dict[str, str]
    flags: dict[str, str]
    country_coding: Literal["alpha2", "alpha3", "name"]
    optional: frozenset[str] = frozenset()
    ignored: frozenset[str] = frozenset()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.text, *self.flags, *sorted(self.ignored))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.optional)

    def accepted_names(self, column: str) -> tuple[str, ...]:
        return (column, *self.aliases.get(column, ()))


GLOBAL_2017_2021 = Release(
    id="global_2017_2021",
    label="CTDC global dataset 2017-2020 / k-anonymised 2021 (63 columns, -99 = missing)",
    flag_semantics=FlagSemantics.THREE_STATE,
    country_coding="alpha2",
    text={
        "yearOfRegistration": "year",
        "Datasource": "datasource",
        "gender": "gender",
        "ageBroad": "age_band",
        "majorityStatus": "majority_status",
        "majorityStatusAtExploit": "majority_status_at_exploit",
        "citizenship": "citizenship",
        "CountryOfExploitation": "exploitation_country",
        "RecruiterRelationship": "recruiter_text",
    },
    flags={
        **_MEANS_OLD,
        **_EXPLOIT,
        "isSexAndLabour": SEX_AND_LABOUR,
        "isForcedMarriage": "exploit_forced_marriage",
        "isForcedMilitary": "exploit_forced_military",
        "isOrganRemoval": "exploit_organ_removal",
        "isSlaveryAndPractices": "exploit_slavery_practices",
        **_LABOUR_OLD,
        "typeOfSexProstitution": "sex_prostitution",
        "typeOfSexPornography": "sex_pornography",
        "typeOfSexRemoteInteractiveServices": "sex_remote_interactive",
        "typeOfSexPrivateSexualServices": "sex_private_services",
        "isAbduction": "is_abduction",
        **_RECRUITER,
        "recruiterRelationUnknown": RECRUITER_UNKNOWN,
    },
    # The 2017 dictionary lists 62 variables; the data adds isSlaveryAndPractices.
    optional=frozenset({"isSlaveryAndPractices"}),
    # Derived text lists (the flags hold the same facts) and the age band at entry, which no
    # later stage uses.
    ignored=frozenset(
        {
            "majorityEntry",
            "meansOfControlConcatenated",
            "typeOfExploitConcatenated",
            "typeOfLabourConcatenated",
            "typeOfSexConcatenated",
        }
    ),
)

SYNTHETIC_2021 = Release(
    id="synthetic_2021",
    label="CTDC global synthetic dataset 2021 (37 columns, flags 1 or blank)",
    flag_semantics=FlagSemantics.POSITIVE_ONLY,
    country_coding="name",
    text={
        "yearOfRegistration": "year",
        "gender": "gender",
        "ageBroad": "age_band",
        "majorityStatusAtExploit": "majority_status_at_exploit",
        "traffickMonths": "trafficking_months",
        "citizenship": "citizenship",
        "CountryOfExploitation": "exploitation_country",
    },
    flags={
        **{
            k: v
            for k, v in _MEANS_OLD.items()
            if k
            not in {
                "meansOfControlRestrictsFinancialAccess",
                "meansOfControlUsesChildren",
                "meansOfControlNotSpecified",
                "meansOfControlThreatOfLawEnforcement",
            }
        },
        "meansOfControlThreatOfLawEnforce": "moc_threat_of_law_enforcement",
        **_EXPLOIT,
        "typeOfLabourAgriculture": "labour_agriculture",
        "typeOfLabourConstruction": "labour_construction",
        "typeOfLabourDomesticWork": "labour_domestic_work",
        "typeOfLabourHospitality": "labour_hospitality",
        "typeOfLabourOther": "labour_other",
        "typeOfSexProstitution": "sex_prostitution",
        "typeOfSexPornography": "sex_pornography",
        "typeOfSexOther": "sex_other",
        **_RECRUITER,
    },
)

_SECTORS_2024 = {
    "typeOfLabourAgriculture": "labour_agriculture",
    "typeOfLabourConstruction": "labour_construction",
    "typeOfLabourDomesticWork": "labour_domestic_work",
    "typeOfLabourHospitality": "labour_hospitality",
    # Recognised when present: the published descriptions name four sector flags without
    # listing them, so any of the older sector names is accepted too.
    **{k: v for k, v in _LABOUR_OLD.items() if not v.startswith("_")},
}

SYNTHETIC_2024 = Release(
    id="synthetic_2024",
    label="CTDC global synthetic dataset 2024-2026 (27 columns, merged groups, ISO alpha-3)",
    flag_semantics=FlagSemantics.POSITIVE_ONLY,
    country_coding="alpha3",
    text={
        "yearOfRegistration": "year",
        "gender": "gender",
        "ageBroad": "age_band",
        "traffickMonths": "trafficking_months",
        "citizenship": "citizenship",
        "CountryOfExploitation": "exploitation_country",
    },
    flags={
        "meansDebtBondageEarnings": "means_debt_bondage_earnings",
        "meansThreats": "means_threats",
        "meansAbusePsyPhySex": "means_abuse_psy_phy_sex",
        "meansFalsePromises": "means_false_promises",
        "meansDrugsAlcohol": "means_drugs_alcohol",
        "meansDenyBasicNeeds": "means_deny_basic_needs",
        "meansExcessiveWorkHours": "means_excessive_work_hours",
        "meansWithholdDocs": "means_withhold_docs",
        **_EXPLOIT,
        **_SECTORS_2024,
        "typeOfSexProstitution": "sex_prostitution",
        "typeOfSexPornography": "sex_pornography",
        **_RECRUITER,
    },
    optional=frozenset(_SECTORS_2024) | {"typeOfSexPornography", "typeOfSexProstitution"},
    aliases={k: ("sectorOfLabour" + k.removeprefix("typeOfLabour"),) for k in _SECTORS_2024},
)

# The package's own synthetic generator writes the canonical frame itself; flags are 1/0/blank.
CANONICAL = Release(
    id="ctdc_risk_canonical",
    label="ctdc_risk canonical frame (this package's own synthetic or harmonised output)",
    flag_semantics=FlagSemantics.THREE_STATE,
    country_coding="alpha3",
    text=dict.fromkeys(CANONICAL_NAMES, "canonical"),
    flags={},
)

RELEASES: tuple[Release, ...] = (GLOBAL_2017_2021, SYNTHETIC_2021, SYNTHETIC_2024, CANONICAL)
RELEASE_BY_ID: dict[str, Release] = {r.id: r for r in RELEASES}


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's header maps onto a release."""

    release: Release
    raw_for: dict[str, str]
    """Release column -> the header name used in the file."""
    extra_columns: tuple[str, ...]
    respelled: tuple[str, ...]
    """Header names that matched only after ignoring case, spaces or an alias spelling."""


def detect_release(header: Iterable[str], *, source: str) -> HeaderMatch:
    """Recognise the release of a file from its header.

    Raises
    ------
    ReleaseDetectionError
        No release has all its required columns; the message names the closest release and
        the columns it misses.
    """
    names = list(header)
    by_key = {normalise_header(n): n for n in names}
    candidates: list[tuple[float, int, Release, list[str]]] = []
    for release in RELEASES:
        missing = [
            col
            for col in release.required
            if not any(normalise_header(a) in by_key for a in release.accepted_names(col))
        ]
        present = len(release.required) - len(missing)
        candidates.append((present / len(release.required), present, release, missing))
    complete = [c for c in candidates if not c[3]]
    if not complete:
        score, _, closest, missing = max(candidates, key=lambda c: (c[0], c[1]))
        shown = ", ".join(missing[:12]) + (
            f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        )
        raise ReleaseDetectionError(
            f"{source}: the header matches no known CTDC release. Closest: {closest.label} "
            f"({score:.0%} of its required columns present); missing: {shown}. Check that the "
            "file is a CTDC export with its original header."
        )
    # Prefer the release that explains the most columns (the canonical frame outnumbers all).
    _, _, release, _ = max(complete, key=lambda c: c[1])
    raw_for: dict[str, str] = {}
    respelled: list[str] = []
    for col in release.columns:
        for alias in release.accepted_names(col):
            raw = by_key.get(normalise_header(alias))
            if raw is not None:
                raw_for[col] = raw
                if raw != col:
                    respelled.append(raw)
                break
    used = set(raw_for.values())
    extra = tuple(n for n in names if n not in used)
    return HeaderMatch(release, raw_for, extra, tuple(respelled))
