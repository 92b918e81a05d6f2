"""Cell values never reach error messages or logs: they may describe a person.

A distinctive canary is put where the bad value goes; every error path must still name the file,
column and line, but never the canary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from ctdc_risk.data.load import load_dataset
from ctdc_risk.errors import CtdcRiskError, DataFileError, DataValueError

CANARY = "CANARY_7f3a"


def _assert_no_canary(err: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert CANARY not in str(err)
    assert all(CANARY not in str(arg) for arg in err.args)
    # The CLI prints str(err) only, but a chained cause would show in a traceback.
    assert err.__cause__ is None or CANARY not in str(err.__cause__)
    assert err.__suppress_context__ or err.__context__ is None or CANARY not in str(err.__context__)
    assert CANARY not in caplog.text


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("ageBroad", CANARY, id="age_band"),
        pytest.param("gender", CANARY, id="gender"),
        pytest.param("isAbduction", CANARY, id="flag"),
        pytest.param("meansOfControlThreats", f"1{CANARY}", id="flag_with_digit"),
        pytest.param("yearOfRegistration", f"19{CANARY}", id="year"),
        pytest.param("majorityStatus", CANARY, id="majority_status"),
        pytest.param("Datasource", CANARY, id="datasource"),
        pytest.param("RecruiterRelationship", f"Family/Relative;{CANARY}", id="recruiter_text"),
    ],
)
def test_bad_cell_value_is_not_quoted(
    write_old_release: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    column: str,
    value: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    path = write_old_release([{}, {column: value}, {}])
    with pytest.raises(DataValueError) as err:
        load_dataset(path)
    message = str(err.value)
    assert str(path) in message and repr(column) in message and "lines 3" in message
    _assert_no_canary(err.value, caplog)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        pytest.param(f"a,b,c\n1,2,3\n{CANARY},2\n", 3, id="ragged_row"),
        pytest.param(f"a,b,c\n1,2,3\n1,2,3,{CANARY}\n", 3, id="too_many_fields"),
        pytest.param(f"a,b,c\n1,2,3,{CANARY}\n", 2, id="first_row_too_long"),
        pytest.param(f'a,b,c\n1,2,3\n1,"{CANARY},3\n4,5,6\n', 3, id="unbalanced_quote"),
        pytest.param(f'a,b,c\n1,2,"{CANARY}\n', 2, id="unbalanced_quote_at_end"),
        pytest.param(f'a,b,c\n1,"2"{CANARY},3\n1,2\n', 2, id="misplaced_quote"),
    ],
)
def test_offending_row_is_not_quoted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, line: int
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "rows.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_dataset(path)
    assert str(path) in str(err.value)
    assert f"line {line}" in str(err.value)
    _assert_no_canary(err.value, caplog)


def test_canary_in_every_column_of_a_row_is_never_quoted(
    write_old_release: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    from ctdc_risk.data.releases import GLOBAL_2017_2021

    caplog.set_level(logging.DEBUG)
    row = {c: CANARY for c in GLOBAL_2017_2021.columns if c not in GLOBAL_2017_2021.ignored}
    path = write_old_release([{}, row])
    with pytest.raises(CtdcRiskError) as err:
        load_dataset(path)
    _assert_no_canary(err.value, caplog)
