"""Data that cannot answer the study's question, or answers it with an odd factor.

Each case edits the package's synthetic data, writes it as a canonical-format CSV with the raw
writer and runs the real study on it. It ends in one of two documented ways: a
:class:`~ctdc_risk.errors.StudyError` naming the problem, with nothing written to the output
folder; or a valid study in which the odd factor is dropped or handled (each test says which).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.child_status import DEFAULT_CHILD_RULE, child_status
from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import StudyError
from ctdc_risk.features import CONSTANT, NOT_RECORDED
from ctdc_risk.pipeline.study import StudyResult, run_study

# The default question (children; family recruitment among known recruiters), made small.
FAST = ["debug=default", "model=logistic", "stability.n_boot=2", "stability.n_jobs=1"]
RECRUITER = [
    "recruiter_family",
    "recruiter_intimate_partner",
    "recruiter_friend",
    "recruiter_other",
]


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return generate_synthetic(2_000, seed=3)


def _child(frame: pd.DataFrame) -> pd.Series:
    """Who the study counts as a child (the default rule: a minor when exploited)."""
    return child_status(frame, DEFAULT_CHILD_RULE)[0]


def _eligible(frame: pd.DataFrame) -> np.ndarray:
    """Children whose recruiter is recorded: the rows the default study is about."""
    child = _child(frame).fillna(False).to_numpy(dtype=bool)
    known = frame["recruiter_known"].fillna(False).to_numpy(dtype=bool)
    eligible: np.ndarray = child & known
    return eligible


def _family(frame: pd.DataFrame) -> np.ndarray:
    return frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)


def _study(
    frame: pd.DataFrame, tmp: Path, *overrides: str
) -> tuple[Callable[[], StudyResult], Path]:
    """The study on ``frame`` (written as a canonical CSV), as a call, and its output folder."""
    path = write_release_file(frame, tmp / "cases.csv", "ctdc_risk_canonical")
    spec = compose_spec([*FAST, "data=ctdc", f"data.path={path}", *overrides])
    out = tmp / "run"
    return lambda: run_study(spec, out), out


def _written(out: Path) -> list[Path]:
    return sorted(out.rglob("*")) if out.exists() else []


def test_an_edited_frame_is_written_row_for_row(base: pd.DataFrame, tmp_path: Path) -> None:
    """The cases below filter rows; the writer must keep exactly those rows, in order.

    (Regression: the canonical writer aligned columns on the filtered frame's index labels and
    wrote extra, spliced rows.)
    """
    frame = base.iloc[::3]
    path = write_release_file(frame, tmp_path / "every_third.csv", "ctdc_risk_canonical")
    loaded = load_dataset(path).frame
    assert len(loaded) == len(frame)
    for column in ("age_band", "recruiter_family", "citizenship_iso3"):
        assert loaded[column].astype(object).fillna("-").tolist() == (
            frame[column].astype(object).fillna("-").tolist()
        )


# --- refused: one StudyError naming the problem, nothing written --------------------------------


def _single_class(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[_eligible(frame), "recruiter_family"] = True
    return frame


def _few_no(n: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Only ``n`` eligible children not recruited by family (the others now are)."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        no = np.flatnonzero(_eligible(frame) & ~_family(frame))
        frame.loc[no[n:], "recruiter_family"] = True
        return frame

    return edit


def _no_children(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[_child(frame).eq(False).fillna(False)]


def _no_recruiter_recorded_for_children(frame: pd.DataFrame) -> pd.DataFrame:
    child = _child(frame).fillna(False).to_numpy(dtype=bool)
    for column in RECRUITER:
        frame.loc[child, column] = pd.NA
    return frame


def _tiny(n: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Keep only the first ``n`` eligible children (every other row stays)."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        drop = np.flatnonzero(_eligible(frame))[n:]
        return frame.drop(index=frame.index[drop])

    return edit


REFUSED: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], tuple[str, ...], str]] = {
    "single_class_after_cohort": (
        _single_class,
        (),
        r"target 'family_recruitment': every one of the \d+ eligible rows is 'yes'; a study "
        r"needs both outcomes",
    ),
    "fewer_than_k_in_a_class": (
        _few_no(4),
        (),
        r"target 'family_recruitment': fewer than 10 rows are no \(privacy\.k = 10\)",
    ),
    "fewer_cases_than_folds": (
        _few_no(5),
        ("privacy.k=5", "cv.n_splits=6"),
        r"cv\.n_splits: 6 stratified folds need at least 6 cases of each outcome; found \d+ "
        r"positive and 5 negative",
    ),
    "no_rows_after_cohort": (
        _no_children,
        (),
        r"cohort 'children' selects no rows in this data",
    ),
    "no_outcome_recorded_in_cohort": (
        _no_recruiter_recorded_for_children,
        (),
        r"target 'family_recruitment': no rows of the cohort have the outcome recorded "
        r"\(cohort: [\d,]+ -> recruiter relation recorded: 0\)",
    ),
    "tiny_cohort_under_k": (
        _tiny(12),
        (),
        r"target 'family_recruitment': fewer than 10 rows are (yes|no) \(privacy\.k = 10\)",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_unanswerable_data_is_refused_and_nothing_written(
    base: pd.DataFrame, tmp_path: Path, case: str
) -> None:
    edit, overrides, message = REFUSED[case]
    run, out = _study(edit(base.copy()), tmp_path, *overrides)
    with pytest.raises(StudyError, match=message) as err:
        run()
    assert "Traceback" not in str(err.value)
    assert _written(out) == []


# --- handled: a valid study that drops or handles the odd factor --------------------------------


@pytest.fixture(scope="module")
def odd_factors_study(base: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    """A study on data with an all-missing, a constant category and two constant flags."""
    frame = base.copy()
    frame["datasource"] = pd.Categorical([None] * len(frame), frame["datasource"].cat.categories)
    frame["gender"] = pd.Categorical(["female"] * len(frame), frame["gender"].cat.categories)
    frame["means_threats"] = pd.array([True] * len(frame), dtype="boolean")
    frame["sector_agriculture"] = pd.array([False] * len(frame), dtype="boolean")
    run, _ = _study(frame, tmp_path_factory.mktemp("odd_factors"))
    return run()


def _rows(study: StudyResult, factor: str) -> dict[str, object]:
    return {r.level: r for r in study.table.rows if r.factor == factor}


def test_all_missing_factor_is_dropped(odd_factors_study: StudyResult) -> None:
    assert "datasource" not in {f.name for f in odd_factors_study.factors}
    assert _rows(odd_factors_study, "datasource") == {}
    with (odd_factors_study.out_dir / "factors.csv").open() as fh:
        assert "datasource" not in {r["factor"] for r in csv.DictReader(fh)}
    assert odd_factors_study.data_report.missing_share["datasource"] == 1.0
    assert ("datasource", NOT_RECORDED) in odd_factors_study.table.dropped


def test_constant_factors_are_dropped_and_reported(odd_factors_study: StudyResult) -> None:
    dropped = dict(odd_factors_study.table.dropped)
    for factor in ("gender", "means_threats", "sector_agriculture"):
        assert dropped[factor] == CONSTANT, factor
        assert _rows(odd_factors_study, factor) == {}
        assert factor not in {r.factor for r in odd_factors_study.table.context}
    document = json.loads((odd_factors_study.out_dir / "factors.json").read_text())
    assert {d["factor"] for d in document["dropped_factors"]} >= {"gender", "means_threats"}
    report = (odd_factors_study.out_dir / "report.md").read_text()
    assert "Factors left out of this study" in report
    assert "the same for every case (constant)" in report


def test_study_with_odd_factors_is_complete(odd_factors_study: StudyResult) -> None:
    metrics = json.loads((odd_factors_study.out_dir / "metrics.json").read_text())
    assert 0 <= metrics["cv/roc_auc_mean"] <= 1
    assert (odd_factors_study.out_dir / "report.html").is_file()


def test_tiny_cohort_gives_a_study_that_publishes_nothing_under_k(
    base: pd.DataFrame, tmp_path: Path
) -> None:
    frame = _tiny(30)(base.copy())
    n_yes = int(_family(frame)[_eligible(frame)].sum())
    assert 10 <= n_yes <= 20  # both outcomes at least k = 10
    run, out = _study(frame, tmp_path)
    study = run()
    assert study.metrics["target/n_rows"] == 30
    assert study.metrics["target/n_positive"] == n_yes
    with (out / "factors.csv").open() as fh:
        for row in csv.DictReader(fh):
            for column in ("n_with", "n_without"):
                assert row[column] in ("", "<10", "suppressed") or int(row[column]) >= 10, row
    # A level under k keeps its own row (never merged into another), with its counts suppressed.
    for row in study.table.rows:
        for n in (row.n_with, row.n_without):
            assert n is None or n == 0 or n >= 10, row
        # (a level withheld only to protect a smaller one, marked "suppressed", keeps its label)
        if row.n_with is None and study.table.marker(row.factor, row.level, "n_with") == "<10":
            assert row.label in ("suppressed", "unclear"), row
