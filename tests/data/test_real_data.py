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
    # Every country name in the file maps by exact name (no loose pattern needed), and no
    # blank is read as a country.
    assert report.country_mapped_share == 1.0
    assert report.unmapped_countries == {}
    assert report.country_na_as_missing == {}

    frame = dataset.frame
    known = frame[frame["recruiter_known"].fillna(False).to_numpy(dtype=bool)]
    is_child = known["is_child"]
    child = known[is_child.fillna(False).to_numpy(dtype=bool)]
    adult = known[is_child.eq(False).fillna(False).to_numpy(dtype=bool)]
    child_family = np.mean(child["recruiter_family"].fillna(False).to_numpy(dtype=bool))
    adult_family = np.mean(adult["recruiter_family"].fillna(False).to_numpy(dtype=bool))
    assert len(child) > 1_000 and len(adult) > 1_000
    assert child_family >= 4 * adult_family


@pytest.fixture(scope="module")
def default_study(real_synthetic_2021_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """The default study (children, family recruitment) on the real file, run once."""
    from ctdc_risk.cli.compose import compose_spec
    from ctdc_risk.pipeline.study import run_study

    spec = compose_spec(
        ["data=ctdc", f"data.path={real_synthetic_2021_path}", "stability.n_boot=20"]
    )
    return run_study(spec, tmp_path_factory.mktemp("real_default"))


@pytest.mark.slow
@pytest.mark.real_data
def test_real_2021_factor_labels_a_statistician_would_sign(default_study) -> None:
    """Issue 13 on the real file: references, separation, case phase, duplicates."""
    k = default_study.spec.privacy.k
    rows = default_study.table.rows
    # Children by the default rule (a minor when exploited): 5,813 with a recorded recruiter,
    # far fewer distinct records.
    assert default_study.metrics["target/n_rows"] == 5_813
    assert default_study.metrics["target/n_distinct_records"] < 0.6 * 5_813
    for r in rows:
        # No adjusted odds ratio far from 1 where the crude shares are about equal (the
        # signature of a level merged into its reference).
        if r.adjusted_or is not None and r.crude_pr is not None and 0.9 <= r.crude_pr <= 1.1:
            assert 0.1 < r.adjusted_or < 10, r
        if r.label == "reference":
            assert r.n_with is not None and r.share_with is not None
            yes = round(r.share_with * r.n_with)
            assert yes >= k and r.n_with - yes >= k, r
        # What happened after recruitment is never labelled for a recruitment outcome.
        assert r.phase != "exploitation", r
    labels = {(r.factor, r.level): r.label for r in rows}
    assert labels[("citizenship_subregion", "Central America")] != "risk"
    assert labels[("age_band", "0--8")] == "risk"
    assert {r.phase for r in default_study.table.context} == {"exploitation"}
    summary = (default_study.out_dir / "report.md").read_text().split("## How sure")[0]
    for r in default_study.table.context:
        assert r.factor_label not in summary


@pytest.mark.slow
@pytest.mark.real_data
def test_real_2021_family_prevention_targeting(default_study) -> None:
    """Issue 7 on the real file: the targeting table and gain chart of the children study."""
    import csv
    import json

    result = default_study
    tmp_path = result.out_dir
    table = result.targeting
    assert table is not None and len(table.rows) >= 3
    assert table.n_cases == len(result.target.y) > 5_000
    with (tmp_path / "targeting.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert all(int(r["n_cases"]) >= 50 for r in rows)
    first = table.rows[0]
    assert first.folds_found == table.folds and first.heldout is not None
    assert first.heldout.interval[0] > table.rate  # the top profile concentrates the outcome
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["targeting/top3_coverage"] > metrics["targeting/top3_share_of_cases"]
    assert (tmp_path / "figures" / "targeting_gain.png").exists()


@pytest.mark.slow
@pytest.mark.real_data
def test_real_2021_audit_finds_no_recoverable_count(
    default_study, real_synthetic_2021_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Issue 14 on the real file: the default study, describe and the named experiments.

    Without complementary suppression this file gives back the 14 transgender children of the
    default study (all recruited by family: 14 minus the other levels' counts), a pooled
    exploitation sub-region of 9 cases and single calibration bins.
    """
    from ctdc_risk.audit import audit_run
    from ctdc_risk.cli.compose import compose_spec
    from ctdc_risk.pipeline.describe import run_describe
    from ctdc_risk.pipeline.study import run_study

    data = ["data=ctdc", f"data.path={real_synthetic_2021_path}"]
    fast = ["stability.n_boot=2", "stability.n_jobs=1"]
    folders = [default_study.out_dir]
    tmp = tmp_path_factory.mktemp("real_audit")
    folders.append(
        run_describe(compose_spec(["experiment=iom_2017_headline", *data]), tmp / "iom").out_dir
    )
    for name, extra in (
        ("sexual_exploitation_children", []),
        ("boys_vs_girls_family", ["cohort=boys"]),
    ):
        spec = compose_spec([f"experiment={name}", *data, *fast, *extra])
        folders.append(run_study(spec, tmp / name).out_dir)
    for folder in folders:
        report = audit_run(folder)
        assert report.ok, "\n".join(report.lines())
    trans = next(
        r
        for r in default_study.table.rows
        if (r.factor, r.level) == ("gender", "trans_nonconforming")
    )
    assert trans.share_with is None


@pytest.mark.slow
@pytest.mark.real_data
def test_real_2021_targeting_transport(default_study) -> None:
    """Issue 15 on the real file: the top profiles' held-out lift with the study's folds, folds
    grouped by country and later years; the summary quotes the lowest; no profile is defined by
    a characteristic not being recorded."""
    import json

    table = default_study.targeting
    assert table is not None
    schemes = {s.scheme: s for s in table.schemes}
    assert list(schemes) == ["default", "country", "temporal"]
    assert all(s.made and s.lift is not None for s in schemes.values())
    lowest = table.most_conservative()
    assert lowest.lift == min(s.lift for s in schemes.values())
    metrics = json.loads((default_study.out_dir / "metrics.json").read_text())
    for name, suffix in (("default", ""), ("country", "_country"), ("temporal", "_temporal")):
        assert metrics[f"targeting/top3_lift{suffix}"] == pytest.approx(
            schemes[name].lift, abs=1e-5
        )
    summary = (default_study.out_dir / "report.md").read_text()
    assert f"a lift of {lowest.lift:.2f} (measured " in summary
    for row in table.rows:
        assert "not recorded" not in row.profile and "unrecorded" not in row.profile, row
        for _, allowed in row.conditions:
            assert any(level != "unknown" for level in allowed), row
    # the children aged 0-8 stand out on every held-out scheme
    assert table.rows[0].profile == "children aged 0-8"
    assert all(s.lift > 1.1 for s in schemes.values())
