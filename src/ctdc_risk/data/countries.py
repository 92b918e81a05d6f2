"""Countries in any CTDC spelling -> ISO 3166 alpha-3, UN region and UN sub-region.

Old releases write ISO alpha-2 (``NA`` is Namibia, ``00`` unknown), the 2024+ releases alpha-3,
and the 2021 synthetic file country names in mixed spelling and case (``INDONESIA``, ``Russia``,
``Côte d’Ivoire``). Codes, regions and names come from ``country_converter``'s country table;
only its continent label ``America`` is renamed to the UN M49 region name ``Americas``.

Names are matched **exactly** (after folding case, accents, punctuation and a leading "the")
against the table's short and official names and a small list of other names in use
(:data:`_ALIASES`), never by substring: ``country_converter``'s own regular expressions map any
text containing ``gb`` to the United Kingdom and ``Niger Delta`` to Niger. Those expressions are
used only to say *why* a value stayed unmapped (:func:`why_unmapped`).

``NA`` is Namibia only where a release writes ISO alpha-2 codes; elsewhere it is how R writes a
missing value, and :func:`is_missing_country` says so.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

MISSING_COUNTRY_TOKENS = frozenset({"", "00", "-99", "-99.0", "unknown", "not specified", "n/a"})
R_MISSING = "na"
"""How R writes a missing value (``NA``); Namibia's alpha-2 code in the old releases."""

# Why a value that is not missing stayed unmapped: fixed phrases (never the value), so they can
# be counted in the data report and printed.
REASON_SEVERAL = "names more than one country"
REASON_PARTIAL = "only part of it resembles a country name"
REASON_FORMER = "a former country that no longer exists"
REASON_CODE = "a two- or three-letter code that is not an assigned ISO code"
REASON_NOT_TEXT = "not a name (no letters, or a spreadsheet formula)"
REASON_UNKNOWN = "not a known country name or code"

# Names in use that are neither the table's short nor its official name. Each is matched
# exactly after folding (see _key); a name listed here must name one country and only one.
_ALIASES: dict[str, str] = {
    # In CTDC's 2021 synthetic file (CLDR-style English names) or common in case data.
    "Bosnia": "BIH",
    "Bosnia-Herzegovina": "BIH",
    "Brunei": "BRN",
    "Burma": "MMR",
    "Myanmar (Burma)": "MMR",
    "Cape Verde": "CPV",
    "Congo - Brazzaville": "COG",
    "Republic of Congo": "COG",
    "Congo, Rep.": "COG",
    "Congo - Kinshasa": "COD",
    "Democratic Republic of Congo": "COD",
    "Congo, Democratic Republic of the": "COD",
    "Congo, Dem. Rep.": "COD",
    "DRC": "COD",
    "Ivory Coast": "CIV",
    "Czech Republic": "CZE",
    "East Timor": "TLS",
    "Swaziland": "SWZ",
    "Hong Kong SAR China": "HKG",
    "Macao": "MAC",
    "Macao SAR China": "MAC",
    "Iran, Islamic Rep.": "IRN",
    "Lao PDR": "LAO",
    "Macedonia": "MKD",
    "Micronesia": "FSM",
    "Moldova, Republic of": "MDA",
    "Korea, Dem. People's Rep.": "PRK",
    "DPRK": "PRK",
    "Korea, Rep.": "KOR",
    "Palestinian Territories": "PSE",
    "Occupied Palestinian Territory": "PSE",
    "Russian Federation": "RUS",
    "Turkey": "TUR",
    "UK": "GBR",
    "Great Britain": "GBR",
    "Britain": "GBR",
    "USA": "USA",
    "UAE": "ARE",
    "Holy See": "VAT",
    "Vatican City": "VAT",
    "Viet Nam": "VNM",
    "Holland": "NLD",
    "Kyrgyz Republic": "KGZ",
    "Caribbean Netherlands": "BES",
    "Wallis & Futuna": "WLF",
    "Svalbard & Jan Mayen": "SJM",
    "Pitcairn Islands": "PCN",
    "St. Vincent & Grenadines": "VCT",
    "St. Barthélemy": "BLM",
    "U.S. Virgin Islands": "VIR",
    "U.S. Outlying Islands": "UMI",
    "South Georgia & South Sandwich Islands": "SGS",
}
# Short names that, alone, fit more than one country.
_AMBIGUOUS = frozenset({"congo", "korea", "virgin islands"})
_FORMER = frozenset(
    {
        "czechoslovakia",
        "yugoslavia",
        "socialist federal republic of yugoslavia",
        "ussr",
        "soviet union",
        "serbia and montenegro",
        "netherlands antilles",
        "east germany",
        "west germany",
        "german democratic republic",
        "zaire",
    }
)
# Separators between two names in one cell ("Sudan/South Sudan", "Congo or DRC").
_SEPARATORS = re.compile(r"\s*(?:[/,;|+]|\s&\s|\s-\s|\band\b|\bor\b)\s*", re.IGNORECASE)
_FORMULA_START = tuple("=+-@")
_MAX_DIAGNOSED = 10_000


