"""``ctdc-risk compare``: the table logic on hand-made runs, and the command on a real sweep."""

from __future__ import annotations

import csv
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ctdc_risk.report.comparison import (
    RunSummary,
    build_comparison,
    column_names,
    to_html,
    to_markdown,
    write_comparison,
)

EXE = str(Path(sys.executable).with_name("ctdc-risk"))


def _run(run_id: str, overrides: str, factors: list[tuple[str, str, int, str]], auc: float):
    rows = [
        {"factor_label": f, "level": lvl, "rank": str(rank), "label": label}
        for f, lvl, rank, label in factors
    ]
    return RunSummary(
        run_id, run_id, "FINISHED", {"cv/roc_auc_mean": auc, "target/n_rows": 500.0},
        {"sweep_overrides": overrides, "model": overrides.split("=")[-1]}, rows,
    )  # fmt: skip


RUNS = [
    _run("a" * 32, "debug=default model=logistic", [
        ("gender", "female", 1, "reference"), ("gender", "male", 1, "risk"),
        ("age band", "0-8", 2, "risk"), ("border", "yes", 3, "protective"),
        ("region", "X", 30, "unclear"),
    ], 0.81),
    _run("b" * 32, "debug=default model=lightgbm", [
        ("gender", "female", 2, "reference"), ("gender", "male", 2, "risk"),
        ("age band", "0-8", 1, "unclear"), ("border", "yes", 3, "protective"),
        ("region", "X", 31, "unclear"),
    ], 0.84),
]  # fmt: skip


def test_columns_are_the_overrides_that_tell_runs_apart():
    assert column_names(RUNS) == ["model=logistic", "model=lightgbm"]


def test_levels_whose_label_differs_are_marked():
    c = build_comparison(RUNS, top=15)
    rows = {(r.factor, r.level): r for r in c.factor_rows}
    assert ("gender", "female") not in rows  # reference levels are not compared
    assert ("region", "X") not in rows  # not in any run's top 15
    assert rows[("age band", "0-8")].differs
    assert rows[("age band", "0-8")].cells == ["risk #2", "unclear #1"]
    assert not rows[("gender", "male")].differs
    assert not rows[("border", "yes")].differs
    assert c.n_differ == 1
    order = [(r.factor, r.level) for r in c.factor_rows]  # best rank in any run first
    assert order == [("age band", "0-8"), ("gender", "male"), ("border", "yes")]
    metrics = dict(c.metric_rows)
    assert metrics["cv/roc_auc_mean"] == [0.81, 0.84]


