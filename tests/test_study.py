"""The factor study end to end on synthetic data."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SMALL_STUDY
from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.errors import StudyError
from ctdc_risk.factors.factor_rows import COLUMNS
from ctdc_risk.factors.labels import LABELS
from ctdc_risk.pipeline.study import run_study

# The session study's settings (tests/conftest.py): this module reads that study.
FAST = SMALL_STUDY


def _spec(overrides):
    return compose_spec(overrides)


@pytest.fixture(scope="module")
def study(small_study):
    """The session's study (built once, shared): read it, never write into its folder."""
    return small_study.result


def test_progress_counts_folds_refits_and_targeting_folds(small_study):
    steps = {name.split(" (")[0]: (total, done) for name, total, done in small_study.steps}
    assert steps["bootstrap refits"] == (8, 8)
    assert steps["targeting folds"] == (3, 3)
    for model in ("logistic", "lightgbm"):
        total, done = steps[f"cross-validation: {model}"]
        assert 3 < done <= total == 3 + 3 + 1  # own folds, by country, by year
    assert next(n for n, total, _ in small_study.steps if total is None) == "loading data"


def test_writes_every_file_with_required_metrics(study):
    names = {p.name for p in study.files}
    assert {"factors.csv", "factors.json", "metrics.json", "cohort_flow.csv"} <= names
    metrics = json.loads((study.out_dir / "metrics.json").read_text())
    for key in ("cv/roc_auc_mean", "cv/roc_auc_std", "baseline/roc_auc_mean", "cohort/n_rows"):
        assert key in metrics
    assert metrics["cv/roc_auc_mean"] > metrics["baseline/roc_auc_mean"] + 0.1
    assert metrics["baseline/roc_auc_mean"] == pytest.approx(0.5)


def test_typed_result_is_what_the_run_folder_publishes(study):
    def rows(name):
        with (study.out_dir / name).open() as fh:
            return list(csv.DictReader(fh))

    def text(records):
        return [{key: str(value) for key, value in r.items()} for r in records]

    assert rows("cohort_flow.csv") == text(study.cohort_flow.to_records())
    assert rows("shap_subgroups.csv") == text(study.subgroups.to_records())
    assert {r.subgroup for r in study.subgroups.rows} >= {"boys", "girls"}
    assert all(isinstance(r.n, int) or r.n == "suppressed" for r in study.subgroups.rows)
    levels = json.loads((study.out_dir / "factors.json").read_text())["subgroup_levels"]
    assert levels == study.subgroups.levels_document()
    assert study.metrics == json.loads((study.out_dir / "metrics.json").read_text())


def test_factor_table_recovers_planted_effects(study):
    rows = {(r.factor, r.level): r for r in study.table.rows}
    assert rows[("age_band", "0--8")].label == "risk"
    assert rows[("gender", "male")].label == "risk"
    assert {r.label for r in study.table.rows} <= set(LABELS)
    for r in study.table.rows:
        if r.level in ("unknown", "not recorded"):
            assert r.label in ("unclear", "reference")
        # Every reference level rests on at least k cases with and without the outcome.
        if r.label == "reference":
            assert r.n_with is not None and r.n_with >= 10
    # Family recruitment is a recruitment outcome: what happened after recruitment is context,
    # described but never adjusted for or labelled.
    assert {r.phase for r in study.table.rows} <= {"before_recruitment", "recruitment"}
    context = {(r.factor, r.level): r for r in study.table.context}
    assert ("cross_border", "yes") in context
    assert ("means_false_promises", "yes") in context


