"""Built-in synthetic CTDC-like data with documented, planted ground truth.

The default run and the test suite use these records instead of real CTDC data (which may not be
redistributed). Records come out as the canonical frame, built through the same
:func:`~ctdc_risk.data.canonical.assemble_canonical` as harmonised real data, and
:mod:`ctdc_risk.data.raw_format` can write them in every release's raw format.

Marginals are set near the published figures: about a quarter of victims with a known age are
children; among cases with a known recruiter, family recruitment is about 47 % for children and
8.5 % for adults (intercepts are calibrated on each sample); boys are recruited by family more
often than girls; most children are sexually exploited.

Ground truth for the family-recruitment outcome is :data:`PLANTED_EFFECTS` (log-odds added to
the chance of family recruitment); :data:`NOISE_FACTORS` are drawn independently of everything
else, so any association they show is chance. Missingness is completely at random, so masking
never creates an association of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc_risk.data.canonical import assemble_canonical
from ctdc_risk.data.countries import country_info
from ctdc_risk.data.schema import (
    AGE_BANDS,
    DATASOURCES,
    GENDERS,
    MAJORITY,
    TRAFFICKING_MONTHS,
    UN_REGIONS,
    categorical,
)

log = logging.getLogger(__name__)

MIN_ROWS = 1_000
MAX_ROWS = 1_000_000
TARGET_FAMILY_SHARE = {"child": 0.47, "adult": 0.085}


@dataclass(frozen=True)
class PlantedEffect:
    """One true effect on the log-odds of recruitment by a family member."""

    column: str
    level: str | bool
    log_odds: float
    meaning: str


PLANTED_EFFECTS: tuple[PlantedEffect, ...] = (
    PlantedEffect("age_band", "0--8", 0.9, "age 0-8 (vs 9-17, on top of being a child)"),
    PlantedEffect("gender", "male", 0.6, "boys and men"),
    PlantedEffect("cross_border", True, -0.9, "trafficked across a border"),
    PlantedEffect(
        "citizenship_subregion", "South-eastern Asia", 0.7, "citizen of South-eastern Asia"
    ),
    PlantedEffect("means_false_promises", True, -1.0, "controlled by false promises"),
    PlantedEffect("means_abuse_psy_phy_sex", True, 0.5, "controlled by abuse"),
)
"""Ground truth. Being a child raises the odds through the calibrated child intercept."""

NOISE_FACTORS: tuple[str, ...] = (
    "datasource",
    "year_of_registration",
    "means_withhold_docs",
    "means_excessive_work_hours",
)
"""Drawn independently of every other column: their true effect is zero."""

_CITIZENSHIP: dict[str, float] = {
    "UKR": 10, "PHL": 8, "MDA": 6, "USA": 7, "IDN": 4, "KHM": 4, "BLR": 3, "VNM": 3,
    "THA": 3, "MMR": 3, "LAO": 2, "NGA": 4, "GHA": 2, "SEN": 1, "UGA": 2, "KEN": 1,
    "ETH": 1, "ROU": 3, "BGR": 2, "ALB": 1, "MEX": 3, "HND": 2, "HTI": 2, "COL": 1,
    "BGD": 2, "NPL": 2, "IND": 2, "AFG": 1, "KAZ": 1, "UZB": 2,
}  # fmt: skip
_DESTINATIONS: dict[str, float] = {
    "USA": 20, "RUS": 8, "POL": 3, "MYS": 4, "THA": 3, "TUR": 3, "ARE": 3, "SAU": 2,
    "DEU": 2, "IDN": 2, "PHL": 2, "GBR": 1, "ITA": 1, "IND": 1, "KAZ": 1, "GHA": 1,
}  # fmt: skip
_ADULT_BANDS = AGE_BANDS[2:]
_ADULT_BAND_P = np.array([0.18, 0.18, 0.16, 0.13, 0.2, 0.1, 0.05])

_MEANS_P = {
    "moc_debt_bondage": 0.12, "moc_takes_earnings": 0.2, "moc_restricts_financial_access": 0.05,
    "moc_threats": 0.25, "moc_psychological_abuse": 0.25, "moc_physical_abuse": 0.18,
    "moc_sexual_abuse": 0.1, "moc_false_promises": 0.2, "moc_psychoactive_substances": 0.08,
    "moc_restricts_movement": 0.22, "moc_restricts_medical_care": 0.07,
    "moc_excessive_working_hours": 0.15, "moc_uses_children": 0.02,
    "moc_threat_of_law_enforcement": 0.08, "moc_withholds_necessities": 0.1,
    "moc_withholds_documents": 0.13, "moc_other": 0.1,
}  # fmt: skip
_SECTORS = {
    "labour_agriculture": 0.15, "labour_aquafarming": 0.03, "labour_begging": 0.08,
    "labour_construction": 0.12, "labour_domestic_work": 0.25, "labour_hospitality": 0.07,
    "labour_illicit_activities": 0.03, "labour_manufacturing": 0.08,
    "labour_mining_drilling": 0.02, "labour_peddling": 0.04, "labour_transportation": 0.02,
    "labour_other": 0.11,
}  # fmt: skip
_SEX_TYPES = {
    "sex_prostitution": 0.8, "sex_pornography": 0.1, "sex_remote_interactive": 0.04,
    "sex_private_services": 0.06,
}  # fmt: skip
_OTHER_EXPLOIT = {
    "exploit_forced_marriage": 0.4, "exploit_forced_military": 0.1,
    "exploit_organ_removal": 0.05, "exploit_slavery_practices": 0.2,
}  # fmt: skip


def generate_synthetic(n_rows: int = 50_000, *, seed: int = 0) -> pd.DataFrame:
    """Generate ``n_rows`` canonical CTDC-like records with planted effects.

    Parameters
    ----------
    n_rows
        Number of records, from 1,000 to 1,000,000.
    seed
        Seed of the random generator; the same seed gives the same records.

    Returns
    -------
    pandas.DataFrame
        The canonical frame (see ``docs/canonical_frame.md``); flags are three-state.

    Examples
    --------
    >>> frame = generate_synthetic(2_000, seed=1)
    >>> frame.shape[0]
    2000
    >>> bool(frame["is_child"].mean() > 0.15)
    True
    """
    if not isinstance(n_rows, int) or not MIN_ROWS <= n_rows <= MAX_ROWS:
        raise ValueError(
            f"data.n_rows must be an integer from {MIN_ROWS:,} to {MAX_ROWS:,}; got {n_rows!r}."
        )
    rng = np.random.default_rng(seed)
    n = n_rows
    truth = _draw_people(rng, n)
    flags = _draw_case(rng, n, truth)
    family = _draw_family(rng, n, truth, flags)
    relation = _draw_relation(rng, n, truth, family)
    base, masked = _mask(rng, n, truth, flags, relation)
    frame = assemble_canonical(base, masked, n)
    log.info("generated %d synthetic records (seed %d)", n, seed)
    return frame


def _choice(rng: np.random.Generator, options: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(options))
    p = np.array(list(options.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _draw_people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    is_child = rng.random(n) < 0.25
    young = rng.random(n) < 0.2
    age = np.where(
        is_child,
        np.where(young, "0--8", "9--17"),
        np.array(_ADULT_BANDS)[rng.choice(len(_ADULT_BANDS), size=n, p=_ADULT_BAND_P)],
    )
    gender = np.array(GENDERS)[rng.choice(3, size=n, p=[0.7, 0.295, 0.005])]
    citizenship = _choice(rng, _CITIZENSHIP, n)
    crosses = rng.random(n) < np.where(is_child, 0.45, 0.65)
    destination = _choice(rng, _DESTINATIONS, n)
    # A destination equal to the citizenship is not a border crossing: draw again once, then
    # fall back to the commonest destination or its runner-up.
    same = destination == citizenship
    destination[same] = _choice(rng, _DESTINATIONS, int(same.sum()))
    same = destination == citizenship
    destination[same] = np.where(citizenship[same] == "USA", "RUS", "USA")
    exploitation = np.where(crosses, destination, citizenship)
    at_exploit_minor = is_child | ((age == "18--20") & (rng.random(n) < 0.3))
    return {
        "is_child": is_child,
        "age_band": age,
        "gender": gender,
        "citizenship": citizenship,
        "exploitation": exploitation,
        "cross_border": crosses,
        "majority_status": np.where(is_child, "minor", "adult"),
        "majority_status_at_exploit": np.where(at_exploit_minor, "minor", "adult"),
        # Noise: independent of everything.
        "year": rng.choice(np.arange(2002, 2021), size=n, p=_year_weights()),
        "datasource": np.array(DATASOURCES)[(rng.random(n) < 0.55).astype(int)],
        "trafficking_months": np.array(TRAFFICKING_MONTHS)[
            rng.choice(3, size=n, p=[0.45, 0.3, 0.25])
        ],
    }


def _year_weights() -> np.ndarray:
    w: np.ndarray = np.linspace(1, 6, 2021 - 2002)
    return w / float(w.sum())


def _draw_case(
    rng: np.random.Generator, n: int, truth: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    child = truth["is_child"]
    male = truth["gender"] == "male"
    p_sexual = np.where(child, 0.78, np.where(male, 0.12, 0.55))
    sexual = rng.random(n) < p_sexual
    labour = ~sexual | (rng.random(n) < 0.04)
    other = rng.random(n) < 0.05
    flags: dict[str, np.ndarray] = {
        "exploit_sexual": sexual,
        "exploit_forced_labour": labour,
        "is_abduction": rng.random(n) < 0.03,
    }
    for name, p in _MEANS_P.items():
        flags[name] = rng.random(n) < p
    for name, p in _SECTORS.items():
        flags[name] = labour & (rng.random(n) < p)
    for name, p in _SEX_TYPES.items():
        flags[name] = sexual & (rng.random(n) < p)
    for name, p in _OTHER_EXPLOIT.items():
        flags[name] = other & (rng.random(n) < p)
    flags["exploit_other"] = other
    return flags


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _draw_family(
    rng: np.random.Generator,
    n: int,
    truth: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
) -> np.ndarray:
    uniques, inverse = np.unique(truth["citizenship"], return_inverse=True)
    subregion = np.array([country_info(c).subregion for c in uniques])[inverse]
    abuse = (
        flags["moc_psychological_abuse"] | flags["moc_physical_abuse"] | flags["moc_sexual_abuse"]
    )
    columns = {
        "age_band": truth["age_band"],
        "gender": truth["gender"],
        "cross_border": truth["cross_border"],
        "citizenship_subregion": subregion,
        "means_false_promises": flags["moc_false_promises"],
        "means_abuse_psy_phy_sex": abuse,
    }
    effect = np.zeros(n)
    for planted in PLANTED_EFFECTS:
        effect += planted.log_odds * (columns[planted.column] == planted.level)
    child = truth["is_child"]
    family = np.zeros(n, dtype=bool)
    for group, mask in (("child", child), ("adult", ~child)):
        intercept = _calibrate(effect[mask], TARGET_FAMILY_SHARE[group])
        family[mask] = rng.random(int(mask.sum())) < _sigmoid(intercept + effect[mask])
    return family


def _calibrate(effect: np.ndarray, target: float) -> float:
    """Intercept whose mean predicted probability over this sample equals ``target``."""
    lo, hi = -12.0, 12.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if _sigmoid(mid + effect).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _draw_relation(
    rng: np.random.Generator, n: int, truth: dict[str, np.ndarray], family: np.ndarray
) -> np.ndarray:
    adult_woman = ~truth["is_child"] & (truth["gender"] == "female")
    u = rng.random(n)
    p_partner = np.where(adult_woman, 0.35, 0.12)
    other_rel = np.where(
        u < p_partner, "intimate_partner", np.where(u < p_partner + 0.25, "friend", "other")
    )
    return np.where(family, "family", other_rel)


def _mask(
    rng: np.random.Generator,
    n: int,
    truth: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    relation: np.ndarray,
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    def missing(p: float) -> np.ndarray:
        return rng.random(n) < p

    def category(values: np.ndarray, levels: tuple[str, ...], p_missing: float) -> pd.Series:
        codes_ = pd.Categorical(values, categories=list(levels)).codes
        codes_ = np.where(missing(p_missing), -1, codes_)
        return categorical(codes_, levels)

    def flag(values: np.ndarray, unknown: np.ndarray) -> pd.Series:
        return pd.Series(pd.arrays.BooleanArray(values.astype(bool), unknown.copy()))

    year_na = missing(0.05)
    base: dict[str, pd.Series] = {
        "year_of_registration": pd.Series(
            pd.arrays.IntegerArray(truth["year"].astype(np.int16), year_na)
        ),
        "datasource": category(truth["datasource"], DATASOURCES, 0.0),
        "gender": category(truth["gender"], GENDERS, 0.05),
        "age_band": category(truth["age_band"], AGE_BANDS, 0.15),
        "majority_status": category(truth["majority_status"], MAJORITY, 0.5),
        "majority_status_at_exploit": category(truth["majority_status_at_exploit"], MAJORITY, 0.6),
        "trafficking_months": category(truth["trafficking_months"], TRAFFICKING_MONTHS, 0.7),
    }
    for prefix, key, p_missing in (
        ("citizenship", "citizenship", 0.1),
        ("exploitation", "exploitation", 0.05),
    ):
        base.update(_country_columns(prefix, truth[key], missing(p_missing)))
    means_unknown = missing(0.5)
    exploit_unknown = missing(0.15)
    sector_unknown = exploit_unknown | missing(0.1)
    out_flags: dict[str, pd.Series] = {}
    for name, values in flags.items():
        if name.startswith("moc_"):
            unknown = means_unknown
        elif name.startswith(("labour_", "sex_", "exploit_")):
            unknown = sector_unknown if name.startswith(("labour_", "sex_")) else exploit_unknown
        else:
            unknown = missing(0.3)
        out_flags[name] = flag(values, unknown)
    recruiter_unknown = missing(0.7)
    for rel in ("family", "intimate_partner", "friend", "other"):
        out_flags[f"recruiter_{rel}"] = flag(relation == rel, recruiter_unknown)
    return base, out_flags


def _country_columns(prefix: str, iso3: np.ndarray, unknown: np.ndarray) -> dict[str, pd.Series]:
    levels = sorted(set(iso3.tolist()))
    infos = {c: country_info(c) for c in levels}
    out: dict[str, pd.Series] = {}
    for part in ("iso3", "region", "subregion"):
        labels = np.array([getattr(infos[c], part) for c in levels])
        cats = list(UN_REGIONS) if part == "region" else sorted(set(labels.tolist()))
        position = {lb: i for i, lb in enumerate(cats)}
        per_country = np.array([position[lb] for lb in labels])
        codes_ = per_country[np.searchsorted(np.array(levels), iso3)]
        codes_ = np.where(unknown, -1, codes_)
        out[f"{prefix}_{part}"] = categorical(codes_, cats)
    return out