def test_markdown_and_html_escape_what_they_show(tmp_path):
    hostile = _run("c" * 32, "model=x|y", [("<script>", "a|b", 1, "risk")], 0.5)
    other = _run("d" * 32, "model=z", [("<script>", "a|b", 1, "protective")], 0.5)
    c = build_comparison([hostile, other])
    md = to_markdown(c)
    assert "a\\|b" in md and "model=x\\|y" in md
    page = to_html(c)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'class="differs"' in page
    files = write_comparison(c, tmp_path, k=10)
    assert [f.name for f in files] == ["comparison.md", "comparison.csv", "comparison.html"]
    with open(tmp_path / "comparison.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-1] == "differs"
    assert rows[0][-5:-1] == ["ratio_of_or", "ratio_low", "ratio_high", "q_value"]
    # Not separate groups: no test, the label difference is what is marked.
    assert ["factor", "<script>", "a|b", "risk #1", "protective #1", "", "", "", "", "yes"] in rows


def _group_run(
    cohort: str, n: float, levels: list[tuple[str, str, float, float, float, str]], **tags: str
) -> RunSummary:
    """A run of one cohort: (factor, level, odds ratio, low, high, label) per level."""
    rows = [
        {"factor_label": "gender", "level": "female", "reference_level": "female", "rank": "1",
         "label": "reference", "adjusted_or": "1.0", "adjusted_or_low": "",
         "adjusted_or_high": ""},
    ] + [
        {"factor_label": f, "level": lvl, "reference_level": "ref", "rank": str(i + 1),
         "label": label, "adjusted_or": str(v), "adjusted_or_low": str(lo),
         "adjusted_or_high": str(hi)}
        for i, (f, lvl, v, lo, hi, label) in enumerate(levels)
    ]  # fmt: skip
    tags = {"cohort": cohort, "target": "family_recruitment", "data_release": "x", **tags}
    params = {"explain.alpha": "0.05", "explain.multiplicity": "holm"}
    return RunSummary(
        cohort * 8, cohort, "FINISHED", {"target/n_rows": n},
        {"sweep_overrides": f"cohort={cohort}", **tags}, rows, params,
    )  # fmt: skip


# Girls (3,508 cases) have narrow intervals, boys (620) wide ones: the same odds ratio is
# "protective" for girls and "unclear" for boys. Only South-eastern Asia truly differs.
BOYS = _group_run("boys", 620, [
    ("citizen of", "Northern America", 0.62, 0.35, 1.10, "unclear"),
    ("citizen of", "Eastern Europe", 0.70, 0.40, 1.22, "unclear"),
    ("citizen of", "South-eastern Asia", 4.0, 2.2, 7.3, "risk"),
    ("age band", "unknown", 0.5, 0.3, 0.9, "unclear"),
])  # fmt: skip
GIRLS = _group_run("girls", 3508, [
    ("citizen of", "Northern America", 0.60, 0.48, 0.75, "protective"),
    ("citizen of", "Eastern Europe", 0.72, 0.60, 0.86, "protective"),
    ("citizen of", "South-eastern Asia", 0.50, 0.38, 0.66, "protective"),
    ("age band", "unknown", 1.5, 1.2, 1.9, "unclear"),
])  # fmt: skip


def test_separate_groups_are_compared_by_a_test_not_by_labels():
    c = build_comparison([BOYS, GIRLS])
    rows = {r.level: r for r in c.factor_rows}
    assert c.group_test is not None and c.group_test.groups == ("boys", "girls")
    assert c.group_test.label_differences == 3  # all but the unknown age band
    assert c.group_test.n_tested == 3  # unknown levels are not tested
    assert not rows["Northern America"].differs and not rows["Eastern Europe"].differs
    assert rows["South-eastern Asia"].differs and c.n_differ == 1
    ratio, low, _ = rows["South-eastern Asia"].ratio
    assert ratio == pytest.approx(8.0)
    # Independent samples: se of the difference from the two published intervals.
    se = math.hypot(math.log(7.3 / 2.2), math.log(0.66 / 0.38)) / (2 * 1.959963984540054)
    assert low == pytest.approx(8.0 * math.exp(-1.959963984540054 * se))
    assert rows["unknown"].ratio is None
    md = to_markdown(c)
    assert "Labels differ for 3 of 4 levels shown; a label that differs" in md
    assert "(620 against 3,508 cases)" in md
    assert "Holm's correction across 3 levels), 1 differ" in md
    assert "| ratio of odds ratios boys/girls [95 % CI] | q | differs |" in md
    assert "8.00 [" in md and "not tested" in md
    assert "experiment=boys_girls_interactions" in to_html(c)


def test_the_test_needs_separate_groups_of_one_outcome_and_data(tmp_path):
    other_target = _group_run("girls", 3508, [], target="sexual_exploitation")
    for runs in ([BOYS, other_target], [BOYS, GIRLS, GIRLS], [BOYS, _group_run("children", 9, [])]):
        assert build_comparison(runs).group_test is None
    # Separate groups without a level estimable in both: said, not counted.
    empty = build_comparison([BOYS, _group_run("girls", 3508, [])])
    assert empty.group_test is not None and empty.n_differ == 0
    assert "No level could be compared" in empty.headline()
    files = write_comparison(build_comparison([BOYS, GIRLS]), tmp_path, k=10)
    with open(files[1], newline="") as fh:
        rows = {r["level"]: r for r in csv.DictReader(fh) if r["section"] == "factor"}
    assert rows["South-eastern Asia"]["differs"] == "yes"
    assert float(rows["South-eastern Asia"]["ratio_of_or"]) == pytest.approx(8.0)
    assert (
        rows["Northern America"]["differs"] == ""
        and float(rows["Northern America"]["q_value"]) > 0.05
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def model_comparison(tmp_path_factory):
    """The model comparison sweep (2 models x 3 targets) on small synthetic data."""
    cwd = tmp_path_factory.mktemp("compare")
    out = cli(
        "-m", "experiment=model_comparison", "debug=default", "stability.n_boot=2",
        "stability.n_jobs=1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", cwd=cwd,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    parent = re.search(r"compare\.parent=([0-9a-f]{32})", out.stdout.replace("\n", ""))
    assert parent is not None, out.stdout
    return cwd, parent.group(1)


@pytest.mark.parametrize("how", ["experiment", "parent"])
def test_compare_writes_the_side_by_side_table(model_comparison, how):
    cwd, parent = model_comparison
    choice = "compare.experiment=model_comparison" if how == "experiment" else (
        f"compare.parent={parent}"
    )  # fmt: skip
    out = cli("compare", choice, f"hydra.run.dir=cmp_{how}", cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Downloading artifacts" not in out.stderr
    md = (cwd / f"cmp_{how}" / "comparison.md").read_text()
    header = md.splitlines()[2]
    for model in ("logistic", "lightgbm"):
        for target in ("family_recruitment", "sexual_exploitation", "forced_labour"):
            assert f"model={model} target={target}" in header
    assert "| cv/roc_auc_mean |" in md
    assert "## Factors" in md
    assert (cwd / f"cmp_{how}" / "comparison.html").read_text().startswith("<!DOCTYPE html>")
    with open(cwd / f"cmp_{how}" / "comparison.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["section"] == "factor" for r in rows) > 0


def test_compare_two_runs_by_id(model_comparison):
    from mlflow.tracking import MlflowClient

    cwd, parent = model_comparison
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("model_comparison")
    ids = [
        r.info.run_id
        for r in client.search_runs([experiment.experiment_id], max_results=100)
        if r.data.tags.get("mlflow.parentRunId") == parent
    ][:2]
    out = cli("compare", f"compare.runs=[{ids[0]},{ids[1]}]", "hydra.run.dir=cmp_ids", cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    md = (cwd / "cmp_ids" / "comparison.md").read_text()
    assert ids[0] in md and ids[1] in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare.experiment=nope"], "no experiment 'nope'"),
        (["compare.parent=0123"], "no run '0123'"),
        ([], "exactly one of"),
        (["compare.experiment=model_comparison", "compare.parent=x"], "exactly one of"),
        (["compare.experiment=model_comparison", "compare.top=0"], "compare.top"),
        (["compare.experiment=model_comparison", "+compare.colour=red"], "colour"),
    ],
)
def test_compare_mistakes_get_one_clear_line(model_comparison, args, message):
    cwd, _ = model_comparison
    out = cli("compare", *args, "hydra.run.dir=cmp_bad", cwd=cwd)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert message in out.stderr
    assert not (cwd / "cmp_bad" / "comparison.md").exists()
