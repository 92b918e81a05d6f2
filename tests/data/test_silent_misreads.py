"""Silent misreads (issue 14, section 3): each class is read right, or refused, from real files.

Every file is written in ``tmp_path`` in its real format (CSV, or XLSX built with openpyxl),
then loaded through the same call a study uses.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from ctdc_risk.data.countries import REASON_FORMER, REASON_PARTIAL, REASON_SEVERAL
from ctdc_risk.data.harmonise import BLANK_CTDC_ROW, BLANK_ROW
from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import to_release_frame
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import DataFileError, DataValueError, ReleaseDetectionError


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


# --- XLSX cells a reader would return as blank ----------------------------------------------------


def _workbook(text: pd.DataFrame, path: Path, edit: Callable[[Any], None]) -> Path:
    """Write ``text`` with openpyxl (every cell as text), then let ``edit`` change the sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "victims"
    sheet.append(list(text.columns))
    for row in text.itertuples(index=False):
        sheet.append(list(row))
    edit(sheet)
    workbook.save(path)
    return path


def _family_as_formulas(text: pd.DataFrame) -> Callable[[Any], None]:
    """Turn the recruiterRelationFamily column into formulas that compute the same 1 or blank."""
    col = list(text.columns).index("recruiterRelationFamily") + 1

    def edit(sheet: Any) -> None:
        for row in range(2, len(text) + 2):
            cell = sheet.cell(row=row, column=col)
            cell.value = '=IF(1=1,1,"")' if cell.value == "1" else '=IF(1=0,1,"")'

    return edit


def test_formulas_without_saved_values_are_refused(tmp_path: Path, synthetic: pd.DataFrame) -> None:
    text = _release_text(synthetic, "synthetic_2021")
    assert (text["recruiterRelationFamily"] == "1").any()
    path = _workbook(text, tmp_path / "formulas.xlsx", _family_as_formulas(text))
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    message = str(err.value)
    assert str(path) in message
    assert f"{len(text)} formula cell(s) with no saved value" in message
    col = get_column_letter(list(text.columns).index("recruiterRelationFamily") + 1)
    assert f"(e.g. {col}2, {col}3, {col}4)" in message
    assert "save it" in message


def test_formulas_with_saved_values_read_as_those_values(
    tmp_path: Path, synthetic: pd.DataFrame
) -> None:
    """A workbook saved by Excel or LibreOffice stores each formula's value: that is read."""
    text = _release_text(synthetic, "synthetic_2021")
    path = _workbook(text, tmp_path / "formulas.xlsx", _family_as_formulas(text))
    # Store the values the formulas compute, as a spreadsheet program does on saving.
    saved = re.sub(
        rb'(<f>IF\(1=1,1,""\)</f>)<v\s*/>',
        rb"\1<v>1</v>",
        _sheet_xml(path),
    )
    saved = re.sub(
        rb'<c r="([A-Z]+\d+)"(\s*)>(<f>IF\(1=0,1,""\)</f>)<v\s*/>',
        rb'<c r="\1" t="str"\2>\3<v></v>',
        saved,
    )
    assert saved.count(b"<f>") == len(text) and b"</f><v />" not in saved
    _replace_sheet_xml(path, saved)
    plain = load_dataset(_write(text, tmp_path / "plain.csv"))
    dataset = load_dataset(path)
    pd.testing.assert_series_equal(
        dataset.frame["recruiter_family"], plain.frame["recruiter_family"]
    )


def test_merged_cells_are_refused(tmp_path: Path, synthetic: pd.DataFrame) -> None:
    text = _release_text(synthetic, "synthetic_2021")
    col = get_column_letter(list(text.columns).index("gender") + 1)
    path = _workbook(text, tmp_path / "merged.xlsx", lambda s: s.merge_cells(f"{col}2:{col}5"))
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    message = str(err.value)
    assert str(path) in message
    assert f"1 merged cell range(s) (e.g. {col}2:{col}5)" in message
    assert "Unmerge" in message


def _sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def _replace_sheet_xml(path: Path, xml: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item, xml if item.filename == "xl/worksheets/sheet1.xml" else content)
    path.write_bytes(out.getvalue())


