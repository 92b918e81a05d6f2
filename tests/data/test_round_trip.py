"""Writing canonical records in any release and format, then loading them, gives them back.

Less only what the release cannot hold: the global release has no trafficking duration, and
positive-only releases cannot say "no".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import FILE_FORMATS, to_release_frame, write_release_file
from ctdc_risk.data.releases import RELEASE_BY_ID, RELEASES
from ctdc_risk.data.schema import CANONICAL_NAMES, FLAG_COLUMNS
from ctdc_risk.data.synthetic import generate_synthetic

ROUND_TRIPS = [(r.id, fmt) for r in RELEASES for fmt in FILE_FORMATS]
NOT_IN_RELEASE = {"global_2017_2021": ("trafficking_months",), "ctdc_risk_canonical": ()}


@pytest.fixture(scope="module")
def original() -> pd.DataFrame:
    return generate_synthetic(1_000, seed=7)


def _yes(series: pd.Series) -> np.ndarray:
    return series.fillna(False).to_numpy(dtype=bool)


def _carried_flags(frame: pd.DataFrame, release_id: str) -> set[str]:
    """Canonical flags the written file carries a column for."""
    release = RELEASE_BY_ID[release_id]
    written = set(to_release_frame(frame.head(5), release_id).columns)
    return {name for raw, name in release.flags.items() if raw in written and name in FLAG_COLUMNS}


@pytest.mark.parametrize(("release_id", "file_format"), ROUND_TRIPS, ids=lambda v: str(v))
def test_round_trip(
    original: pd.DataFrame, tmp_path: Path, release_id: str, file_format: str
) -> None:
    path = write_release_file(
        original, tmp_path / f"data.{file_format}", release_id, file_format=file_format
    )
    dataset = load_dataset(path)
    loaded = dataset.frame
    assert dataset.release_id == release_id
    assert dataset.report.source.file_format == file_format
    assert list(loaded.columns) == list(CANONICAL_NAMES)
    assert len(loaded) == len(original)
    assert dataset.report.unmapped_countries == {}

    if release_id in NOT_IN_RELEASE:
        absent = NOT_IN_RELEASE[release_id]
        kept = [c for c in CANONICAL_NAMES if c not in absent]
        pd.testing.assert_frame_equal(loaded[kept], original[kept], check_categorical=False)
        for column in absent:
            assert loaded[column].isna().all()
        assert dataset.report.flag_semantics == "three_state"
        return

    assert dataset.report.flag_semantics == "positive_only"
    carried = _carried_flags(original, release_id)
    assert len(carried) >= 20
    for column in FLAG_COLUMNS:
        got, had = _yes(loaded[column]), _yes(original[column])
        assert not (got & ~had).any(), f"{column}: yes that was not a yes"
        assert not loaded[column].eq(False).any(), f"{column}: a 'no' from a positive-only file"
        if column in carried:
            assert not (had & ~got).any(), f"{column}: a yes was lost"
    for column in ("age_band", "gender", "citizenship_iso3", "exploitation_iso3"):
        pd.testing.assert_series_equal(
            loaded[column], original[column], check_categorical=False, check_names=False
        )