@dataclass(frozen=True)
class CountryInfo:
    iso3: str
    region: str
    subregion: str


@dataclass(frozen=True)
class _Tables:
    by_iso3: dict[str, CountryInfo]
    iso2_to_iso3: dict[str, str]
    by_name: dict[str, str]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]


# Columns country_converter itself reads as whole numbers (nullable); every other column of
# its table is text.
_INTEGER_COLUMNS = (
    "ISOnumeric", "UNcode", "FAOcode", "GBDcode", "EURO", "UN", "UNmember", "obsolete",
    "GEOnumeric",
)  # fmt: skip


@lru_cache(maxsize=1)
def _converter() -> Any:
    import country_converter as coco
    import pandas as pd
    from country_converter.country_converter import COUNTRY_DATA_FILE

    # coco logs a warning per unmatched name; we count unmatched values ourselves.
    logging.getLogger("country_converter").setLevel(logging.ERROR)
    # coco's own read of its table turns Namibia's ISO2 code "NA" into a missing value under
    # pandas 3 (and then fails compiling it as a pattern), so the table is read here as text
    # with only blank cells missing, and handed to coco as data.
    table = pd.read_csv(
        COUNTRY_DATA_FILE, sep="\t", encoding="utf-8", dtype=str, keep_default_na=False,
        na_values=[""],
    )  # fmt: skip
    table = table.astype({c: "Int64" for c in _INTEGER_COLUMNS if c in table.columns})
    return coco.CountryConverter(country_data=table)


