"""Declarative check of the canonical frame (pandera), run after every harmonisation.

Harmonisation already refuses cells a release does not allow; this schema is the second line:
it states what every later stage may assume (dtypes, levels, year range, and the rules tying
derived columns to their sources) and fails loudly if harmonisation ever breaks them.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pandas as pd

from ctdc_risk.data.codes import EARLIEST_YEAR
from ctdc_risk.data.schema import CANONICAL_COLUMNS, CHILD_AGE_BANDS, RECRUITER_FLAGS
from ctdc_risk.errors import DataValueError


@lru_cache(maxsize=1)
def canonical_schema() -> Any:
    """The pandera schema of the canonical frame (built once; pandera imports lazily)."""
    import pandera.pandas as pa

    columns: dict[str, Any] = {}
    for col in CANONICAL_COLUMNS:
        if col.kind in ("flag", "bool"):
            columns[col.name] = pa.Column("boolean", nullable=True)
        elif col.kind == "year":
            columns[col.name] = pa.Column(
                "Int16",
                pa.Check.in_range(EARLIEST_YEAR, dt.date.today().year),
                nullable=True,
            )
        elif col.kind == "iso3":
            columns[col.name] = pa.Column(
                "category", pa.Check.str_matches(r"^[A-Z]{3}$"), nullable=True
            )
        elif col.levels:
            columns[col.name] = pa.Column("category", pa.Check.isin(col.levels), nullable=True)
        else:
            columns[col.name] = pa.Column("category", nullable=True)
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(_child_follows_age, error="is_child disagrees with age_band"),
            pa.Check(_cross_border_known, error="cross_border known without both countries"),
            pa.Check(_recruiter_known, error="recruiter_known disagrees with recruiter flags"),
        ],
        strict=True,
        ordered=True,
        name="canonical CTDC frame",
    )


def _child_follows_age(df: pd.DataFrame) -> pd.Series:
    by_age = df["child_status_source"] == "age_band"
    expected = df["age_band"].isin(CHILD_AGE_BANDS)
    return ~by_age | (df["is_child"].astype("boolean") == expected).fillna(False)


def _cross_border_known(df: pd.DataFrame) -> pd.Series:
    both = df["citizenship_iso3"].notna() & df["exploitation_iso3"].notna()
    return df["cross_border"].notna() == both


def _recruiter_known(df: pd.DataFrame) -> pd.Series:
    any_yes = pd.concat([df[c].fillna(False) for c in RECRUITER_FLAGS], axis=1).any(axis=1)
    return df["recruiter_known"].fillna(False) == any_yes


def validate_canonical(frame: pd.DataFrame, *, source: str) -> None:
    """Check the canonical frame against the schema.

    Raises
    ------
    DataValueError
        Naming the column and check that failed (never the values).
    """
    import pandera.errors

    try:
        canonical_schema().validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        failures = exc.failure_cases
        parts = sorted(
            {
                f"{col or 'frame'}: {check}"
                for col, check in zip(failures["column"], failures["check"], strict=True)
            }
        )
        raise DataValueError(
            f"{source}: the harmonised data broke the canonical schema ({'; '.join(parts[:10])}). "
            "This is a bug in ctdc_risk's harmonisation; please report it with the release name."
        ) from None
