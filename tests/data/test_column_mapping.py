"""data.columns: a file with its own column names reads like the release it came from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.source import DataSpec
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("columns")
    original = write_release_file(
        generate_synthetic(1000, seed=3), tmp / "ctdc.csv", "synthetic_2021"
    )
    own = pd.read_csv(original, dtype=str, keep_default_na=False)
    own = own.rename(columns={"ageBroad": "age group", "gender": "sex"})
    renamed = tmp / "own.csv"
    own.to_csv(renamed, index=False)
    return original, renamed


def test_mapped_file_reads_exactly_like_the_original(files: tuple[Path, Path]) -> None:
    original, renamed = files
    mapping = {"age group": "ageBroad", "sex": "gender"}
    a = load_dataset(original)
    b = load_dataset(renamed, columns=mapping)
    assert b.release_id == a.release_id == "synthetic_2021"
    pd.testing.assert_frame_equal(a.frame, b.frame)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"sex": "gendr"}, r"columns\.sex: 'gendr' is not a CTDC column name; did you mean gender"),
        ({"age": "ageBroad"}, r"columns\.age: .*own\.csv has no column 'age'; its columns are"),
        ({"sex": "gender", "age group": "gender"}, r"'sex' and 'age group' .* read as 'gender'"),
        ({"sex": "citizenship"}, r"'sex' and 'citizenship' .* both be read as 'citizenship'"),
    ],
)  # fmt: skip
def test_unknown_names_and_collisions_are_refused(files, mapping, message) -> None:
    _, renamed = files
    with pytest.raises(ConfigError, match=message):
        load_dataset(renamed, columns=mapping)


def test_the_setting_is_checked_with_the_config() -> None:
    with pytest.raises(ConfigError, match=r"data\.columns\.x: 'nope' is not a CTDC column"):
        DataSpec(source="file", path="f.csv", columns={"x": "nope"})
    with pytest.raises(ConfigError, match="use it with data=ctdc"):
        DataSpec(columns={"x": "gender"})
