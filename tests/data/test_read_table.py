"""read_table: encodings, delimiters, containers and formats all give the same raw text cells."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.data.io import read_table
from ctdc_risk.errors import DataFileError

IVORY = "Côte d'Ivoire"
EXPECTED = {"citizenship": ["NA", IVORY, ""], "gender": ["Female", "", "Male"]}


def _csv_text(delimiter: str = ",") -> str:
    rows = [["citizenship", "gender"], ["NA", "Female"], [IVORY, ""], ["", "Male"]]
    return "".join(delimiter.join(r) + "\n" for r in rows)


def _as_lists(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {c: frame[c].astype(str).tolist() for c in frame.columns}


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        pytest.param(_csv_text().encode("utf-8"), "utf-8", id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + _csv_text().encode("utf-8"), "utf-8-sig", id="utf-8-bom"),
        pytest.param(_csv_text().encode("cp1252"), "cp1252", id="cp1252"),
        pytest.param(_csv_text().encode("utf-16"), "utf-16", id="utf-16-bom"),
    ],
)
def test_encodings_decode_to_the_same_text(tmp_path: Path, encoded: bytes, encoding: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(encoded)
    table = read_table(path)
    assert _as_lists(table.frame) == EXPECTED
    assert table.source.encoding == encoding
    assert list(table.frame.columns) == ["citizenship", "gender"]  # no BOM left in a name


def test_cp1252_bytes_of_ivory_coast_are_decoded(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"citizenship,gender\nC\xf4te d'Ivoire,Female\n")
    table = read_table(path)
    assert table.frame["citizenship"].tolist() == [IVORY]
    assert any("cp1252" in note for note in table.source.notes)


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]
)
def test_delimiter_is_detected(tmp_path: Path, delimiter: str, name: str) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text(_csv_text(delimiter), encoding="utf-8")
    table = read_table(path)
    assert table.source.delimiter == delimiter
    assert _as_lists(table.frame) == EXPECTED


def test_quoted_delimiter_in_a_cell_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('citizenship;gender\n"Korea, Republic of";Male\n', encoding="utf-8")
    table = read_table(path)
    assert table.source.delimiter == ";"
    assert table.frame["citizenship"].tolist() == ["Korea, Republic of"]


@pytest.mark.parametrize("name", ["t.csv.gz", "t.csv"])
def test_gzip_csv_reads_whatever_its_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    raw = gzip.compress(_csv_text().encode("utf-8"))
    path.write_bytes(raw)
    table = read_table(path)
    assert table.source.file_format == "csv.gz"
    assert _as_lists(table.frame) == EXPECTED
    assert table.source.n_bytes == len(raw)  # the file's size, not the decompressed size
    misnamed = any("gzip" in note for note in table.source.notes)
    assert misnamed == (not name.endswith(".gz"))


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(
            {
                "citizenship": ["NA", IVORY, None],
                "gender": ["Female", None, "Male"],
                "yearOfRegistration": [2015, 2016, 2017],
            }
        ).to_excel(writer, sheet_name="Data", index=False)
        pd.DataFrame({"variable": ["gender"], "meaning": ["gender of the victim"]}).to_excel(
            writer, sheet_name="Lookups", index=False
        )
    return path


def test_xlsx_first_sheet_by_default(workbook: Path) -> None:
    table = read_table(workbook)
    assert table.source.file_format == "xlsx"
    assert table.source.sheet == "Data"
    assert table.source.sheets_available == ("Data", "Lookups")
    frame = table.frame
    assert frame["citizenship"].tolist() == ["NA", IVORY, ""]
    assert frame["gender"].tolist() == ["Female", "", "Male"]
    assert frame["yearOfRegistration"].tolist() == ["2015", "2016", "2017"]  # no ".0"


@pytest.mark.parametrize("sheet", ["Lookups", 1])
def test_xlsx_named_or_indexed_sheet(workbook: Path, sheet: str | int) -> None:
    table = read_table(workbook, sheet=sheet)
    assert table.source.sheet == "Lookups"
    assert table.frame["variable"].tolist() == ["gender"]


def test_xlsx_bad_sheet_name_lists_the_sheets(workbook: Path) -> None:
    with pytest.raises(DataFileError) as err:
        read_table(workbook, sheet="Dictionary")
    message = str(err.value)
    assert str(workbook) in message
    assert "Dictionary" in message
    assert "Data" in message and "Lookups" in message


def test_xlsx_bad_sheet_index_lists_the_sheets(workbook: Path) -> None:
    with pytest.raises(DataFileError, match=r"data\.sheet=5.*2 sheet\(s\): Data, Lookups"):
        read_table(workbook, sheet=5)


def test_xlsx_named_csv_reads_as_xlsx(workbook: Path, tmp_path: Path) -> None:
    misnamed = tmp_path / "export.csv"
    misnamed.write_bytes(workbook.read_bytes())
    table = read_table(misnamed)
    assert table.source.file_format == "xlsx"
    assert table.frame["citizenship"].tolist() == ["NA", IVORY, ""]
    assert any("XLSX" in note for note in table.source.notes)


def test_parquet_reads_as_text(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame(
        {
            "citizenship": ["NA", IVORY, None],
            "gender": ["Female", "", "Male"],
            "isAbduction": [1.0, None, 0.0],
            "yearOfRegistration": [2015, 2016, 2017],
        }
    ).to_parquet(path, index=False)
    table = read_table(path)
    assert table.source.file_format == "parquet"
    assert _as_lists(table.frame) == {
        "citizenship": ["NA", IVORY, ""],
        "gender": ["Female", "", "Male"],
        "isAbduction": ["1", "", "0"],
        "yearOfRegistration": ["2015", "2016", "2017"],
    }


def test_na_stays_the_string_na_in_every_format(tmp_path: Path) -> None:
    frame = pd.DataFrame({"citizenship": ["NA", "PH"], "CountryOfExploitation": ["ZA", "NA"]})
    csv_path = tmp_path / "na.csv"
    frame.to_csv(csv_path, index=False)
    xlsx_path = tmp_path / "na.xlsx"
    frame.to_excel(xlsx_path, index=False, engine="openpyxl")
    parquet_path = tmp_path / "na.parquet"
    frame.to_parquet(parquet_path, index=False)
    for path in (csv_path, xlsx_path, parquet_path):
        read = read_table(path).frame
        assert read["citizenship"].tolist() == ["NA", "PH"], path.suffix
        assert read["CountryOfExploitation"].tolist() == ["ZA", "NA"], path.suffix
        assert read.isna().sum().sum() == 0, path.suffix


def test_nothing_is_interpreted_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\nNA,-99,NULL\nnan,,None\n", encoding="utf-8")
    frame = read_table(path).frame
    assert _as_lists(frame) == {"a": ["NA", "nan"], "b": ["-99", ""], "c": ["NULL", "None"]}
    assert frame.isna().sum().sum() == 0


def test_columns_are_categorical_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    frame = read_table(path).frame
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns)


def test_mixed_line_endings_leave_no_carriage_return(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\r\n1,x\n2,y\r\n3,z\n")
    frame = read_table(path).frame
    assert _as_lists(frame) == {"a": ["1", "2", "3"], "b": ["x", "y", "z"]}


def test_trailing_blank_lines_are_not_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,2\n\n\r\n")
    assert read_table(path).n_rows == 1


def test_quoted_line_breaks_in_a_large_file(tmp_path: Path) -> None:
    # Larger than pyarrow's 1 MB read block: a quoted line break must not split a row.
    n = 120_000
    path = tmp_path / "big.csv"
    path.write_text("a,b,c\n" + "".join(f'{i},"x\ny",z\n' for i in range(n)), encoding="utf-8")
    assert path.stat().st_size > 2**20
    frame = read_table(path).frame
    assert len(frame) == n
    assert frame["b"].iloc[-1] == "x\ny"
    assert frame["c"].iloc[-1] == "z"


def test_a_bare_quote_inside_an_unquoted_cell_is_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,5'11\"\n2,x\n", encoding="utf-8")
    assert read_table(path).frame["b"].tolist() == ["5'11\"", "x"]


@pytest.mark.parametrize(
    "content",
    [b"gender,ageBroad", b"gender,ageBroad\n", b"gender,ageBroad\r\n", b"gender,ageBroad\n\n\r\n"],
    ids=["no_newline", "lf", "crlf", "trailing_blank_lines"],
)
def test_header_only_has_no_data_rows(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match="header but no data rows"):
        read_table(path)


def test_last_row_without_newline_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,2\n3,4")
    assert _as_lists(read_table(path).frame) == {"a": ["1", "3"], "b": ["2", "4"]}