def test_no_published_figure_rests_on_fewer_than_k(study):
    with (study.out_dir / "factors.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS)
    for r in rows:
        for col in ("n_with", "n_without"):
            assert r[col] == "<10" or int(r[col]) >= 10
    with (study.out_dir / "shap_subgroups.csv").open() as fh:
        assert all(r["n"] == "suppressed" or int(r["n"]) >= 10 for r in csv.DictReader(fh))


def test_same_seed_gives_byte_identical_factor_table(study, tmp_path):
    again = run_study(_spec(FAST), tmp_path / "again")
    first = (study.out_dir / "factors.csv").read_bytes()
    assert (again.out_dir / "factors.csv").read_bytes() == first


def test_two_workers_give_the_same_factor_table(study, tmp_path):
    parallel = run_study(_spec([*FAST[:-2], "stability.n_jobs=2", "cv.n_splits=3"]), tmp_path / "p")
    first = (study.out_dir / "factors.csv").read_bytes()
    assert (parallel.out_dir / "factors.csv").read_bytes() == first


def test_other_targets_and_models_run(tmp_path):
    result = run_study(
        _spec([*FAST, "target=sexual_exploitation", "model=logistic", "cohort=all",
               "data.n_rows=10000"]),
        tmp_path,
    )  # fmt: skip
    assert result.primary_model == "logistic"
    assert not [f for f in result.factors if f.name.startswith(("exploit_", "sector_", "sex_"))]


def test_tiny_cohort_is_a_clear_error_and_writes_nothing(tmp_path):
    spec = _spec([*FAST, "cohort=children_0_8", "data.n_rows=1000", "privacy.k=50"])
    with pytest.raises(StudyError, match=r"children_0_8.*fewer than privacy\.k = 50 cases"):
        run_study(spec, tmp_path)
    assert not (tmp_path / "factors.csv").exists()


def test_cli_runs_the_default_study(tmp_path):
    exe = str(Path(sys.executable).with_name("ctdc-risk"))
    out = subprocess.run(
        [exe, "debug=default", f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.5 < metrics["cv/roc_auc_mean"] <= 1
    assert "factors.csv" in out.stdout
    assert out.stdout.strip().splitlines()[-1].endswith("report.html")
    # the console gives the top profiles' held-out lift under each scheme
    lifts = next(ln for ln in out.stdout.splitlines() if "top-profile lift, held out:" in ln)
    assert "(folds grouped by country)" in lifts and "(later years)" in lifts
    # Log lines go to the run's log file, not through the progress display; codes never show.
    assert "[INFO]" not in out.stdout + out.stderr
    assert "[INFO]" in (tmp_path / "run" / "ctdc-risk.log").read_text()
    banner = "GENERATED DEMONSTRATION DATA, NOT CTDC RECORDS"
    assert banner in out.stdout.strip().splitlines()[0]  # first, and again above the summary
    assert out.stdout.count(banner) == 2
    for code in ("0--8", "9--17", "trans_nonconforming", "ctdc_risk_canonical"):
        assert code not in out.stdout
    assert "... bootstrap refits: 10 of 10" in out.stdout


def test_targeting_table_joins_the_run_folder_report_and_metrics(study):
    with (study.out_dir / "targeting.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(study.targeting.rows) >= 2
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert all(int(r["n_cases"]) >= 50 for r in rows)
    document = json.loads((study.out_dir / "targeting.json").read_text())
    assert document["factors"] == ["age_band", "gender", "citizenship_subregion", "cross_border"]
    assert set(document["columns"]) == set(rows[0])
    metrics = json.loads((study.out_dir / "metrics.json").read_text())
    coverage, share = metrics["targeting/top3_coverage"], metrics["targeting/top3_share_of_cases"]
    assert 0 < share < 1 and coverage > share  # the top profiles concentrate the outcome
    assert metrics["targeting/top3_lift"] == pytest.approx(coverage / share, abs=1e-5)
    assert (study.out_dir / "figures" / "targeting_gain.png").stat().st_size > 5000
    markdown = (study.out_dir / "report.md").read_text()
    assert "## Whom a prevention program could reach" in markdown
    lowest = study.targeting.most_conservative()
    assert f"would reach about {lowest.coverage:.0%} of the 'children' cases" in markdown
    assert "not who is at risk in a population" in markdown
    html = (study.out_dir / "report.html").read_text()
    assert 'id="targeting"' in html and 'alt="gain chart of the targeting profiles"' in html


def test_targeting_transport_joins_the_run_folder_report_and_metrics(study):
    """Issue 15: held-out lift of the top profiles with the study's folds, folds grouped by
    country and later years, in targeting.csv/json, metrics.json (so MLflow) and the report,
    which quotes the most conservative."""
    with (study.out_dir / "targeting.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {"lift", "training_lift", "lift_shrinkage", "lift_country", "lift_temporal"} <= set(
        rows[0]
    )
    assert any(r["lift_country"] for r in rows) and any(r["lift_temporal"] for r in rows)
    document = json.loads((study.out_dir / "targeting.json").read_text())
    schemes = {s["scheme"]: s for s in document["heldout_schemes"]}
    assert list(schemes) == ["default", "country", "temporal"]
    assert (
        schemes["temporal"]["folds"] == 1 and "tested on later" in schemes["temporal"]["held_out"]
    )
    metrics = json.loads((study.out_dir / "metrics.json").read_text())
    lifts = {
        name: metrics[f"targeting/top3_lift{suffix}"]
        for name, suffix in (("default", ""), ("country", "_country"), ("temporal", "_temporal"))
    }
    for name, lift in lifts.items():
        assert schemes[name]["lift"] == pytest.approx(lift, abs=1e-5)
        assert schemes[name]["lift_shrinkage"] == pytest.approx(
            schemes[name]["training_lift"] - lift, abs=1e-5
        )
    assert metrics["targeting/top3_lift_lowest"] == pytest.approx(min(lifts.values()), abs=1e-6)
    lowest = min(lifts, key=lambda name: lifts[name])
    assert document["most_conservative_scheme"] == lowest
    markdown = (study.out_dir / "report.md").read_text()
    section = markdown.split("## Whom a prevention program could reach")[1].split("\n## ")[0]
    assert f"a lift of {lifts[lowest]:.2f} (measured " in section
    assert "| held out | how | top profiles |" in section
    for lift in lifts.values():
        assert f"| {lift:.2f} |" in section
    # no profile is defined by a characteristic not being recorded
    for row in study.targeting.rows:
        assert "not recorded" not in row.profile and "unrecorded" not in row.profile
        for _, allowed in row.conditions:
            assert allowed != ("unknown",)


def test_targeting_can_be_switched_off(tmp_path):
    result = run_study(_spec([*FAST, "targeting=off", "model=logistic"]), tmp_path)
    assert result.targeting is None
    assert not (tmp_path / "targeting.csv").exists()
    assert not any(key.startswith("targeting/") for key in result.metrics)
    assert "Whom a prevention program" not in (tmp_path / "report.md").read_text()


def test_targeting_words_claim_no_cause_and_no_screening(study):
    from ctdc_risk.report.content import FORBIDDEN_WORDS

    section = (study.out_dir / "report.md").read_text().split("## Whom a prevention")[1]
    section = section.split("\n## ")[0].lower()
    for word in FORBIDDEN_WORDS:
        assert f" {word} " not in section, word
    assert "never for screening" in section
    for row in study.targeting.rows:
        assert row.profile in section or row.profile.lower() in section


def test_transport_scores_and_the_most_conservative_auc_in_the_summary(study):
    metrics = json.loads((study.out_dir / "metrics.json").read_text())
    country = metrics["transport/country/roc_auc"]
    temporal = metrics["transport/temporal/roc_auc"]
    assert 0 < country <= 1 and 0 < temporal <= 1
    assert metrics["target/n_distinct_records"] <= metrics["target/n_rows"]
    lowest = min(metrics["cv/roc_auc_mean"], country, temporal)
    markdown = (study.out_dir / "report.md").read_text()
    assert f"(ROC AUC {lowest:.2f} " in markdown
    assert "the lowest of the ways it was scored" in markdown
    assert "| grouped by country | later years |" in markdown


def test_every_factor_row_says_why_it_has_its_label(study):
    for row in study.table.rows:
        assert row.reason, row
        if row.label in ("risk", "protective"):
            assert row.q_value is not None and row.q_value < 0.05
            assert row.adjusted_or_low is not None and row.adjusted_or_high is not None
            assert row.boot_or_low is not None and row.boot_or_high is not None
            assert (row.adjusted_or_low > 1) == (row.label == "risk")
        if row.rank is not None and row.rank_low is not None:
            assert row.rank_low <= row.rank <= row.rank_high
    markdown = (study.out_dir / "report.md").read_text()
    for words in ("Labelling rule:", "Reference levels:", "Repeated records:", "Holm's correction"):
        assert words in markdown
    assert "## What else was recorded in these cases" in markdown
    with (study.out_dir / "context.csv").open() as fh:
        assert {r["phase"] for r in csv.DictReader(fh)} == {"exploitation"}


def test_e_values_and_the_headline_under_every_child_rule(study):
    labelled = [r for r in study.table.rows if r.label in ("risk", "protective")]
    assert labelled
    for r in labelled:
        assert r.e_value is not None and r.e_value_ci is not None
        assert r.e_value >= r.e_value_ci >= 1
    for r in study.table.rows:
        if r.label not in ("risk", "protective"):
            assert r.e_value is None
    markdown = (study.out_dir / "report.md").read_text()
    assert "E-value:" in markdown
    # Generated data: our headline under every rule, never beside the published figures.
    assert "Why our figures differ from the published ones:" not in markdown
    assert "## The headline under every child rule" in markdown
    assert "| who is a child |" in markdown
    assert "a minor when exploited (where recorded; else at registration) (this study)" in markdown


def test_sensitivity_analyses_set_primary_and_other_readings_side_by_side(study):
    with (study.out_dir / "sensitivity.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    labelled = {(r.factor, r.level) for r in study.table.rows if r.label in ("risk", "protective")}
    for analysis in ("recorded_groups", "documentation"):
        mine = [r for r in rows if r["analysis"] == analysis]
        assert {(r["factor"], r["level"]) for r in mine} == labelled
        assert {r["verdict"] for r in mine} <= {
            "robust", "changes size", "changes direction", "not estimable"
        }  # fmt: skip
        assert 0 <= study.metrics[f"sensitivity/{analysis}/robust_share"] <= 1
    # Restricting to documented cases leaves fewer cases; the documentation model keeps all.
    assert {int(r["n_cases"]) for r in rows if r["analysis"] == "documentation"} == {
        int(study.metrics["target/n_rows"])
    }
    assert all(int(r["n_cases"]) < study.metrics["target/n_rows"] for r in rows
               if r["analysis"] == "recorded_groups")  # fmt: skip
    markdown = (study.out_dir / "report.md").read_text()
    assert "## Does it hold under another reading of the missing data?" in markdown


def test_effect_modification_joins_the_run_folder_report_and_metrics(study):
    from ctdc_risk.factors.interaction_table import INTERACTION_COLUMNS

    table = study.interactions
    assert table is not None and {m.name for m in table.modifiers} == {"gender", "age_0_8_9_17"}
    labelled = {(r.factor, r.level) for r in study.table.rows if r.label in ("risk", "protective")}
    # Every labelled level is tested with each modifier other than its own factor.
    assert {(r.factor, r.level) for r in table.rows} == labelled
    with (study.out_dir / "interactions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(INTERACTION_COLUMNS) and len(rows) == len(table.rows)
    for r in rows:
        if r["result"] in ("suppressed", "not estimable"):
            assert r["ratio_of_or"] == r["or_group"] == r["or_comparison"] == ""
        else:
            assert float(r["ratio_low"]) <= float(r["ratio_of_or"]) <= float(r["ratio_high"])
    document = json.loads((study.out_dir / "interactions.json").read_text())
    assert len(document["interactions"]) == len(rows) and "Heinze-Schemper" in document["rule"]
    metrics = json.loads((study.out_dir / "metrics.json").read_text())
    assert metrics["interactions/tested"] == len(table.tested()) > 0
    # The synthetic generator plants no interaction.
    assert metrics["interactions/holding"] == len(table.holding()) == 0
    markdown = (study.out_dir / "report.md").read_text()
    assert "## Does it differ for boys and girls?" in markdown
    assert "## Does it differ for children aged 0-8 and children aged 9-17?" in markdown
    assert "No difference between boys and girls held" in markdown
    assert 'id="differ-gender"' in (study.out_dir / "report.html").read_text()
