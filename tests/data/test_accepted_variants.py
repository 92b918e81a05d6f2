"""Harmless spelling variants are accepted, rewritten to the canonical value, and counted."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.data.io import read_table
from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import to_release_frame
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ReleaseDetectionError


@pytest.mark.parametrize(
    ("raw_column", "raw_value", "column", "expected"),
    [
        pytest.param("ageBroad", "9-17", "age_band", "9--17", id="single_hyphen"),
        pytest.param("ageBroad", "9—17", "age_band", "9--17", id="em_dash"),
        pytest.param("ageBroad", "9–17", "age_band", "9--17", id="en_dash"),
        pytest.param("ageBroad", "09--17", "age_band", "9--17", id="zero_padded"),
        pytest.param("ageBroad", "48 +", "age_band", "48+", id="spaced_plus"),
        pytest.param("gender", " Female ", "gender", "female", id="padded_gender"),
        pytest.param("gender", "FEMALE", "gender", "female", id="upper_case_gender"),
        pytest.param(
            "gender",
            "Woman",
            "gender",
            "female",
            id="woman_in_old_release",
        ),
        pytest.param(
            "gender",
            "Man",
            "gender",
            "male",
            id="man_in_old_release",
        ),
        pytest.param("isAbduction", "1.0", "is_abduction", True, id="flag_1.0"),
        pytest.param("isAbduction", "-99.0", "is_abduction", None, id="flag_-99.0"),
        pytest.param("ageBroad", "-99.0", "age_band", None, id="text_-99.0"),
        pytest.param("ageBroad", "Unknown", "age_band", None, id="text_unknown_word"),
        pytest.param("isAbduction", "yes", "is_abduction", True, id="flag_yes"),
        pytest.param("isAbduction", "0.0", "is_abduction", False, id="flag_0.0"),
        pytest.param("majorityStatus", " MINOR ", "majority_status", "minor", id="minor_case"),
    ],
)
def test_variant_is_rewritten_and_counted(
    write_old_release: Callable[..., Path],
    raw_column: str,
    raw_value: str,
    column: str,
    expected: object,
) -> None:
    path = write_old_release([{}, {raw_column: raw_value}, {}])
    dataset = load_dataset(path)
    value = dataset.frame[column].iloc[1]
    if expected is None:
        assert pd.isna(value)
    else:
        assert value == expected
    assert sum(dataset.report.rewrites.get(raw_column, {}).values()) == 1
    # The two standard rows are not counted, and no other column is touched.
    assert set(dataset.report.rewrites) == {raw_column}


def test_standard_spellings_are_not_rewrites(write_old_release: Callable[..., Path]) -> None:
    rows = [
        {"ageBroad": "9--17", "gender": "Female", "isAbduction": "1", "majorityStatus": "Minor"},
        {"ageBroad": "48+", "gender": "Male", "isAbduction": "0", "majorityStatus": "Adult"},
        {"ageBroad": "-99", "gender": "-99", "isAbduction": "-99", "majorityStatus": "-99"},
    ]
    assert load_dataset(write_old_release(rows)).report.rewrites == {}


def test_rewrites_count_every_cell(write_old_release: Callable[..., Path]) -> None:
    rows = [{"ageBroad": "9-17"}] * 3 + [{"ageBroad": "09--17"}] * 2 + [{"ageBroad": "9--17"}]
    dataset = load_dataset(write_old_release(rows))
    assert sorted(dataset.report.rewrites["ageBroad"].values()) == [2, 3]
    assert (dataset.frame["age_band"] == "9--17").all()


def test_header_with_odd_case_and_spaces_is_respelled(
    write_old_release: Callable[..., Path],
) -> None:
    header = {
        "yearOfRegistration": " Year Of Registration ",
        "ageBroad": "AGEBROAD",
        "isAbduction": "is_abduction",
        "recruiterRelationFamily": "recruiter-relation-family",
    }
    rows = [{"yearOfRegistration": "2016", "ageBroad": "0--8", "isAbduction": "1"}]
    dataset = load_dataset(write_old_release(rows, header=header))
    assert dataset.release_id == "global_2017_2021"
    assert set(dataset.report.header_respelled) == set(header.values())
    assert dataset.frame["year_of_registration"].iloc[0] == 2016
    assert dataset.frame["age_band"].iloc[0] == "0--8"
    assert bool(dataset.frame["is_abduction"].iloc[0]) is True
    assert dataset.report.columns_extra == ()


def test_extra_unknown_columns_are_reported_not_read(
    write_old_release: Callable[..., Path],
) -> None:
    extra = {"internalCaseId": "17", "Notes": "free text"}
    dataset = load_dataset(write_old_release([{}, {}], extra=extra))
    assert dataset.release_id == "global_2017_2021"
    assert dataset.report.columns_extra == ("internalCaseId", "Notes")
    assert "internalCaseId" not in dataset.frame.columns


def test_mixed_line_endings(write_old_release: Callable[..., Path]) -> None:
    path = write_old_release([{"ageBroad": "0--8"}, {"ageBroad": "9--17"}, {"ageBroad": "48+"}])
    lines = path.read_bytes().split(b"\n")[:-1]
    path.write_bytes(b"".join(ln + (b"\r\n" if i % 2 else b"\n") for i, ln in enumerate(lines)))
    assert b"\r\n" in path.read_bytes()
    raw = read_table(path).frame
    last = raw.columns[-1]
    assert not any("\r" in str(v) for v in raw[last].cat.categories)
    dataset = load_dataset(path)
    assert dataset.frame["age_band"].tolist() == ["0--8", "9--17", "48+"]
    assert dataset.report.rewrites == {}


@pytest.mark.parametrize(
    "n_replaced", [pytest.param(1, id="header_ends_in_bare_cr"), pytest.param(-1, id="old_mac")]
)
def test_bare_cr_line_endings(write_old_release: Callable[..., Path], n_replaced: int) -> None:
    """Old Mac files end lines in a bare CR; so, by accident, may one line of another file.

    (Regression: a header ending in a bare CR crashed the header parser.)
    """
    path = write_old_release([{"ageBroad": "0--8"}, {"ageBroad": "9--17"}, {"ageBroad": "48+"}])
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r", n_replaced))
    dataset = load_dataset(path)
    assert dataset.frame["age_band"].tolist() == ["0--8", "9--17", "48+"]
    assert dataset.report.rewrites == {}


def test_all_blank_rows_are_dropped_and_counted(write_old_release: Callable[..., Path]) -> None:
    path = write_old_release([{"ageBroad": "0--8"}, {"ageBroad": "48+"}])
    header, first, second = path.read_text(encoding="utf-8").splitlines()
    n_cols = header.count(",") + 1
    blank = "," * (n_cols - 1)
    spaces = ",".join([" "] * n_cols)
    path.write_text("\n".join([header, blank, first, "", spaces, second]) + "\n", encoding="utf-8")
    dataset = load_dataset(path)
    assert dataset.report.rows_read == 5
    assert dataset.report.rows_out == 2
    assert dataset.report.rows_dropped == {"all cells blank": 3}
    assert dataset.frame["age_band"].tolist() == ["0--8", "48+"]


# --- the same table in other file shapes -------------------------------------------------------


@pytest.fixture(scope="module")
def release_text() -> pd.DataFrame:
    """A 2021 synthetic-release table with an accented country name (tests the decoding)."""
    text = to_release_frame(generate_synthetic(1_000, seed=8).head(15), "synthetic_2021")
    text.loc[2, "citizenship"] = "Côte d'Ivoire"
    return text


def _csv(text: pd.DataFrame, sep: str = ",") -> str:
    return text.to_csv(index=False, sep=sep, lineterminator="\n")


def _xlsx_bytes(text: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    text.to_excel(buf, index=False, engine="openpyxl")
    return buf.getvalue()


# How each shape is written, and what the data report must record about reading it.
FILE_SHAPES: dict[str, tuple[Callable[[pd.DataFrame], bytes], dict[str, object], str | None]] = {
    "utf8_bom": (
        lambda t: b"\xef\xbb\xbf" + _csv(t).encode("utf-8"),
        {"encoding": "utf-8-sig"},
        "text encoding utf-8-sig converted to UTF-8",
    ),
    "latin1": (
        lambda t: _csv(t).encode("latin-1"),
        {"encoding": "cp1252"},
        "text encoding cp1252 converted to UTF-8",
    ),
    "utf16_bom": (
        lambda t: _csv(t).encode("utf-16"),
        {"encoding": "utf-16"},
        "text encoding utf-16 converted to UTF-8",
    ),
    "utf16le_no_bom": (
        lambda t: _csv(t).encode("utf-16-le"),
        {"encoding": "utf-16-le"},
        "text encoding utf-16-le converted to UTF-8",
    ),
    "semicolon": (lambda t: _csv(t, ";").encode(), {"delimiter": ";"}, None),
    "tab": (lambda t: _csv(t, "\t").encode(), {"delimiter": "\t"}, None),
    "gzip_named_csv": (
        lambda t: gzip.compress(_csv(t).encode(), mtime=0),
        {"file_format": "csv.gz"},
        "file is gzip-compressed although its name does not end in .gz",
    ),
    "xlsx_named_csv": (
        _xlsx_bytes,
        {"file_format": "xlsx", "sheet": "Sheet1"},
        "file is an XLSX workbook although its name does not end in .xlsx",
    ),
}


@pytest.mark.parametrize("shape", list(FILE_SHAPES))
def test_file_shape_gives_the_same_frame_and_is_recorded(
    tmp_path: Path, release_text: pd.DataFrame, shape: str
) -> None:
    write, recorded, note = FILE_SHAPES[shape]
    plain = tmp_path / "plain.csv"
    plain.write_text(_csv(release_text), encoding="utf-8")
    path = tmp_path / "victims.csv"
    path.write_bytes(write(release_text))
    expected = load_dataset(plain)
    dataset = load_dataset(path)
    pd.testing.assert_frame_equal(dataset.frame, expected.frame)
    assert dataset.frame["citizenship_iso3"].iloc[2] == "CIV"
    for field, value in recorded.items():
        assert getattr(dataset.report.source, field) == value
    assert dataset.report.notes == ((note,) if note else ())
    assert dataset.report.rewrites == expected.report.rewrites


def test_workbook_with_several_sheets(tmp_path: Path, release_text: pd.DataFrame) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"about": ["CTDC export"]}).to_excel(writer, sheet_name="notes", index=False)
        release_text.to_excel(writer, sheet_name="victims", index=False)
    # The first sheet is read by default: here it is the notes, which are no CTDC table.
    with pytest.raises(ReleaseDetectionError, match="no known CTDC release"):
        load_dataset(path)
    by_name = load_dataset(path, sheet="victims")
    by_index = load_dataset(path, sheet=1)
    pd.testing.assert_frame_equal(by_name.frame, by_index.frame)
    assert len(by_name.frame) == len(release_text)
    assert by_name.report.source.sheet == "victims"
    assert by_name.report.source.sheets_available == ("notes", "victims")


# --- missing codes and countries ---------------------------------------------------------------


def test_quoted_minus_99_is_missing_and_not_a_rewrite(
    write_old_release: Callable[..., Path],
) -> None:
    path = write_old_release([{"isAbduction": "1", "ageBroad": "9--17"}, {}])
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    assert '"-99"' in path.read_text(encoding="utf-8")
    dataset = load_dataset(path)
    assert bool(dataset.frame["is_abduction"].iloc[0]) is True
    assert dataset.frame["is_abduction"].isna().tolist() == [False, True]
    assert dataset.frame["age_band"].isna().tolist() == [False, True]
    assert dataset.report.rewrites == {}


def test_minus_99_as_a_number_in_a_workbook_is_missing(
    tmp_path: Path, write_old_release: Callable[..., Path]
) -> None:
    text = pd.read_csv(write_old_release([{"isAbduction": "1"}, {}]), dtype=str)
    # A workbook holds flags and -99 as numbers (Excel keeps every number as a float).
    numeric = text.copy()
    for column in text.columns:
        if text[column].str.fullmatch(r"-?\d+").all():
            numeric[column] = text[column].astype(float)
    assert numeric["isAbduction"].tolist() == [1.0, -99.0]
    path = tmp_path / "numbers.xlsx"
    numeric.to_excel(path, index=False, engine="openpyxl")
    dataset = load_dataset(path)
    assert dataset.frame["is_abduction"].isna().tolist() == [False, True]
    assert dataset.frame["moc_threats"].isna().all()
    assert dataset.report.rewrites == {}


def test_na_is_namibia_not_missing(write_old_release: Callable[..., Path]) -> None:
    rows = [
        {"citizenship": "NA", "CountryOfExploitation": "NA"},
        {"citizenship": "NA", "CountryOfExploitation": "ZA"},
        {"citizenship": "UA", "CountryOfExploitation": "NA"},
    ]
    dataset = load_dataset(write_old_release(rows))
    assert dataset.frame["citizenship_iso3"].tolist() == ["NAM", "NAM", "UKR"]
    assert dataset.frame["exploitation_iso3"].tolist() == ["NAM", "ZAF", "NAM"]
    assert set(dataset.frame["citizenship_region"]) == {"Africa", "Europe"}
    assert dataset.frame["cross_border"].tolist() == [False, True, True]
    assert dataset.report.unmapped_countries == {}
    assert dataset.report.country_mapped_share == 1.0
    assert dataset.report.missing_share["citizenship_iso3"] == 0.0


def test_formula_like_cells_are_never_read_as_values(
    write_old_release: Callable[..., Path],
) -> None:
    formula = '=HYPERLINK("http://example.org/x","Peru")'
    path = write_old_release(
        [{"citizenship": formula}, {}], extra={"Notes": "=1+1", "Link": formula}
    )
    dataset = load_dataset(path)
    # A formula in a country cell is no country: counted as unmapped, never listed under k.
    assert dataset.frame["citizenship_iso3"].isna().tolist() == [True, False]
    unmapped = dataset.report.unmapped_countries["citizenship"]
    assert unmapped["n_cells"] == 1
    assert unmapped["values_with_at_least_k_cells"] == {}
    # In unknown columns it is not read at all; the columns are reported as extra.
    assert dataset.report.columns_extra == ("Notes", "Link")


# --- records -------------------------------------------------------------------------------------


def test_minor_aged_30_to_38_is_kept_and_counted(write_old_release: Callable[..., Path]) -> None:
    """majorityStatus Minor with ageBroad 30--38 contradicts itself: the age band decides.

    The row is kept (the rest of the record is usable) and counted as an inconsistency in the
    data report, which also says so at the end of every command.
    """
    rows = [
        {"ageBroad": "30--38", "majorityStatus": "Minor"},
        {"ageBroad": "30--38", "majorityStatus": "Minor"},
        {"ageBroad": "30--38", "majorityStatus": "Adult"},
    ]
    dataset = load_dataset(write_old_release(rows))
    assert dataset.report.rows_out == 3
    assert dataset.frame["is_child"].tolist() == [False, False, False]
    assert set(dataset.frame["child_status_source"]) == {"age_band"}
    assert dataset.report.inconsistencies == {"majority_status contradicts age_band": 2}
    # The terminal is published too: the count is floored like in data_report.json (issue 14).
    assert "inconsistent: majority_status contradicts age_band in <10 rows" in (
        dataset.report.summary_lines(10)
    )
    assert "inconsistent: majority_status contradicts age_band in 2 rows" in (
        dataset.report.summary_lines(2)
    )


def test_duplicate_records_are_counted_not_dropped(write_old_release: Callable[..., Path]) -> None:
    same = {"ageBroad": "9--17", "gender": "Male", "isAbduction": "1"}
    dataset = load_dataset(write_old_release([same, same, {"ageBroad": "48+"}, same]))
    assert dataset.report.rows_out == 4
    assert dataset.report.n_duplicate_rows == 2
    assert dataset.report.rows_dropped == {}
