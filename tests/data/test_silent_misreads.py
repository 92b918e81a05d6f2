"""Silent misreads (issue 14, section 3): each class is read right, or refused, from real files.

Every file is written in ``tmp_path`` in its real format (CSV, or XLSX built with openpyxl),
then loaded through the same call a study uses.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.data.countries import REASON_FORMER, REASON_PARTIAL, REASON_SEVERAL
from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import to_release_frame
from ctdc_risk.data.synthetic import generate_synthetic


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return generate_synthetic(1_000, seed=14)


def _release_text(frame: pd.DataFrame, release_id: str, n: int = 40) -> pd.DataFrame:
    return to_release_frame(frame.head(n), release_id).reset_index(drop=True)


def _write(text: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".xlsx":
        buf = io.BytesIO()
        text.to_excel(buf, index=False, engine="openpyxl")
        path.write_bytes(buf.getvalue())
    else:
        path.write_text(text.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    return path


# --- NA: R's missing value, Namibia's code only in alpha-2 releases ------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("release_id", ["synthetic_2021", "synthetic_2024"])
def test_na_is_missing_and_counted_where_the_release_does_not_write_alpha2(
    tmp_path: Path, synthetic: pd.DataFrame, release_id: str, suffix: str
) -> None:
    text = _release_text(synthetic, release_id)
    text.loc[0:3, "citizenship"] = "NA"
    text.loc[4, "citizenship"] = "na"
    text.loc[5, "CountryOfExploitation"] = "NA"
    dataset = load_dataset(_write(text, tmp_path / f"from_r{suffix}"))
    frame, report = dataset.frame, dataset.report
    assert frame["citizenship_iso3"].iloc[0:5].isna().all()
    assert pd.isna(frame["exploitation_iso3"].iloc[5])
    assert "NAM" not in set(frame["citizenship_iso3"].dropna())
    assert report.country_na_as_missing == {"citizenship": 5, "CountryOfExploitation": 1}
    assert report.unmapped_countries == {}
    assert report.country_mapped_share == 1.0  # missing, so not counted as mapped or unmapped
    assert any("6 cells 'NA' read as missing" in line for line in report.summary_lines())
    assert report.published(k=10)["country_na_as_missing"] == {
        "citizenship": "<10",
        "CountryOfExploitation": "<10",
    }


def test_na_and_lower_case_na_stay_namibia_in_the_alpha2_release(
    write_old_release: Callable[..., Path],
) -> None:
    rows = [{"citizenship": "NA"}, {"citizenship": "na"}, {"CountryOfExploitation": "na"}]
    dataset = load_dataset(write_old_release(rows))
    assert dataset.frame["citizenship_iso3"].tolist() == ["NAM", "NAM", "UKR"]
    assert dataset.frame["exploitation_iso3"].tolist() == ["RUS", "RUS", "NAM"]
    assert dataset.report.country_na_as_missing == {}


# --- country names: exact, never by substring -----------------------------------------------------

_LOOSE = {
    "xgbz": (1, REASON_PARTIAL),
    "Niger Delta": (2, REASON_PARTIAL),
    "Sudan/South Sudan": (12, REASON_SEVERAL),
    "Congo/DRC": (3, REASON_SEVERAL),
    "Czechoslovakia": (2, REASON_FORMER),
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_partial_and_ambiguous_names_stay_unmapped_counted_by_reason(
    tmp_path: Path, synthetic: pd.DataFrame, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = _release_text(synthetic, "synthetic_2021")
    text["citizenship"] = "Philippines"
    row = 0
    for value, (n, _) in _LOOSE.items():
        text.loc[row : row + n - 1, "citizenship"] = value
        row += n
    with caplog.at_level(logging.DEBUG):
        dataset = load_dataset(_write(text, tmp_path / f"names{suffix}"), k=10)
    frame, report = dataset.frame, dataset.report
    assert frame["citizenship_iso3"].iloc[:row].isna().all()
    assert (frame["citizenship_iso3"].iloc[row:] == "PHL").all()
    entry = report.unmapped_countries["citizenship"]
    assert entry["n_cells"] == row == 20
    assert entry["cells_by_reason"] == {REASON_SEVERAL: 15, REASON_PARTIAL: 3, REASON_FORMER: 2}
    # The data report file lists only values shared by at least k cells (existing convention).
    assert entry["values_with_at_least_k_cells"] == {"Sudan/South Sudan": 12}
    n_mapped = frame["citizenship_iso3"].notna().sum() + frame["exploitation_iso3"].notna().sum()
    assert report.country_mapped_share == pytest.approx(n_mapped / (n_mapped + 20), abs=1e-6)
    summary = "\n".join(report.summary_lines())
    assert "unmapped because names more than one country: 15 cells" in summary
    for value in _LOOSE:
        assert value not in summary
        assert value not in caplog.text
