"""Same config and seed, same bytes: with one or two workers, and whatever the file's row order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.pipeline.study import StudyResult, run_study

FAST = ["model=both", "stability.n_boot=4", "cv.n_splits=3"]
# Everything a study writes except what names its input file, its run folder or the clock
# (data_report.json, report.md, report.html).
SAME_BYTES = (
    "metrics.json", "factors.csv", "factors.json", "cv_folds.csv", "calibration.csv",
    "shap_importance.csv", "shap_subgroups.csv", "cohort_flow.csv", "targeting.csv",
    "targeting.json", "interactions.csv", "interactions.json",
    "models/lightgbm_model.txt", "models/logistic_coefficients.json", "models/sha256.json",
)  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A release file and a copy with its data rows shuffled (header first, as in any file)."""
    folder = tmp_path_factory.mktemp("files")
    original = write_release_file(
        generate_synthetic(10_000, seed=3), folder / "original.csv", "synthetic_2024"
    )
    text = pd.read_csv(original, dtype=str, keep_default_na=False)
    shuffled = folder / "shuffled.csv"
    text.sample(frac=1.0, random_state=1).to_csv(shuffled, index=False)
    return original, shuffled


@pytest.fixture(scope="module")
def runs(files, tmp_path_factory: pytest.TempPathFactory) -> dict[str, StudyResult]:
    original, shuffled = files
    out = tmp_path_factory.mktemp("runs")
    plan = {"one_worker": (original, 1), "two_workers": (original, 2), "shuffled": (shuffled, 1)}
    return {
        name: run_study(
            compose_spec(["data=ctdc", f"data.path='{path}'", f"stability.n_jobs={jobs}", *FAST]),
            out / name,
        )
        for name, (path, jobs) in plan.items()
    }


def _differing(a: StudyResult, b: StudyResult) -> list[str]:
    return [n for n in SAME_BYTES if (a.out_dir / n).read_bytes() != (b.out_dir / n).read_bytes()]


def test_shuffled_copy_holds_the_same_rows_in_another_order(files) -> None:
    original, shuffled = files
    a, b = original.read_text().splitlines(), shuffled.read_text().splitlines()
    assert a[0] == b[0] and a[1:] != b[1:] and sorted(a[1:]) == sorted(b[1:])
    assert len(a) == 10_001


def test_the_study_is_not_trivial(runs) -> None:
    result = runs["one_worker"]
    assert len(result.target.y) > 500
    assert result.stability.n_boot == 4
    assert {"logistic", "lightgbm"} == set(result.cv)


def test_two_workers_write_the_same_bytes_as_one(runs) -> None:
    assert _differing(runs["one_worker"], runs["two_workers"]) == []


def test_shuffled_rows_write_the_same_bytes(runs) -> None:
    # Folds, bootstrap samples and the models' floating-point sums follow row positions; the
    # study puts rows in an order given by their content, so the file's order cannot matter.
    assert _differing(runs["one_worker"], runs["shuffled"]) == []
