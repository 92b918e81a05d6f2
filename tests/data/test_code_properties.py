"""Property tests of the cell parsers and of three-state flag merging (deterministic)."""

from __future__ import annotations

import itertools

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ctdc_risk.data import codes
from ctdc_risk.data.canonical import _any_of, assemble_canonical
from ctdc_risk.data.schema import AGE_BANDS, MEANS_MERGE, SECTOR_MERGE

PROPERTY = settings(derandomize=True, database=None, max_examples=200, deadline=None)

DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212"]
MISSING_TOKENS = ["", "-99", "-99.0", "unknown", "not specified", "notspecified"]
WHITESPACE = st.text(alphabet=" \t\u00a0", max_size=3)


def _padded(number: int, zeros: int) -> str:
    return "0" * zeros + str(number)


@st.composite
def band_spellings(draw: st.DrawFn) -> tuple[str, str]:
    band = draw(st.sampled_from(AGE_BANDS))
    lead, trail = draw(WHITESPACE), draw(WHITESPACE)
    if band.endswith("+"):
        low = int(band[:-1])
        gap = draw(st.sampled_from(["", " ", "  "]))
        spelled = _padded(low, draw(st.integers(0, 3))) + gap + "+"
    else:
        low, high = (int(part) for part in band.split("--"))
        dash = "".join(draw(st.lists(st.sampled_from(DASHES), min_size=1, max_size=3)))
        gap_l, gap_r = draw(st.sampled_from(["", " "])), draw(st.sampled_from(["", " "]))
        spelled = (
            _padded(low, draw(st.integers(0, 3)))
            + gap_l
            + dash
            + gap_r
            + _padded(high, draw(st.integers(0, 3)))
        )
    return lead + spelled + trail, band


@PROPERTY
@given(band_spellings())
def test_parse_age_band_accepts_every_padding_and_dash(spelling: tuple[str, str]) -> None:
    text, band = spelling
    assert codes.parse_age_band(text) == band


@PROPERTY
@given(st.text(max_size=12))
def test_parse_age_band_returns_only_bands_missing_or_invalid(text: str) -> None:
    parsed = codes.parse_age_band(text)
    assert parsed is codes.MISSING or parsed is codes.INVALID or parsed in AGE_BANDS


@st.composite
def missing_spellings(draw: st.DrawFn) -> str:
    token = draw(st.sampled_from(MISSING_TOKENS))
    flips = draw(st.lists(st.booleans(), min_size=len(token), max_size=len(token)))
    token = "".join(c.upper() if f else c for c, f in zip(token, flips, strict=True))
    return draw(WHITESPACE) + token + draw(WHITESPACE)


@PROPERTY
@given(missing_spellings())
def test_parse_flag_reads_every_missing_token_as_missing(token: str) -> None:
    assert codes.is_missing(token)
    assert codes.parse_flag(token) is codes.MISSING


@PROPERTY
@given(st.one_of(missing_spellings(), st.text(max_size=8)))
def test_parse_flag_never_turns_a_missing_token_into_no(token: str) -> None:
    parsed = codes.parse_flag(token)
    if codes.is_missing(token):
        assert parsed is codes.MISSING
    if parsed is False:
        assert token.strip().lower() in {"0", "0.0", "false", "no", "n"}


def _kleene_or(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def _flag(values: list[bool | None]) -> pd.Series:
    return pd.Series(pd.array(values, dtype="boolean"))


THREE_STATE = st.sampled_from([True, False, None])


@st.composite
def flag_arrays(draw: st.DrawFn) -> list[list[bool | None]]:
    n_rows = draw(st.integers(1, 40))
    n_parts = draw(st.integers(1, 5))
    row = st.lists(THREE_STATE, min_size=n_rows, max_size=n_rows)
    return draw(st.lists(row, min_size=n_parts, max_size=n_parts))


@PROPERTY
@given(flag_arrays())
def test_merging_three_state_flags_is_kleene_or(parts: list[list[bool | None]]) -> None:
    merged = _any_of(_flag(p) for p in parts)
    expected = [_kleene_or(list(column)) for column in zip(*parts, strict=True)]
    assert [None if pd.isna(v) else bool(v) for v in merged] == expected


MERGED = {
    "means_debt_bondage_earnings": MEANS_MERGE["means_debt_bondage_earnings"],
    "means_threats": MEANS_MERGE["means_threats"],
    "sector_agriculture": SECTOR_MERGE["sector_agriculture"],
}


def test_merged_groups_in_the_canonical_frame_follow_kleene_or() -> None:
    # Every combination of member states, through the function harmonisation really uses.
    combos = list(itertools.product([True, False, None], repeat=3))
    table: dict[str, list[bool | None]] = {}
    for members in MERGED.values():
        for i, member in enumerate(members):
            table[member] = [combo[i] for combo in combos]
    n = len(combos)
    frame = assemble_canonical({}, {name: _flag(v) for name, v in table.items()}, n)
    for group, members in MERGED.items():
        expected = [_kleene_or([table[m][i] for m in members]) for i in range(n)]
        assert [None if pd.isna(v) else bool(v) for v in frame[group]] == expected, group
        for member in members:
            assert [None if pd.isna(v) else bool(v) for v in frame[member]] == table[member]