# --- a note in an extra column is not a case ---------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_row_blank_in_every_ctdc_column_with_a_note_is_not_a_case(
    tmp_path: Path, synthetic: pd.DataFrame, suffix: str
) -> None:
    text = _release_text(synthetic, "synthetic_2021", n=10)
    text["Notes"] = ""
    text.loc[3, "Notes"] = "reviewed"  # an ordinary row with a note stays a case
    note = pd.DataFrame([dict.fromkeys(text.columns, "")] * 2)
    note.loc[1, "Notes"] = "Source: CTDC global synthetic data, 2021"
    text = pd.concat([text, note], ignore_index=True)  # a blank row, then the note
    dataset = load_dataset(_write(text, tmp_path / f"with_note{suffix}"))
    report = dataset.report
    assert report.rows_read == 12
    assert report.rows_out == len(dataset.frame) == 10
    assert report.rows_dropped == {BLANK_CTDC_ROW: 1, BLANK_ROW: 1}
    assert report.columns_extra == ("Notes",)
    summary = "\n".join(report.summary_lines())
    assert f"<10 {BLANK_CTDC_ROW}" in summary  # counts under k are floored on the terminal too
    assert "Source" not in summary


def test_a_file_of_notes_only_is_refused(tmp_path: Path, synthetic: pd.DataFrame) -> None:
    text = _release_text(synthetic, "synthetic_2021", n=1)
    text.loc[0] = ""
    text["Notes"] = "Source: CTDC"
    path = _write(text, tmp_path / "notes.csv")
    with pytest.raises(DataValueError, match="every data row is blank in the CTDC columns"):
        load_dataset(path)


# --- one very long cell -------------------------------------------------------------------------

_LONG = 3_000_000  # longer than pyarrow's 1 MiB block and Python csv's 128 KiB field limit


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted_with_line_breaks"])
def test_a_valid_csv_with_one_very_long_cell_reads(
    tmp_path: Path, synthetic: pd.DataFrame, quoted: bool
) -> None:
    text = _release_text(synthetic, "synthetic_2021", n=5)
    text["Notes"] = ""
    text.loc[1, "Notes"] = ("a, b\nc " if quoted else "") + "x" * _LONG
    path = _write(text, tmp_path / "long.csv")
    assert path.stat().st_size > _LONG
    limit = csv.field_size_limit()
    dataset = load_dataset(path)
    assert csv.field_size_limit() == limit  # raised for the file only, then restored
    assert dataset.report.rows_out == 5
    assert dataset.report.columns_extra == ("Notes",)


def test_an_unbalanced_quote_after_a_long_cell_is_still_refused(
    tmp_path: Path, synthetic: pd.DataFrame
) -> None:
    text = _release_text(synthetic, "synthetic_2021", n=5)
    text["Notes"] = ""
    text.loc[1, "Notes"] = "x" * _LONG
    path = _write(text, tmp_path / "long.csv")
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4] + ',"open'  # line 5 opens a quote that never closes
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"line 5: a quoted field is not closed"):
        load_dataset(path)


# --- title lines above the header ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("above", "row"),
    [
        pytest.param(["CTDC global synthetic data"], 2, id="one_title"),
        pytest.param(["CTDC global synthetic data", "Downloaded 25 Aug 2021", ""], 4, id="titles"),
        pytest.param(["Victims, by year, gender, age and country"], 2, id="title_with_commas"),
        pytest.param([""], 2, id="blank_first_line"),
    ],
)
def test_title_lines_above_the_csv_header_are_named(
    tmp_path: Path, synthetic: pd.DataFrame, above: list[str], row: int
) -> None:
    text = _release_text(synthetic, "synthetic_2021", n=5)
    body = text.to_csv(index=False, lineterminator="\n")
    path = tmp_path / "titled.csv"
    path.write_text("\n".join(above) + "\n" + body, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    assert str(err.value) == (
        f"{path}: the header must be on the first row (found it on row {row}); delete the "
        f"{row - 1} row(s) above it (a title, notes or blank lines) and try again."
    )


def test_a_title_row_above_the_xlsx_header_is_named(
    tmp_path: Path, synthetic: pd.DataFrame
) -> None:
    text = _release_text(synthetic, "synthetic_2024", n=5)

    def add_title(sheet: Any) -> None:
        sheet.insert_rows(1, amount=2)
        sheet["A1"] = "CTDC global synthetic data v2024"
        sheet.merge_cells("A1:D1")  # a merged title: the header is named first, not the merge

    path = _workbook(text, tmp_path / "titled.xlsx", add_title)
    with pytest.raises(DataFileError, match=r"must be on the first row \(found it on row 3\)"):
        load_dataset(path)


def test_a_header_on_row_one_that_matches_no_release_keeps_its_message(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,age\nAda,36\n", encoding="utf-8")
    with pytest.raises(ReleaseDetectionError, match="matches no known CTDC release"):
        load_dataset(path)
