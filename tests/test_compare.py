"""``ctdc-risk compare``: the table logic on hand-made runs, and the command on a real sweep."""

from __future__ import annotations

import csv
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
    assert ["factor", "<script>", "a|b", "risk #1", "protective #1", "yes"] in rows


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
