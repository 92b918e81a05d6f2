"""CTDC's real synthetic 2021 file, when it is present next to the project (never committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ctdc_risk.data.load import load_dataset


@pytest.mark.real_data
def test_real_synthetic_2021_file(real_synthetic_2021_path: Path) -> None:
    dataset = load_dataset(real_synthetic_2021_path)
    report = dataset.report
    assert dataset.release_id == "synthetic_2021"
    assert report.flag_semantics == "positive_only"
    assert report.rows_out == len(dataset.frame) == 193_025
    assert report.country_mapped_share is not None
    assert report.country_mapped_share >= 0.99

    frame = dataset.frame
    known = frame[frame["recruiter_known"].fillna(False).to_numpy(dtype=bool)]
    is_child = known["is_child"]
    child = known[is_child.fillna(False).to_numpy(dtype=bool)]
    adult = known[is_child.eq(False).fillna(False).to_numpy(dtype=bool)]
    child_family = np.mean(child["recruiter_family"].fillna(False).to_numpy(dtype=bool))
    adult_family = np.mean(adult["recruiter_family"].fillna(False).to_numpy(dtype=bool))
    assert len(child) > 1_000 and len(adult) > 1_000
    assert child_family >= 4 * adult_family
