"""A corpus of malformed inputs, each refused with one precise, actionable error.

Every file is generated in ``tmp_path``. Each case names the exact error class and the words
its message must contain: the file's path, and the column, line number or problem word.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import to_release_frame
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import (
    CtdcRiskError,
    DataFileError,
    DataValueError,
    ReleaseDetectionError,
)


@dataclass
class Ctx:
    tmp: Path
    write_old: Callable[..., Path]
    frame: pd.DataFrame

    def file(self, name: str, content: bytes | str) -> Path:
        path = self.tmp / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path


@dataclass(frozen=True)
class Case:
    build: Callable[[Ctx], Path]
    error: type[CtdcRiskError]
    words: tuple[str, ...]
    """Substrings the message must contain (besides the path)."""
    patterns: tuple[str, ...] = ()
    """Regular expressions the message must match (line numbers)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    path_in_message: bool = True


@pytest.fixture(scope="module")
def small_frame() -> pd.DataFrame:
    return generate_synthetic(1_000, seed=5)


@pytest.fixture
def ctx(tmp_path: Path, write_old_release: Callable[..., Path], small_frame: pd.DataFrame) -> Ctx:
    return Ctx(tmp_path, write_old_release, small_frame)


def _fifo(c: Ctx) -> Path:
    path = c.tmp / "pipe.csv"
    os.mkfifo(path)
    return path


def _zip_not_xlsx(c: Ctx) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/victims.csv", "gender,ageBroad\nFemale,9--17\n")
    return c.file("victims.csv", buf.getvalue())


def _release_file(c: Ctx, release_id: str, name: str, **edits: Any) -> Path:
    text = to_release_frame(c.frame.head(20), release_id)
    if "drop" in edits:
        text = text.drop(columns=[edits["drop"]])
    for column, (row, value) in edits.get("set", {}).items():
        text.loc[row, column] = value
    path = c.tmp / name
    text.to_csv(path, index=False)
    return path


def _xlsx_beyond_header(c: Ctx) -> Path:
    path = c.tmp / "wide.xlsx"
    frame = pd.DataFrame([["Female", "9--17", None], ["Male", "48+", "x"]])
    frame.to_excel(path, header=["gender", "ageBroad", None], index=False, engine="openpyxl")
    return path


def _workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def _workbook(c: Ctx, name: str, sheets: dict[str, list[list[Any]]]) -> Path:
    return c.file(name, _workbook_bytes(sheets))


_VICTIMS = [["gender", "ageBroad"], ["Female", "9--17"], ["Male", "48+"]]


