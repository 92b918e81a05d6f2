"""Countries in every CTDC spelling map to ISO alpha-3; what cannot be mapped is counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ctdc_risk.data.countries import is_missing_country, map_countries
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
    ],
)
def test_country_spellings_map_to_iso3(raw: str, iso3: str) -> None:
    info = map_countries([raw])[raw]
    assert info is not None
    assert info.iso3 == iso3


def test_region_and_subregion() -> None:
    mapped = map_countries(["NA", "USA", "Burma"])
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
    assert map_countries([raw]) == {raw: None}


def test_ambiguous_name_among_others() -> None:
    mapped = map_countries(["Austria Australia", "Atlantis", "Burma", "PH"])
    assert mapped["Austria Australia"] is None
    assert mapped["Atlantis"] is None
    assert mapped["Burma"].iso3 == "MMR"
    assert mapped["PH"].iso3 == "PHL"


@pytest.mark.parametrize("raw", ["00", "-99", "-99.0", "Unknown", " unknown ", "", "N/A"])
def test_missing_country_codes(raw: str) -> None:
    assert is_missing_country(raw)


@pytest.mark.parametrize("raw", ["NA", "na", "Namibia", "PH", "UNK"])
def test_real_codes_are_not_missing(raw: str) -> None:
    assert not is_missing_country(raw)


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
