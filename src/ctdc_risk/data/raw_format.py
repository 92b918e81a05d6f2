"""Write canonical records in a CTDC release's raw format.

Lets the test suite exercise the loader on every release (CSV, gzip, XLSX, Parquet) without any
real CTDC data in the repository, and lets ``ctdc-risk`` users produce realistic practice files.
Writing is the inverse of harmonisation: reading a written file back gives the canonical frame,
less whatever the release cannot hold (positive-only flags lose "no"; missing columns are unknown).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ctdc_risk.data.countries import iso3_to_iso2, iso3_to_name
from ctdc_risk.data.releases import (
    NOT_SPECIFIED_LABOUR,
    NOT_SPECIFIED_MEANS,
    RECRUITER_UNKNOWN,
    RELEASE_BY_ID,
    SEX_AND_LABOUR,
    Release,
)
from ctdc_risk.data.schema import CANONICAL_NAMES, COLUMN_BY_NAME, FlagSemantics

_GENDER_OLD = {
    "female": "Female",
    "male": "Male",
    "trans_nonconforming": "Transgender/NonConforming",
}
_GENDER_2024 = {
    "female": "Woman",
    "male": "Man",
    "trans_nonconforming": "Trans/Transgender/NonConforming",
}
_MONTHS_2021 = {"0--12": "0--12 (0-1 yr)", "13--24": "13--24 (1-2 yrs)", "25+": "25--60 (2-5 yrs)"}
_MONTHS_2024 = {"0--12": "0--12 (0-1 yr)", "13--24": "13--24 (1-2 yrs)", "25+": "25+ (2+ yrs)"}
_RELATION_TEXT = {
    "recruiter_family": "Family/Relative",
    "recruiter_intimate_partner": "Intimate Partner",
    "recruiter_friend": "Friend/Acquaintance",
    "recruiter_other": "Other",
}
FILE_FORMATS = ("csv", "csv.gz", "xlsx", "parquet")


def to_release_frame(frame: pd.DataFrame, release_id: str, *, seed: int = 0) -> pd.DataFrame:
    """Return ``frame`` (canonical) as the text columns of release ``release_id``.

    For the old global release, a share of rows with a known recruiter get ``-99`` flags (so the
    ``RecruiterRelationship`` text fallback is exercised) and rows with no means of control
    recorded are coded ``meansOfControlNotSpecified = 1``, as in the real files.
    """
    release = RELEASE_BY_ID[release_id]
    # Rows are written by position: a filtered frame keeps its index labels, which would
    # otherwise misalign the columns built as fresh arrays.
    frame = frame.reset_index(drop=True)
    if release.id == "ctdc_risk_canonical":
        return _canonical_text(frame)
    rng = np.random.default_rng(seed)
    missing = "-99" if release.flag_semantics is FlagSemantics.THREE_STATE else ""
    out: dict[str, pd.Series] = {}
    for col, role in release.text.items():
        writer = (
            _TEXT_WRITERS[(role, release.id)]
            if (role, release.id) in _TEXT_WRITERS
            else _TEXT_WRITERS[(role, "*")]
        )
        out[col] = writer(frame, missing)
    for col, name in release.flags.items():
        if col in release.optional and col not in _DEFAULT_OPTIONAL.get(
            release.id, set(release.flags)
        ):
            continue
        out[col] = _flag_text(_internal_flag(frame, name), release, missing)
    if release.id == "global_2017_2021":
        _old_release_quirks(frame, out, rng)
    for col in sorted(release.ignored):
        out[col] = pd.Series([missing] * len(frame))
    ordered = [c for c in _column_order(release) if c in out]
    return pd.DataFrame({c: out[c].reset_index(drop=True) for c in ordered})


# The 2024 release names four sector flags; write those (others are accepted when reading).
_DEFAULT_OPTIONAL: dict[str, set[str]] = {
    "synthetic_2024": {
        "typeOfLabourAgriculture",
        "typeOfLabourConstruction",
        "typeOfLabourDomesticWork",
        "typeOfLabourHospitality",
        "typeOfSexProstitution",
        "typeOfSexPornography",
    },
    "global_2017_2021": {"isSlaveryAndPractices"},
}


def _column_order(release: Release) -> list[str]:
    return [*release.text, *release.flags, *sorted(release.ignored)]


def _internal_flag(frame: pd.DataFrame, name: str) -> pd.Series:
    if name == SEX_AND_LABOUR:
        return frame["exploit_sexual"] & frame["exploit_forced_labour"]
    if name in (NOT_SPECIFIED_MEANS, NOT_SPECIFIED_LABOUR, RECRUITER_UNKNOWN):
        return pd.Series(pd.array([False] * len(frame), dtype="boolean"))
    return frame[name]


def _tristate_text(values: pd.Series, yes: str, no: str, missing: str) -> pd.Series:
    is_yes = values.fillna(False).to_numpy(dtype=bool)
    is_no = (~values.astype("boolean")).fillna(False).to_numpy(dtype=bool)
    return pd.Series(np.where(is_yes, yes, np.where(is_no, no, missing)))


def _flag_text(values: pd.Series, release: Release, missing: str) -> pd.Series:
    # Positive-only releases cannot say "no": a recorded no is written blank, as CTDC does.
    no = "" if release.flag_semantics is FlagSemantics.POSITIVE_ONLY else "0"
    return _tristate_text(values, "1", no, missing)


def _category_text(
    column: str, mapping: dict[str, str] | None = None
) -> Callable[[pd.DataFrame, str], pd.Series]:
    def write(frame: pd.DataFrame, missing: str) -> pd.Series:
        values = frame[column].astype(object)
        mapped = values.map(lambda v: (mapping or {}).get(v, v) if isinstance(v, str) else missing)
        return mapped.astype(str)

    return write


def _year_text(frame: pd.DataFrame, missing: str) -> pd.Series:
    return (
        frame["year_of_registration"]
        .astype(object)
        .map(lambda v: missing if v is pd.NA else str(v))
    )


def _country_text(prefix: str, style: str) -> Callable[[pd.DataFrame, str], pd.Series]:
    def write(frame: pd.DataFrame, missing: str) -> pd.Series:
        col = frame[f"{prefix}_iso3"]
        cats = list(col.cat.categories)
        if style == "iso2":
            names = [iso3_to_iso2(c) for c in cats]
            missing_text = "00" if prefix == "citizenship" else "-99"
        elif style == "name":
            # The 2021 synthetic file mixes cases: some names are upper case.
            names = [iso3_to_name(c) for c in cats]
            names = [nm.upper() if i % 3 == 0 else nm for i, nm in enumerate(names)]
            missing_text = missing
        else:
            names = cats
            missing_text = missing
        lookup = np.array([*names, missing_text], dtype=object)
        return pd.Series(lookup[col.cat.codes.to_numpy()]).astype(str)

    return write


def _age_text(style: str) -> Callable[[pd.DataFrame, str], pd.Series]:
    mapping = {"9--17": "09--17"} if style == "2021" else None
    return _category_text("age_band", mapping)


def _majority_text(column: str) -> Callable[[pd.DataFrame, str], pd.Series]:
    return _category_text(column, {"minor": "Minor", "adult": "Adult"})


def _recruiter_text(frame: pd.DataFrame, missing: str) -> pd.Series:
    names = list(_RELATION_TEXT)
    yes = np.column_stack([frame[n].fillna(False).to_numpy(dtype=bool) for n in names])
    texts = [
        ";".join(_RELATION_TEXT[n] for n, y in zip(names, row, strict=True) if y) for row in yes
    ]
    return pd.Series([t if t else "Not Specified" for t in texts])


_TEXT_WRITERS: dict[tuple[str, str], Callable[[pd.DataFrame, str], pd.Series]] = {
    ("year", "*"): _year_text,
    ("datasource", "*"): _category_text(
        "datasource", {"case_management": "Case Management", "hotline": "Hotline"}
    ),
    ("gender", "*"): _category_text("gender", _GENDER_OLD),
    ("gender", "synthetic_2024"): _category_text("gender", _GENDER_2024),
    ("age_band", "*"): _age_text("old"),
    ("age_band", "synthetic_2021"): _age_text("2021"),
    ("majority_status", "*"): _majority_text("majority_status"),
    ("majority_status_at_exploit", "*"): _majority_text("majority_status_at_exploit"),
    ("trafficking_months", "synthetic_2021"): _category_text("trafficking_months", _MONTHS_2021),
    ("trafficking_months", "synthetic_2024"): _category_text("trafficking_months", _MONTHS_2024),
    ("citizenship", "global_2017_2021"): _country_text("citizenship", "iso2"),
    ("exploitation_country", "global_2017_2021"): _country_text("exploitation", "iso2"),
    ("citizenship", "synthetic_2021"): _country_text("citizenship", "name"),
    ("exploitation_country", "synthetic_2021"): _country_text("exploitation", "name"),
    ("citizenship", "synthetic_2024"): _country_text("citizenship", "iso3"),
    ("exploitation_country", "synthetic_2024"): _country_text("exploitation", "iso3"),
    ("recruiter_text", "*"): _recruiter_text,
}


def _old_release_quirks(
    frame: pd.DataFrame, out: dict[str, pd.Series], rng: np.random.Generator
) -> None:
    n = len(frame)
    recruiter_cols = [
        "recruiterRelationIntimatePartner",
        "recruiterRelationFriend",
        "recruiterRelationFamily",
        "recruiterRelationOther",
    ]
    known = frame["recruiter_known"].to_numpy(dtype=bool)
    unknown = ~known
    # Unknown relation: half coded as the explicit "unknown" flag with zeros elsewhere.
    explicit = unknown & (rng.random(n) < 0.5)
    out["recruiterRelationUnknown"] = pd.Series(
        np.where(explicit, "1", np.where(unknown, "-99", "0"))
    )
    text_only = known & (rng.random(n) < 0.2)
    for col in recruiter_cols:
        values = out[col].to_numpy(dtype=object).copy()
        values[explicit] = "0"
        values[text_only] = "-99"
        out[col] = pd.Series(values)
    means_cols = [
        c for c, v in RELEASE_BY_ID["global_2017_2021"].flags.items() if v.startswith("moc_")
    ]
    none_known = np.logical_and.reduce(
        [frame[RELEASE_BY_ID["global_2017_2021"].flags[c]].isna().to_numpy() for c in means_cols]
    )
    not_specified = none_known & (rng.random(n) < 0.5)
    out["meansOfControlNotSpecified"] = pd.Series(
        np.where(not_specified, "1", np.where(none_known, "-99", "0"))
    )
    for col in means_cols:
        values = out[col].to_numpy(dtype=object).copy()
        values[not_specified] = "0"
        out[col] = pd.Series(values)
    out["typeOfLabourNotSpecified"] = pd.Series(["0"] * n)


def _canonical_text(frame: pd.DataFrame) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for name in CANONICAL_NAMES:
        col = frame[name]
        kind = COLUMN_BY_NAME[name].kind
        if kind in ("flag", "bool"):
            out[name] = _tristate_text(col, "1", "0", "")
        else:
            out[name] = col.astype(object).map(
                lambda v: "" if v is None or v is pd.NA or v != v else str(v)
            )
    return pd.DataFrame(out)


def write_release_file(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    release_id: str,
    *,
    file_format: str = "csv",
    seed: int = 0,
) -> Path:
    """Write canonical ``frame`` to ``path`` as release ``release_id`` in ``file_format``."""
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS}; got {file_format!r}.")
    text = to_release_frame(frame, release_id, seed=seed)
    target = Path(path)
    if file_format == "csv":
        text.to_csv(target, index=False)
    elif file_format == "csv.gz":
        text.to_csv(target, index=False, compression="gzip")
    elif file_format == "xlsx":
        text.to_excel(target, index=False, engine="openpyxl")
    else:
        text.to_parquet(target, index=False)
    return target
