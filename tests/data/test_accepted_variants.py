"""Harmless spelling variants are accepted, rewritten to the canonical value, and counted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.data.io import read_table
from ctdc_risk.data.load import load_dataset


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