def _damaged_workbook(c: Ctx, name: str, part: str, edit: Callable[[bytes], bytes]) -> Path:
    """A valid zip whose ``part`` is edited (a workbook damaged inside, not its container)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_workbook_bytes({"data": _VICTIMS}))) as src,
        zipfile.ZipFile(out, "w") as dst,
    ):
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item, edit(content) if item.filename == part else content)
    return c.file(name, out.getvalue())


def _merged_workbook(c: Ctx) -> Path:
    workbook = Workbook()
    for row in [*_VICTIMS, ["Female", "0--8"]]:
        workbook.active.append(row)
    workbook.active.merge_cells("A2:A3")
    buf = io.BytesIO()
    workbook.save(buf)
    return c.file("merged.xlsx", buf.getvalue())


def _gzip_bad_deflate(c: Ctx) -> Path:
    # A valid gzip header, then a deflate block of the reserved type 3: zlib refuses the stream.
    good = gzip.compress(b"gender,ageBroad\nFemale,9--17\n", mtime=0)
    return c.file("inflate.csv", good[:10] + b"\x07" + b"\x00" * 7 + good[-8:])


def _parquet(c: Ctx, name: str, table: pa.Table, edit: Callable[[bytes], bytes]) -> Path:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return c.file(name, edit(buf.getvalue()))


_PARQUET_TABLE = pa.table({"gender": ["Female"], "ageBroad": ["9--17"]})


def _old(rows: list[dict[str, str]], name: str) -> Callable[[Ctx], Path]:
    return lambda c: c.write_old(rows, name=name)


CASES: dict[str, Case] = {
    # --- the file itself -------------------------------------------------------------------
    "empty_file": Case(lambda c: c.file("empty.csv", b""), DataFileError, ("empty",)),
    "whitespace_only": Case(
        lambda c: c.file("blank.csv", "  \n\t\n \r\n"), DataFileError, ("blank space",)
    ),
    "header_only": Case(
        lambda c: c.file("header.csv", "gender,ageBroad\n"), DataFileError, ("no data rows",)
    ),
    "directory": Case(lambda c: c.tmp, DataFileError, ("directory",)),
    "missing_path": Case(lambda c: c.tmp / "does_not_exist.csv", DataFileError, ("no such file",)),
    "fifo": Case(_fifo, DataFileError, ("not a regular file", "pipe")),
    "dev_zero": Case(lambda c: Path("/dev/zero"), DataFileError, ("not a regular file",)),
    "over_max_bytes": Case(
        lambda c: c.file("big.csv", "gender,ageBroad\n" + "Female,9--17\n" * 50),
        DataFileError,
        ("max_bytes", "over the limit"),
        kwargs={"max_bytes": 200},
    ),
    "gzip_over_max_bytes": Case(
        lambda c: c.file(
            "bomb.csv.gz", gzip.compress(b"gender,ageBroad\n" + b"Female,0--8\n" * 500)
        ),
        DataFileError,
        ("decompressed", "max_bytes"),
        kwargs={"max_bytes": 1_000},
    ),
    "damaged_gzip": Case(
        lambda c: c.file("cut.csv.gz", gzip.compress(b"gender,ageBroad\nFemale,0--8\n" * 50)[:40]),
        DataFileError,
        ("gzip", "damaged"),
    ),
    "old_xls": Case(
        lambda c: c.file("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504),
        DataFileError,
        (".xls", "not supported"),
    ),
    "zip_not_xlsx": Case(_zip_not_xlsx, DataFileError, ("zip", "not an XLSX")),
    "xlsx_formulas_without_saved_values": Case(
        lambda c: _workbook(
            c, "formulas.xlsx", {"data": [["gender", "ageBroad"], ["Female", '=IF(1=1,"0--8")']]}
        ),
        DataFileError,
        ("'data'", "1 formula cell(s) with no saved value", "B2"),
    ),
    "xlsx_merged_cells": Case(_merged_workbook, DataFileError, ("merged", "A2:A3", "Unmerge")),
    "title_line_above_header": Case(
        lambda c: c.file(
            "titled.csv",
            "CTDC global synthetic data\n"
            + to_release_frame(c.frame.head(3), "synthetic_2021").to_csv(index=False),
        ),
        DataFileError,
        ("the header must be on the first row (found it on row 2)",),
    ),
    "damaged_parquet": Case(
        lambda c: c.file("bad.parquet", b"PAR1" + b"\x00garbage" * 10),
        DataFileError,
        ("Parquet", "cannot be read"),
    ),
    "binary_with_nul": Case(
        lambda c: c.file("bin.csv", b"gender,ageBroad\nFe\x00male,9\x00--17\n" + b"\x01" * 64),
        DataFileError,
        ("NUL",),
    ),
    "unknown_encoding_setting": Case(
        lambda c: c.file("t.csv", "gender,ageBroad\nFemale,9--17\n"),
        DataFileError,
        ("unknown encoding", "data.encoding"),
        kwargs={"encoding": "klingon-8"},
    ),
    "not_valid_in_given_encoding": Case(
        lambda c: c.file("t.csv", b"gender,citizenship\nFemale,C\xf4te\n"),
        DataFileError,
        ("not valid utf-8", "data.encoding"),
        kwargs={"encoding": "utf-8"},
    ),
    "utf16_damaged": Case(
        lambda c: c.file(
            "u16.csv",
            b"\xff\xfe" + "gender,ageBroad\nFemale,9--17\n".encode("utf-16-le") + b"\x00\xd8",
        ),
        DataFileError,
        ("UTF-16",),
    ),
    "gzip_damaged_deflate_stream": Case(_gzip_bad_deflate, DataFileError, ("gzip", "damaged")),
    "xlsx_unknown_sheet": Case(
        lambda c: _workbook(c, "sheets.xlsx", {"data": _VICTIMS, "notes": [["text"], ["x"]]}),
        DataFileError,
        ("no sheet named 'victims'", "data.sheet", "data, notes"),
        kwargs={"sheet": "victims"},
    ),
    "xlsx_sheet_index_out_of_range": Case(
        lambda c: _workbook(c, "index.xlsx", {"data": _VICTIMS, "notes": [["text"], ["x"]]}),
        DataFileError,
        ("data.sheet=2", "2 sheet(s)"),
        kwargs={"sheet": 2},
    ),
    "xlsx_header_only": Case(
        lambda c: _workbook(c, "header.xlsx", {"data": _VICTIMS[:1]}),
        DataFileError,
        ("no data rows",),
    ),
    "xlsx_named_csv_with_duplicate_columns": Case(
        lambda c: c.file(
            "dup_sheet.csv",
            _workbook_bytes({"data": [["gender", "Gender"], ["Female", "Female"]]}),
        ),
        DataFileError,
        ("duplicate column", "'gender' and 'Gender'"),
    ),
    "xlsx_damaged_sheet_xml": Case(
        lambda c: _damaged_workbook(c, "cut.xlsx", "xl/worksheets/sheet1.xml", lambda b: b[:200]),
        DataFileError,
        ("sheet 'data'", "cannot be read", "damaged"),
    ),
    "xlsx_without_sheets": Case(
        lambda c: _damaged_workbook(
            c,
            "nosheet.xlsx",
            "xl/workbook.xml",
            lambda b: re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", b),
        ),
        DataFileError,
        ("no sheets",),
    ),
    "parquet_column_name_not_utf8": Case(
        lambda c: _parquet(
            c, "name.parquet", _PARQUET_TABLE, lambda b: b.replace(b"ageBroad", b"age\xffroad")
        ),
        DataFileError,
        ("Parquet", "cannot be read"),
    ),
    "parquet_damaged_pandas_metadata": Case(
        lambda c: _parquet(
            c,
            "meta.parquet",
            _PARQUET_TABLE.replace_schema_metadata({"pandas": "{damaged"}),
            lambda b: b,
        ),
        DataFileError,
        ("Parquet", "cannot be read"),
    ),
    # --- the header --------------------------------------------------------------------------
    "single_column_header": Case(
        lambda c: c.file("one.csv", "gender\nFemale\n"), DataFileError, ("single column",)
    ),
    "duplicate_column_exact": Case(
        lambda c: c.file("dup.csv", "gender,ageBroad,gender\nFemale,9--17,Female\n"),
        DataFileError,
        ("duplicate column", "'gender'"),
    ),
    "duplicate_column_case_and_spaces": Case(
        lambda c: c.file("dup2.csv", "ageBroad,gender, Age Broad \n9--17,Female,9--17\n"),
        DataFileError,
        ("duplicate column", "'ageBroad'", "' Age Broad '"),
    ),
    "blank_column_name": Case(
        lambda c: c.file("noname.csv", "gender,,ageBroad\nFemale,x,9--17\n"),
        DataFileError,
        ("column 2", "no name"),
    ),
    "header_of_no_release": Case(
        lambda c: c.file("other.csv", "caseId,gender,ageBroad,notes\n1,Female,9--17,x\n"),
        ReleaseDetectionError,
        ("no known CTDC release", "Closest", "2024", "missing", "yearOfRegistration"),
    ),
    "release_2024_missing_required_column": Case(
        lambda c: _release_file(c, "synthetic_2024", "v2024.csv", drop="meansThreats"),
        ReleaseDetectionError,
        ("Closest", "2024", "missing: meansThreats"),
    ),
    "xlsx_values_beyond_header": Case(
        _xlsx_beyond_header, DataFileError, ("row 3", "beyond the last named column")
    ),
    "old_release_missing_required_column": Case(
        lambda c: c.write_old([{}, {}], name="nomajority.csv", drop=["majorityStatus"]),
        ReleaseDetectionError,
        ("Closest", "2017", "missing: majorityStatus"),
    ),
    "column_renamed_by_another_release": Case(
        # The 2021 synthetic release truncates this name; in a 63-column file it is a mistake.
        lambda c: c.write_old(
            [{}],
            name="renamed.csv",
            header={"meansOfControlThreatOfLawEnforcement": "meansOfControlThreatOfLawEnforce"},
        ),
        ReleaseDetectionError,
        ("Closest", "2017", "missing: meansOfControlThreatOfLawEnforcement"),
    ),
    # --- rows -------------------------------------------------------------------------------
    "ragged_row_too_few_fields": Case(
        lambda c: c.file("ragged.csv", "a,b,c\n1,2,3\n1,2\n1,2,3\n"),
        DataFileError,
        ("has 2 fields but the header has 3",),
        patterns=(r"\bline 3\b",),
    ),
    "row_with_too_many_fields": Case(
        lambda c: c.file("wide.csv", "a,b,c\n1,2,3\n1,2,3\n1,2,3,4\n"),
        DataFileError,
        ("has 4 fields but the header has 3",),
        patterns=(r"\bline 4\b",),
    ),
    "first_data_row_longer_than_header": Case(
        lambda c: c.file("first.csv", "a,b,c\n1,2,3,4\n1,2,3\n"),
        DataFileError,
        ("4 fields",),
        patterns=(r"\bline 2\b",),
    ),
    "several_ragged_rows_listed": Case(
        lambda c: c.file("many.csv", "a,b,c\n1,2,3\n1,2\n1,2,3\n1\n"),
        DataFileError,
        ("2 such rows",),
        patterns=(r"\bline 3\b", r"lines 3, 5"),
    ),
    "ragged_row_after_blank_line": Case(
        lambda c: c.file("gap.csv", "a,b\n1,2\n\n1,2,3\n"),
        DataFileError,
        ("3 fields",),
        patterns=(r"\bline 4\b",),
    ),
    "ragged_row_after_multiline_cell": Case(
        lambda c: c.file("ml.csv", 'a,b\n1,"x\ny"\n1,2,3\n'),
        DataFileError,
        ("3 fields",),
        patterns=(r"\bline 4\b",),
    ),
    "unbalanced_quote": Case(
        lambda c: c.file("quote.csv", 'a,b,c\n1,2,3\n1,"2,3\n4,5,6\n'),
        DataFileError,
        ("unbalanced quote",),
        patterns=(r"\bline 3\b",),
    ),
    "unbalanced_quote_on_last_line": Case(
        lambda c: c.file("quote_end.csv", 'a,b,c\n1,2,3\n4,5,"6\n'),
        DataFileError,
        ("unbalanced quote",),
        patterns=(r"\bline 3\b",),
    ),
    "ragged_row_semicolon_delimited": Case(
        lambda c: c.file("semi.csv", "a;b;c\n1;2;3\n1;2;3;4\n"),
        DataFileError,
        ("has 4 fields but the header has 3",),
        patterns=(r"\bline 3\b",),
    ),
    # --- cell values (load_dataset) ---------------------------------------------------------
    "age_band_banana": Case(
        _old([{}, {"ageBroad": "banana"}, {}, {"ageBroad": "banana"}], "age.csv"),
        DataValueError,
        ("'ageBroad'", "2 cells", "age band"),
        patterns=(r"\blines? 3, 5\b",),
    ),
    "flag_two": Case(
        _old([{}, {}, {"isAbduction": "2"}], "flag.csv"),
        DataValueError,
        ("'isAbduction'", "1 cell", "1, 0 or -99"),
        patterns=(r"\blines? 4\b",),
    ),
    "year_1900": Case(
        _old([{"yearOfRegistration": "1900"}], "y1900.csv"),
        DataValueError,
        ("'yearOfRegistration'", "year"),
        patterns=(r"\blines? 2\b",),
    ),
    "year_2099": Case(
        _old([{}, {"yearOfRegistration": "2099"}], "y2099.csv"),
        DataValueError,
        ("'yearOfRegistration'", "year"),
        patterns=(r"\blines? 3\b",),
    ),
    "unknown_gender": Case(
        _old([{"gender": "Robot"}, {}], "gender.csv"),
        DataValueError,
        ("'gender'", "gender"),
        patterns=(r"\blines? 2\b",),
    ),
    "unknown_majority_status": Case(
        _old([{}, {"majorityStatus": "Teen"}], "majority.csv"),
        DataValueError,
        ("'majorityStatus'", "Minor or Adult"),
        patterns=(r"\blines? 3\b",),
    ),
    "unknown_majority_status_at_exploit": Case(
        _old([{"majorityStatusAtExploit": "Elder"}], "majority_exploit.csv"),
        DataValueError,
        ("'majorityStatusAtExploit'", "Minor or Adult"),
        patterns=(r"\blines? 2\b",),
    ),
    "unknown_datasource": Case(
        _old([{"Datasource": "Newspaper"}], "datasource.csv"),
        DataValueError,
        ("'Datasource'", "data source"),
        patterns=(r"\blines? 2\b",),
    ),
    "recruiter_text_unknown_relation": Case(
        _old([{}, {"RecruiterRelationship": "Family/Relative;Neighbour"}], "recruiter.csv"),
        DataValueError,
        ("'RecruiterRelationship'", "recruiter relation"),
        patterns=(r"\blines? 3\b",),
    ),
    "trafficking_months_unknown_band": Case(
        lambda c: _release_file(
            c, "synthetic_2021", "months.csv", set={"traffickMonths": (3, "0--99 (0-8 yrs)")}
        ),
        DataValueError,
        ("'traffickMonths'", "duration band"),
        patterns=(r"\blines? 5\b",),
    ),
    "several_bad_columns_in_one_message": Case(
        _old([{"gender": "Robot", "ageBroad": "old", "isAbduction": "maybe"}], "many.csv"),
        DataValueError,
        ("'gender'", "'ageBroad'", "'isAbduction'"),
    ),
    "formula_in_a_gender_cell": Case(
        _old([{}, {"gender": '=HYPERLINK("http://example.org/x","Female")'}], "formula.csv"),
        DataValueError,
        ("'gender'", "1 cell", "gender"),
        patterns=(r"\blines? 3\b",),
    ),
    "formula_like_flag": Case(
        _old([{"isAbduction": "+1"}, {"meansOfControlThreats": "=1"}], "formula_flag.csv"),
        DataValueError,
        ("'isAbduction'", "'meansOfControlThreats'", "1, 0 or -99"),
    ),
}


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case_id", list(CASES))
def test_malformed_input_is_refused_precisely(ctx: Ctx, case_id: str) -> None:
    case = CASES[case_id]
    path = case.build(ctx)
    with pytest.raises(CtdcRiskError) as err:
        load_dataset(path, **case.kwargs)
    assert type(err.value) is case.error, f"{type(err.value).__name__}: {err.value}"
    message = str(err.value)
    if case.path_in_message:
        assert str(path) in message
    for word in case.words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    for pattern in case.patterns:
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    assert "Traceback" not in message


def test_every_malformed_input_ends_cleanly_through_the_cli(tmp_path: Path, ctx: Ctx) -> None:
    """The CLI on the whole corpus: exit code 2, one message, no traceback, no results.

    The CLI runs in this process, once per case (:func:`conftest.run_cli_in_process`): the
    heavy libraries are imported once, which keeps this test to seconds. ``tests/test_cli.py``
    runs mistakes like these in a real process too.
    """
    from conftest import run_cli_in_process

    results: dict[str, Any] = {}
    paths: dict[str, Path] = {}
    for case_id, case in CASES.items():
        case_dir = tmp_path / case_id
        case_dir.mkdir()
        path = case.build(Ctx(case_dir, ctx.write_old, ctx.frame))
        paths[case_id] = path
        extra = [f"data.{key}={value}" for key, value in case.kwargs.items()]
        args = ["describe", "data=ctdc", f"data.path={path}", *extra]
        out = run_cli_in_process(*args, f"hydra.run.dir={case_dir / 'run'}", cwd=tmp_path)
        results[case_id] = {"code": out.returncode, "stderr": out.stderr, "stdout": out.stdout}
    for case_id, result in results.items():
        message = result["stderr"]
        assert result["code"] == 2, (case_id, result)
        assert message.startswith("ctdc-risk: error: "), (case_id, message)
        assert message.count("ctdc-risk: error:") == 1, (case_id, message)
        assert "Traceback" not in message + result["stdout"], (case_id, message)
        if CASES[case_id].path_in_message:
            assert str(paths[case_id]) in message, (case_id, message)
        run_dir = tmp_path / case_id / "run"
        assert not (run_dir / "headline.json").exists(), case_id
        assert not (run_dir / "data_report.json").exists(), case_id
