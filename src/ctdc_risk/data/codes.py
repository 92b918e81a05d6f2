"""Read one raw CTDC cell into its canonical value.

Each parser takes the raw text of a cell and returns the canonical value, :data:`MISSING` for
the codes that mean "unknown / not recorded" (``-99``, ``Unknown``, blank), or :data:`INVALID`
when the text is not a value the column allows. Parsers accept harmless spelling variants
(case, spaces, dash characters, ``09--17``, ``1.0``, ``Woman`` in an old release) and the caller
counts each such rewrite in the data report.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from ctdc_risk.data.schema import AGE_BANDS

MISSING: Final = None


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()
Parsed = object  # canonical value, MISSING or INVALID

_MISSING_TOKENS = frozenset({"", "-99", "-99.0", "unknown", "not specified", "notspecified"})
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")  # hyphen, en/em dashes, minus sign
EARLIEST_YEAR = 1990

_TRUE = frozenset({"1", "1.0", "true", "yes", "y"})
_FALSE = frozenset({"0", "0.0", "false", "no", "n"})


def _key(token: str) -> str:
    return " ".join(token.strip().lower().split())


def is_missing(token: str) -> bool:
    """True for the cells CTDC uses for "unknown / not recorded"."""
    return _key(token) in _MISSING_TOKENS


def parse_flag(token: str) -> Parsed:
    """``1`` -> True, ``0`` -> False, ``-99`` or blank -> MISSING; ``1.0``, ``yes`` accepted."""
    key = _key(token)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    if key in _MISSING_TOKENS:
        return MISSING
    return INVALID


def parse_age_band(token: str) -> Parsed:
    """``09--17``, ``9-17``, ``9—17`` -> ``9--17``; ``48 +`` -> ``48+``."""
    key = _key(token)
    if key in _MISSING_TOKENS:
        return MISSING
    key = _DASHES.sub("-", key).replace(" ", "")
    if m := re.fullmatch(r"0*(\d+)-+0*(\d+)", key):
        band = f"{int(m[1])}--{int(m[2])}"
    elif m := re.fullmatch(r"0*(\d+)\+", key):
        band = f"{int(m[1])}+"
    else:
        return INVALID
    return band if band in AGE_BANDS else INVALID


_GENDER = {
    "female": "female",
    "woman": "female",
    "male": "male",
    "man": "male",
    "transgender/nonconforming": "trans_nonconforming",
    "trans/transgender/nonconforming": "trans_nonconforming",
    "transgender/non-conforming": "trans_nonconforming",
    "transgender": "trans_nonconforming",
    "trans_nonconforming": "trans_nonconforming",
}


def parse_gender(token: str) -> Parsed:
    """``Female``/``Woman`` -> female, ``Male``/``Man`` -> male, trans spellings -> one level."""
    key = _key(token)
    if key in _MISSING_TOKENS:
        return MISSING
    return _GENDER.get(key, INVALID)


def parse_majority(token: str) -> Parsed:
    key = _key(token)
    if key in _MISSING_TOKENS:
        return MISSING
    return key if key in ("minor", "adult") else INVALID


def parse_datasource(token: str) -> Parsed:
    key = _key(token).replace("_", " ")
    if key in _MISSING_TOKENS:
        return MISSING
    return {"case management": "case_management", "hotline": "hotline"}.get(key, INVALID)


def parse_year(token: str, *, latest: int | None = None) -> Parsed:
    """A registration year between 1990 and the current year."""
    key = _key(token)
    if key in _MISSING_TOKENS:
        return MISSING
    m = re.fullmatch(r"(\d{4})(?:\.0+)?", key)
    if not m:
        return INVALID
    year = int(m[1])
    latest = latest if latest is not None else dt.date.today().year
    return year if EARLIEST_YEAR <= year <= latest else INVALID


def parse_trafficking_months(token: str) -> Parsed:
    """Duration bands of every release -> the coarsest common bands ``0--12, 13--24, 25+``."""
    key = _key(token)
    if key in _MISSING_TOKENS:
        return MISSING
    key = _DASHES.sub("-", key).split("(")[0].replace(" ", "")
    # Both bounds must match a published band: ``0--99`` or ``13+`` are not CTDC bands, and
    # reading them by their lower bound alone would put them in the wrong band.
    band: tuple[int, int | None]
    if m := re.fullmatch(r"0*(\d+)-+0*(\d+)", key):
        band = (int(m[1]), int(m[2]))
    elif m := re.fullmatch(r"0*(\d+)\+", key):
        band = (int(m[1]), None)
    else:
        return INVALID
    return _MONTHS.get(band, INVALID)


# (lower, upper or None for open-ended) -> canonical band. 2021: 0--12, 13--24, 25--60, 61+;
# 2024: 0--12, 13--24, 25+.
_MONTHS: dict[tuple[int, int | None], str] = {
    (0, 12): "0--12",
    (13, 24): "13--24",
    (25, 60): "25+",
    (61, None): "25+",
    (25, None): "25+",
}


_RELATION = {
    "family/relative": "recruiter_family",
    "family": "recruiter_family",
    "relative": "recruiter_family",
    "intimate partner": "recruiter_intimate_partner",
    "friend/acquaintance": "recruiter_friend",
    "friend": "recruiter_friend",
    "other": "recruiter_other",
}


def parse_recruiter_text(token: str) -> Parsed:
    """``Family/Relative;Friend/Acquaintance`` -> frozenset of recruiter flags named in it.

    ``Not Specified`` and ``-99`` mean the relation is unknown (MISSING).
    """
    key = _key(token)
    if key in _MISSING_TOKENS:
        return MISSING
    parts = {p.strip() for p in key.split(";") if p.strip()}
    named = {_RELATION.get(p) for p in parts if p not in _MISSING_TOKENS}
    if None in named:
        return INVALID
    return frozenset(named) if named else MISSING
