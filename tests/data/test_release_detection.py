"""Every release is recognised from its header alone, whatever the column order or spelling."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import to_release_frame
from ctdc_risk.data.releases import RELEASE_BY_ID, RELEASES, detect_release
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ReleaseDetectionError

RELEASE_IDS = [r.id for r in RELEASES]


@pytest.fixture(scope="module")
def release_frames() -> dict[str, pd.DataFrame]:
    frame = generate_synthetic(1_000, seed=21)
    return {rid: to_release_frame(frame, rid) for rid in RELEASE_IDS}


@pytest.mark.parametrize("release_id", RELEASE_IDS)
def test_release_recognised_from_its_header(
    release_frames: dict[str, pd.DataFrame], release_id: str
) -> None:
    header = list(release_frames[release_id].columns)
    match = detect_release(header, source="test.csv")
    assert match.release.id == release_id
    assert match.extra_columns == ()
    assert match.respelled == ()
    assert set(match.raw_for.values()) == set(header)


def test_expected_header_widths(release_frames: dict[str, pd.DataFrame]) -> None:
    widths = {rid: frame.shape[1] for rid, frame in release_frames.items()}
    assert widths["global_2017_2021"] == 63
    assert widths["synthetic_2021"] == 37
    assert widths["synthetic_2024"] == 27


def test_2024_release_with_sector_of_labour_spelling(
    release_frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    text = release_frames["synthetic_2024"]
    renamed = {
        c: "sectorOfLabour" + c.removeprefix("typeOfLabour")
        for c in text.columns
        if c.startswith("typeOfLabour")
    }
    assert len(renamed) == 4
    text = text.rename(columns=renamed)
    match = detect_release(text.columns, source="v2025.csv")
    assert match.release.id == "synthetic_2024"
    assert set(match.respelled) == set(renamed.values())
    assert match.raw_for["typeOfLabourDomesticWork"] == "sectorOfLabourDomesticWork"
    # ... and the flags are read from the renamed columns.
    path = tmp_path / "CTDC_global_synthetic_data_v2025.csv"
    text.to_csv(path, index=False)
    dataset = load_dataset(path)
    assert dataset.release_id == "synthetic_2024"
    expected = text["sectorOfLabourDomesticWork"].eq("1").to_numpy()
    assert (dataset.frame["labour_domestic_work"].fillna(False).to_numpy() == expected).all()
    assert expected.any()


def test_2024_release_without_optional_sector_columns(
    release_frames: dict[str, pd.DataFrame],
) -> None:
    text = release_frames["synthetic_2024"]
    header = [c for c in text.columns if not c.startswith(("typeOfLabour", "typeOfSex"))]
    assert detect_release(header, source="x.csv").release.id == "synthetic_2024"


def test_extra_columns_do_not_change_the_release(release_frames: dict[str, pd.DataFrame]) -> None:
    header = [*release_frames["synthetic_2021"].columns, "rowId", "Notes"]
    match = detect_release(header, source="x.csv")
    assert match.release.id == "synthetic_2021"
    assert match.extra_columns == ("rowId", "Notes")


@pytest.mark.parametrize("release_id", ["global_2017_2021", "synthetic_2021", "synthetic_2024"])
def test_missing_required_column_names_release_and_column(
    release_frames: dict[str, pd.DataFrame], release_id: str
) -> None:
    release = RELEASE_BY_ID[release_id]
    header = list(release_frames[release_id].columns)
    dropped = next(c for c in reversed(header) if c in release.required)
    header.remove(dropped)
    with pytest.raises(ReleaseDetectionError) as err:
        detect_release(header, source="file.csv")
    message = str(err.value)
    assert message.startswith("file.csv:")
    assert release.label in message
    assert f"missing: {dropped}." in message


@settings(
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), release_id=st.sampled_from(RELEASE_IDS))
def test_shuffled_column_order_still_detects(
    release_frames: dict[str, pd.DataFrame], data: st.DataObject, release_id: str
) -> None:
    header = list(release_frames[release_id].columns)
    shuffled = data.draw(st.permutations(header))
    match = detect_release(shuffled, source="x.csv")
    assert match.release.id == release_id
    assert match.extra_columns == ()