def _key(text: str) -> str:
    """Fold a name for exact matching: case, accents, punctuation, ``&``, ``St.``, "the"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"['’‘`´.]", "", text.replace("&", " and "))
    words = re.sub(r"[\W_]+", " ", text).split()
    words = ["saint" if w == "st" else w for w in words]
    if words[:1] == ["the"]:
        words = words[1:]
    if words[-1:] == ["the"]:  # "Gambia, The"
        words = words[:-1]
    return " ".join(words)


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    data = _converter().data
    by_iso3: dict[str, CountryInfo] = {}
    iso2_to_iso3: dict[str, str] = {}
    by_name: dict[str, str] = {}
    patterns: list[tuple[str, re.Pattern[str]]] = []

    def add_name(name: str, iso3: str) -> None:
        key = _key(name)
        if by_name.setdefault(key, iso3) != iso3:  # pragma: no cover - a table error
            raise AssertionError(f"country name key {key!r} names {by_name[key]} and {iso3}")

    for iso2, iso3, continent, subregion, short, official, regex in zip(
        data["ISO2"],
        data["ISO3"],
        data["continent"],
        data["UNregion"],
        data["name_short"],
        data["name_official"],
        data["regex"],
        strict=True,
    ):
        iso3 = str(iso3)
        region = "Americas" if continent == "America" else str(continent)
        by_iso3[iso3] = CountryInfo(iso3, region, str(subregion))
        # A few ISO2 cells are patterns (``^GB$|^UK$``, ``^GR$|^EL$``): the first is the ISO
        # code; the second (UK, EL) is an EU convention, not ISO.
        iso2_to_iso3[re.findall(r"[A-Z]{2}", str(iso2))[0]] = iso3
        add_name(str(short), iso3)
        add_name(str(official), iso3)
        patterns.append((iso3, re.compile(str(regex), re.IGNORECASE)))
    for alias, iso3 in _ALIASES.items():
        add_name(alias, iso3)
    return _Tables(by_iso3, iso2_to_iso3, by_name, tuple(patterns))


def is_missing_country(token: str, *, alpha2: bool) -> bool:
    """True for the codes that mean an unknown country (``00``, ``-99``, ``Unknown``, blank).

    ``NA`` (or ``na``) counts as missing unless the release writes ISO alpha-2 codes
    (``alpha2=True``), where it is Namibia.

    Examples
    --------
    >>> is_missing_country("NA", alpha2=True), is_missing_country("NA", alpha2=False)
    (False, True)
    """
    key = token.strip().lower()
    return key in MISSING_COUNTRY_TOKENS or (key == R_MISSING and not alpha2)


def is_r_missing(token: str) -> bool:
    """True for ``NA`` / ``na``: R's missing value, and Namibia's alpha-2 code."""
    return token.strip().lower() == R_MISSING


def country_info(iso3: str) -> CountryInfo:
    """Region and sub-region of an ISO alpha-3 code known to country_converter."""
    return _tables().by_iso3[iso3]


def iso3_to_iso2(iso3: str) -> str:
    """ISO alpha-2 code of an alpha-3 code (used to write old-release files)."""
    inverse = {v: k for k, v in _tables().iso2_to_iso3.items()}
    return inverse[iso3]


def iso3_to_name(iso3: str) -> str:
    """Short English name of an alpha-3 code (used to write 2021 synthetic-release files)."""
    return str(_converter().convert(iso3, src="ISO3", to="name_short"))


def map_countries(values: Iterable[str], *, alpha2: bool) -> dict[str, CountryInfo | None]:
    """Map distinct raw country values; ``None`` marks values that could not be mapped.

    Two letters are read as ISO alpha-2, three letters as alpha-3, and anything else (or a code
    that is not assigned) as a country name, matched exactly. ``alpha2`` says whether the
    release writes alpha-2 codes: only then is ``NA`` Namibia (otherwise it is missing, see
    :func:`is_missing_country`, and maps to ``None`` here).

    Examples
    --------
    >>> vals = ["NA", "INDONESIA", "Russia", "PHL", "Atlantis", "Sudan/South Sudan"]
    >>> m = map_countries(vals, alpha2=True)
    >>> [m[v].iso3 if m[v] else None for v in vals]
    ['NAM', 'IDN', 'RUS', 'PHL', None, None]
    >>> map_countries(["NA"], alpha2=False)
    {'NA': None}
    """
    return {raw: _map_one(raw, alpha2=alpha2) for raw in dict.fromkeys(values)}


def _map_one(raw: str, *, alpha2: bool) -> CountryInfo | None:
    t = _tables()
    token = raw.strip()
    code = token.upper()
    if is_missing_country(token, alpha2=alpha2) or token[:1] in _FORMULA_START:
        return None  # a formula (``=PERU``) is never read as the country it would show
    if len(code) == 2 and code in t.iso2_to_iso3:
        return t.by_iso3[t.iso2_to_iso3[code]]
    if len(code) == 3 and code in t.by_iso3:
        return t.by_iso3[code]
    iso3 = t.by_name.get(_key(token))
    return t.by_iso3[iso3] if iso3 is not None else None


def why_unmapped(values: Iterable[str]) -> dict[str, str]:
    """The reason (one of the ``REASON_*`` phrases) each unmapped value could not be mapped.

    Diagnosis uses ``country_converter``'s loose regular expressions, which are never used to
    map: a value two of them match (or whose parts name two countries) names more than one
    country; a value one of them matches is a partial name.

    Examples
    --------
    >>> why_unmapped(["Sudan/South Sudan", "Niger Delta", "Czechoslovakia", "XX", "Atlantis"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'Sudan/South Sudan': 'names more than one country',
     'Niger Delta': 'only part of it resembles a country name',
     'Czechoslovakia': 'a former country that no longer exists',
     'XX': 'a two- or three-letter code that is not an assigned ISO code',
     'Atlantis': 'not a known country name or code'}
    """
    out: dict[str, str] = {}
    for i, raw in enumerate(dict.fromkeys(values)):
        out[raw] = _reason(raw.strip()) if i < _MAX_DIAGNOSED else REASON_UNKNOWN
    return out


def _reason(token: str) -> str:
    if not re.search(r"[^\W\d_]", token) or token[:1] in _FORMULA_START:
        return REASON_NOT_TEXT
    if re.fullmatch(r"[A-Za-z]{2,3}", token):
        return REASON_CODE
    key = _key(token)
    if key in _FORMER:
        return REASON_FORMER
    if key in _AMBIGUOUS:
        return REASON_SEVERAL
    parts = [p for p in _SEPARATORS.split(token) if p.strip()]
    if len(parts) > 1 and len({c for p in parts for c in _loose_matches(p)}) > 1:
        return REASON_SEVERAL
    matches = _loose_matches(token)
    if len(matches) > 1:
        return REASON_SEVERAL
    return REASON_PARTIAL if matches else REASON_UNKNOWN


def _loose_matches(text: str) -> set[str]:
    t = _tables()
    exact = _map_one(text, alpha2=True)
    if exact is not None:
        return {exact.iso3}
    return {iso3 for iso3, pattern in t.patterns if pattern.search(text)}
