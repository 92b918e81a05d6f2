"""The built-in synthetic data: reproducible, valid, and near the published marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctdc_risk.data.schema import CANONICAL_NAMES
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.data.validate import validate_canonical


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    return generate_synthetic(100_000, seed=0)


def _yes(series: pd.Series) -> np.ndarray:
    return series.fillna(False).to_numpy(dtype=bool)


def test_same_seed_same_frame() -> None:
    pd.testing.assert_frame_equal(
        generate_synthetic(1_000, seed=42), generate_synthetic(1_000, seed=42)
    )


def test_different_seeds_differ() -> None:
    a, b = generate_synthetic(1_000, seed=1), generate_synthetic(1_000, seed=2)
    assert not a.equals(b)
    assert (a["age_band"].astype(object) != b["age_band"].astype(object)).any()


@pytest.mark.parametrize("n_rows", [0, -5, 999, 1_000_001, 1500.0, "2000"])
def test_n_rows_out_of_range_is_refused(n_rows: object) -> None:
    with pytest.raises(ValueError, match=r"data\.n_rows"):
        generate_synthetic(n_rows, seed=0)  # type: ignore[arg-type]


def test_smallest_frame_has_the_canonical_columns() -> None:
    frame = generate_synthetic(1_000, seed=3)
    assert len(frame) == 1_000
    assert list(frame.columns) == list(CANONICAL_NAMES)


def test_large_frame_passes_the_canonical_schema(large: pd.DataFrame) -> None:
    validate_canonical(large, source="generate_synthetic(100_000, seed=0)")


def test_child_share_among_known_age(large: pd.DataFrame) -> None:
    known_age = large[large["age_band"].notna()]
    share = _yes(known_age["is_child"]).mean()
    assert 0.2 <= share <= 0.3


def test_family_recruitment_shares(large: pd.DataFrame) -> None:
    known = large[_yes(large["recruiter_known"])]
    child = known[_yes(known["is_child"])]
    adult = known[known["is_child"].eq(False).fillna(False).to_numpy(dtype=bool)]
    child_share = _yes(child["recruiter_family"]).mean()
    adult_share = _yes(adult["recruiter_family"]).mean()
    assert 0.42 <= child_share <= 0.52
    assert 0.07 <= adult_share <= 0.10


def test_boys_recruited_by_family_more_often_than_girls(large: pd.DataFrame) -> None:
    known_children = large[_yes(large["recruiter_known"]) & _yes(large["is_child"])]
    by_gender = known_children.groupby("gender", observed=True)["recruiter_family"]
    share = by_gender.apply(lambda s: _yes(s).mean())
    assert share["male"] > share["female"]


def test_most_children_are_sexually_exploited(large: pd.DataFrame) -> None:
    children = large[_yes(large["is_child"])]
    recorded = children["exploit_sexual"].dropna()
    assert _yes(recorded).mean() > 0.6
