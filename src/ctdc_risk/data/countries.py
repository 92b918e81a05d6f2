"""Countries in any CTDC spelling -> ISO 3166 alpha-3, UN region and UN sub-region.

Old releases write ISO alpha-2 (``NA`` is Namibia, ``00`` unknown), the 2024+ releases alpha-3,
and the 2021 synthetic file country names in mixed spelling and case (``INDONESIA``, ``Russia``,
``Burma``). The mapping comes from ``country_converter`` (maintained, regex-based name matching),
not from a table of our own; only its continent label ``America`` is renamed to the UN M49
region name ``Americas``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

MISSING_COUNTRY_TOKENS = frozenset({"", "00", "-99", "-99.0", "unknown", "not specified", "n/a"})
_NOT_FOUND = "\x00not-found"


@dataclass(frozen=True)
class CountryInfo:
    iso3: str
    region: str
    subregion: str


@lru_cache(maxsize=1)
def _converter() -> Any:
    import country_converter as coco

    # coco logs a warning per unmatched name; we count unmatched values ourselves.
    logging.getLogger("country_converter").setLevel(logging.ERROR)
    return coco.CountryConverter()


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, CountryInfo], dict[str, str], dict[str, str]]:
    data = _converter().data
    by_iso3: dict[str, CountryInfo] = {}
    iso2_to_iso3: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for iso2, iso3, continent, subregion, short, official in zip(
        data["ISO2"],
        data["ISO3"],
        data["continent"],
        data["UNregion"],
        data["name_short"],
        data["name_official"],
        strict=True,
    ):
        region = "Americas" if continent == "America" else str(continent)
        by_iso3[str(iso3)] = CountryInfo(str(iso3), region, str(subregion))
        iso2_to_iso3[str(iso2)] = str(iso3)
        # Exact names first (fast); coco's regexes catch every other spelling.
        by_name[str(short).lower()] = str(iso3)
        by_name[str(official).lower()] = str(iso3)
    return by_iso3, iso2_to_iso3, by_name


def is_missing_country(token: str) -> bool:
    """True for the codes CTDC uses for an unknown country (``00``, ``-99``, ``Unknown``, blank)."""
    return token.strip().lower() in MISSING_COUNTRY_TOKENS


def country_info(iso3: str) -> CountryInfo:
    """Region and sub-region of an ISO alpha-3 code known to country_converter."""
    return _tables()[0][iso3]


def iso3_to_iso2(iso3: str) -> str:
    """ISO alpha-2 code of an alpha-3 code (used to write old-release files)."""
    inverse = {v: k for k, v in _tables()[1].items()}
    return inverse[iso3]


def iso3_to_name(iso3: str) -> str:
    """Short English name of an alpha-3 code (used to write 2021 synthetic-release files)."""
    return str(_converter().convert(iso3, src="ISO3", to="name_short"))


def map_countries(values: list[str]) -> dict[str, CountryInfo | None]:
    """Map distinct raw country values; ``None`` marks values that could not be mapped.

    Two letters are read as ISO alpha-2 (so ``NA`` is Namibia), three letters as alpha-3, and
    anything else (or a code that is not assigned) as a country name.

    Examples
    --------
    >>> m = map_countries(["NA", "INDONESIA", "Russia", "PHL", "Atlantis"])
    >>> [m[v].iso3 if m[v] else None for v in ["NA", "INDONESIA", "Russia", "PHL", "Atlantis"]]
    ['NAM', 'IDN', 'RUS', 'PHL', None]
    """
    by_iso3, iso2_to_iso3, by_name = _tables()
    result: dict[str, CountryInfo | None] = {}
    names: list[str] = []
    for raw in values:
        token = raw.strip()
        code = token.upper()
        if re.fullmatch(r"[A-Z]{2}", code) and code in iso2_to_iso3:
            result[raw] = by_iso3[iso2_to_iso3[code]]
        elif re.fullmatch(r"[A-Z]{3}", code) and code in by_iso3:
            result[raw] = by_iso3[code]
        elif " ".join(token.lower().split()) in by_name:
            result[raw] = by_iso3[by_name[" ".join(token.lower().split())]]
        elif not re.search(r"[^\W\d_]", token) or token[:1] in "=+-@":
            result[raw] = None  # no letters at all, or a formula: never a country name
        else:
            names.append(raw)
    if names:
        converted = _converter().convert(
            [n.strip() for n in names], src="regex", to="ISO3", not_found=_NOT_FOUND
        )
        if len(names) == 1:
            # coco unwraps a one-name list: a str, or a list of matches if it is ambiguous.
            converted = [converted]
        for raw, iso3 in zip(names, converted, strict=True):
            # A name matching several countries comes back as a list: ambiguous, so unmapped.
            ok = isinstance(iso3, str) and iso3 in by_iso3
            result[raw] = by_iso3[iso3] if ok else None
    return result
