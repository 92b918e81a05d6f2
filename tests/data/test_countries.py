"""Countries in every CTDC spelling map to ISO alpha-3; what cannot be mapped is counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ctdc_risk.data.countries import (
    REASON_CODE,
    REASON_FORMER,
    REASON_NOT_TEXT,
    REASON_PARTIAL,
    REASON_SEVERAL,
    REASON_UNKNOWN,
    country_info,
    is_missing_country,
    map_countries,
    why_unmapped,
)
from ctdc_risk.data.load import load_dataset


@pytest.mark.parametrize(
    ("raw", "iso3"),
    [
        pytest.param("NA", "NAM", id="NA_is_Namibia"),
        pytest.param(" NA ", "NAM", id="NA_padded"),
        pytest.param("PH", "PHL", id="iso2"),
        pytest.param("ZA", "ZAF", id="iso2_south_africa"),
        pytest.param("UKR", "UKR", id="iso3"),
        pytest.param("phl", "PHL", id="iso3_lower"),
        pytest.param("INDONESIA", "IDN", id="name_upper"),
        pytest.param("indonesia", "IDN", id="name_lower"),
        pytest.param("Russia", "RUS", id="Russia"),
        pytest.param("Burma", "MMR", id="Burma"),
        pytest.param("Swaziland", "SWZ", id="Swaziland"),
        pytest.param("United States", "USA", id="United_States"),
        pytest.param("UNITED  STATES", "USA", id="United_States_upper_double_space"),
        pytest.param("Côte d'Ivoire", "CIV", id="accented_name"),
        pytest.param("Namibia", "NAM", id="Namibia_by_name"),
        pytest.param("GB", "GBR", id="iso2_GB"),
        pytest.param("GR", "GRC", id="iso2_GR_Greece"),
        pytest.param("UK", "GBR", id="UK"),
        pytest.param("U.S.A.", "USA", id="USA_dotted"),
        pytest.param("The Gambia", "GMB", id="leading_the"),
        pytest.param("Gambia, The", "GMB", id="trailing_the"),
        pytest.param("St. Lucia", "LCA", id="St_is_Saint"),
        pytest.param("Trinidad & Tobago", "TTO", id="ampersand"),
        pytest.param("Côte d’Ivoire", "CIV", id="curly_apostrophe"),
        pytest.param("CURAÇAO", "CUW", id="accent_upper"),
        pytest.param("Congo - Brazzaville", "COG", id="Congo_Brazzaville"),
        pytest.param("Congo - Kinshasa", "COD", id="Congo_Kinshasa"),
        pytest.param("Czech Republic", "CZE", id="official_name"),
        pytest.param("TURKEY", "TUR", id="Turkey"),
    ],
)
def test_country_spellings_map_to_iso3(raw: str, iso3: str) -> None:
    info = map_countries([raw], alpha2=True)[raw]
    assert info is not None
    assert info.iso3 == iso3


def test_region_and_subregion() -> None:
    mapped = map_countries(["NA", "USA", "Burma"], alpha2=True)
    assert (mapped["NA"].region, mapped["NA"].subregion) == ("Africa", "Southern Africa")
    assert mapped["USA"].region == "Americas"
    assert mapped["Burma"].subregion == "South-eastern Asia"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('=HYPERLINK("http://example.org","Peru")', id="formula"),
        pytest.param("+PE", id="plus_prefix"),
        pytest.param("@PE", id="at_prefix"),
        pytest.param("Atlantis", id="fiction"),
        pytest.param("XX", id="unassigned_iso2"),
        pytest.param("XXX", id="unassigned_iso3"),
        pytest.param("12345", id="digits"),
        pytest.param("Austria Australia", id="ambiguous_name_alone"),
    ],
)
def test_unmappable_values_are_none(raw: str) -> None:
    assert map_countries([raw], alpha2=True) == {raw: None}


def test_ambiguous_name_among_others() -> None:
    mapped = map_countries(["Austria Australia", "Atlantis", "Burma", "PH"], alpha2=True)
    assert mapped["Austria Australia"] is None
    assert mapped["Atlantis"] is None
    assert mapped["Burma"].iso3 == "MMR"
    assert mapped["PH"].iso3 == "PHL"


@pytest.mark.parametrize("raw", ["00", "-99", "-99.0", "Unknown", " unknown ", "", "N/A"])
def test_missing_country_codes(raw: str) -> None:
    assert is_missing_country(raw, alpha2=True)
    assert is_missing_country(raw, alpha2=False)


@pytest.mark.parametrize("raw", ["NA", "na", "Namibia", "PH", "UNK"])
def test_real_codes_are_not_missing(raw: str) -> None:
    assert not is_missing_country(raw, alpha2=True)


def test_loaded_file_counts_unmapped_countries_with_privacy_floor(
    write_old_release: Callable[..., Path],
) -> None:
    rows = (
        [{"citizenship": "Atlantis"}] * 3
        + [{"citizenship": "Lemuria"}]
        + [{"citizenship": "NA", "CountryOfExploitation": "ZA"}] * 2
        + [{"citizenship": "00", "CountryOfExploitation": "-99"}]
    )
    dataset = load_dataset(write_old_release(rows), k=3)
    report = dataset.report
    assert report.unmapped_countries == {
        "citizenship": {
            "n_cells": 4,
            "n_values": 2,
            "values_with_at_least_k_cells": {"Atlantis": 3},
            "cells_in_rarer_values": 1,
            "cells_by_reason": {REASON_UNKNOWN: 4},
        }
    }
    assert "Lemuria" not in str(report.to_dict())
    assert "Lemuria" not in "\n".join(report.summary_lines(10))
    # Issue 14: 4 cells minus the 3 shown would give Lemuria's one cell back: total withheld.
    published = report.published(3)["unmapped_countries"]["citizenship"]
    assert published["n_cells"] == "suppressed" and published["cells_in_rarer_values"] == "<3"
    assert "some cells unmapped" in "\n".join(report.summary_lines(3))
    frame = dataset.frame
    assert frame["citizenship_iso3"].tolist()[4:6] == ["NAM", "NAM"]
    assert frame["citizenship_iso3"].isna().sum() == 5  # 4 unmapped + 1 coded unknown
    # 6 exploitation countries mapped (RU default, ZA) + 2 citizenships (NA); 4 unmapped.
    assert report.country_mapped_share == pytest.approx(8 / 12, abs=1e-6)


def test_rare_unmapped_country_is_never_listed(write_old_release: Callable[..., Path]) -> None:
    rows = [{"CountryOfExploitation": "Lemuria"}] + [{}] * 3
    report = load_dataset(write_old_release(rows)).report  # default k = 10
    entry = report.unmapped_countries["CountryOfExploitation"]
    assert entry["values_with_at_least_k_cells"] == {}
    assert entry["cells_in_rarer_values"] == 1
    assert "Lemuria" not in str(report.to_dict())


# --- no substring or loose matching (issue 14, section 3) -------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("xgbz", REASON_PARTIAL, id="gb_inside_junk"),
        pytest.param("rugby", REASON_PARTIAL, id="gb_inside_a_word"),
        pytest.param("Niger Delta", REASON_PARTIAL, id="Niger_Delta"),
        pytest.param("England", REASON_PARTIAL, id="part_of_a_country"),
        pytest.param("Sudan/South Sudan", REASON_SEVERAL, id="Sudan_or_South_Sudan"),
        pytest.param("Congo/DRC", REASON_SEVERAL, id="Congo_or_DRC"),
        pytest.param("Congo", REASON_SEVERAL, id="Congo_alone"),
        pytest.param("Korea", REASON_SEVERAL, id="Korea_alone"),
        pytest.param("Austria Australia", REASON_SEVERAL, id="two_names"),
        pytest.param("Czechoslovakia", REASON_FORMER, id="Czechoslovakia"),
        pytest.param("Yugoslavia", REASON_FORMER, id="Yugoslavia"),
        pytest.param("EL", REASON_CODE, id="EU_code_for_Greece"),
        pytest.param("XXX", REASON_CODE, id="unassigned_alpha3"),
        pytest.param("=PERU", REASON_NOT_TEXT, id="formula_showing_a_country"),
        pytest.param("Atlantis", REASON_UNKNOWN, id="fiction"),
    ],
)
def test_partial_ambiguous_and_former_names_stay_unmapped_with_a_reason(
    raw: str, reason: str
) -> None:
    assert map_countries([raw], alpha2=False) == {raw: None}
    assert map_countries([raw], alpha2=True) == {raw: None}
    assert why_unmapped([raw]) == {raw: reason}


@pytest.mark.parametrize("raw", ["NA", "na", " Na "])
def test_na_is_namibia_only_where_the_release_writes_alpha2(raw: str) -> None:
    assert map_countries([raw], alpha2=True)[raw].iso3 == "NAM"  # type: ignore[union-attr]
    assert map_countries([raw], alpha2=False) == {raw: None}
    assert is_missing_country(raw, alpha2=False)
    assert not is_missing_country(raw, alpha2=True)
    assert map_countries(["Namibia", "NAM"], alpha2=False)["Namibia"].iso3 == "NAM"  # type: ignore[union-attr]


def test_the_suite_runs_on_pandas_3() -> None:
    """constraints.txt pins pandas 3, whose text dtype and missing-value reading the country
    table must survive (Namibia's "NA")."""
    import pandas as pd

    assert int(pd.__version__.split(".")[0]) == 3
    assert country_info("NAM").region == "Africa"
    assert map_countries(["NA"], alpha2=True)["NA"] == country_info("NAM")


def test_every_table_name_maps_back_to_its_country() -> None:
    """Exact matching loses no country: each short and official name maps to its own code."""
    from ctdc_risk.data.countries import _converter

    data = _converter().data  # coco's table as ctdc_risk reads it (Namibia's "NA" kept)
    names = [*data["name_short"], *data["name_official"]]
    iso3 = [*data["ISO3"], *data["ISO3"]]
    mapped = map_countries([str(n).upper() for n in names], alpha2=False)
    assert [mapped[str(n).upper()].iso3 for n in names] == iso3  # type: ignore[union-attr]
