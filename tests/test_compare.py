"""``ctdc-risk compare``: the table logic on hand-made runs, and the command on a real sweep."""

from __future__ import annotations

import csv
import math
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli_in_process
from ctdc_risk.report.compare_groups import group_runs, run_settings
from ctdc_risk.report.comparison import RunSummary, build_comparison, column_names
from ctdc_risk.report.comparison_render import to_html, to_markdown, write_comparison

EXE = str(Path(sys.executable).with_name("ctdc-risk"))


def _run(run_id: str, overrides: str, factors: list[tuple[str, str, int, str]], auc: float):
    """A run logged without params: what differs is read from its tags and sweep overrides."""
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


def test_columns_are_the_settings_that_tell_runs_apart():
    assert column_names(RUNS) == ["model=logistic", "model=lightgbm"]


def test_levels_whose_label_differs_are_marked():
    c = build_comparison(RUNS, top=15)
    (s,) = c.sections
    assert s.group.varies == "model" and s.group.heads == ("model=logistic", "model=lightgbm")
    rows = {(r.factor, r.level): r for r in s.rows}
    assert ("gender", "female") not in rows  # reference levels are not compared
    assert ("region", "X") not in rows  # not in any run's top 15, and no difference
    assert rows[("age band", "0-8")].differs
    assert [c.verdict() for c in rows[("age band", "0-8")].cells] == ["risk #2", "unclear #1"]
    assert not rows[("gender", "male")].differs
    assert not rows[("border", "yes")].differs
    assert (s.n_label_differ, s.n_levels) == (1, 4) and c.n_differ == 1
    order = [(r.factor, r.level) for r in s.rows]  # best rank in any run first
    assert order == [("age band", "0-8"), ("gender", "male"), ("border", "yes")]
    assert dict(s.metric_rows)["cv/roc_auc_mean"] == [0.81, 0.84]


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
        rows = [r for r in csv.DictReader(fh) if r["row"] == "level"]
    # Not separate groups: no test, the label difference is what is marked, one row per run.
    assert [(r["run"], r["label"], r["differs"]) for r in rows] == [
        ("model=x|y", "risk", "yes"), ("model=z", "protective", "yes"),
    ]  # fmt: skip
    assert all(r["ratio_of_or"] == "" for r in rows)


def _params(model: str, target: str, cohort: str = "children") -> dict[str, str]:
    """The flattened config of a study (what tracking logs as params)."""
    return {
        "model.use": f'["{model}"]', "target.name": target, "target.outcome": f"y_{target}",
        "cohort.name": cohort, "cohort.rules": f'[{{"name": "{cohort}"}}]', "seed": "42",
        "explain.alpha": "0.05", "explain.multiplicity": "holm",
        "tracking.experiment": f"exp_{model}", "stability.n_jobs": model[:3],
    }  # fmt: skip


def _study(
    model: str,
    target: str,
    levels: list[tuple[str, str, str, float | None, str]],
    cohort: str = "children",
    n: float = 800.0,
    dropped: dict[str, str] | None = None,
) -> RunSummary:
    """A run with params: (factor, level, label, odds ratio, reason) per level; CI = OR x/÷ 1.5."""
    rows = [
        {"factor_label": f, "level": lvl, "reference_level": "no" if f != "region" else "A",
         "rank": str(i + 1), "label": label, "reason": reason,
         "adjusted_or": "" if v is None else str(v),
         "adjusted_or_low": "" if v is None else str(v / 1.5),
         "adjusted_or_high": "" if v is None else str(v * 1.5)}
        for i, (f, lvl, label, v, reason) in enumerate(levels)
    ]  # fmt: skip
    tags = {"cohort": cohort, "target": target, "model": model, "data_release": "x"}
    return RunSummary(
        f"{model}{target}{cohort}"[:32].ljust(32, "0"), f"{model} {target}", "FINISHED",
        {"target/n_rows": n, "cv/roc_auc_mean": 0.7}, tags,
        rows, _params(model, target, cohort), dropped or {},
    )  # fmt: skip


BORDER_RISK = ("border", "yes", "risk", 2.0, "interval excludes 1")
BORDER_UNCLEAR = ("border", "yes", "unclear", 2.0, "SHAP disagrees")
REGION_B = ("region", "B", "protective", 0.4, "interval excludes 1")
ABDUCTED = ("abducted", "yes", "unclear", 1.1, "interval crosses 1")


def test_labels_are_never_compared_across_targets():
    # Family recruitment: the models disagree on the border. Sexual exploitation: they agree,
    # though every label differs from family recruitment's.
    runs = [
        _study("logistic", "family", [BORDER_RISK, REGION_B, ABDUCTED]),
        _study("lightgbm", "family", [BORDER_UNCLEAR, REGION_B, ABDUCTED]),
        _study("logistic", "sexual", [("border", "yes", "protective", 0.5, ""), ABDUCTED]),
        _study("lightgbm", "sexual", [("border", "yes", "protective", 0.5, ""), ABDUCTED]),
    ]
    assert run_settings(runs)[0] == {"target": "family", "model": "logistic"}
    c = build_comparison(runs)
    assert [(s.group.varies, s.group.fixed) for s in c.sections] == [
        ("model", (("target", "family"),)), ("model", (("target", "sexual"),)),
    ]  # fmt: skip
    family, sexual = c.sections
    assert (family.n_label_differ, family.n_levels) == (1, 3)
    assert (sexual.n_label_differ, sexual.n_levels) == (0, 2)
    assert c.n_differ == 1
    assert family.summary() == (
        "Within target family, the 2 models disagree on 1 of 3 levels labelled in every run."
    )
    # The estimates are the same model's: the label differs through each run's own model.
    assert family.same_estimates and "the same in every run" in family.headline()
    assert c.headline().splitlines() == [
        family.summary(), "  " + sexual.summary(),
    ]  # the console: one short line per group  # fmt: skip
    assert all(len(line) < 100 for line in c.headline().splitlines())
    md = to_markdown(c)
    assert "## Within target family: the 2 models" in md
    assert "| border | yes | 2.00 [1.33-3.00] risk #1 | 2.00 [1.33-3.00] unclear #1 | **≠** |" in md


def test_models_within_cohorts_and_cohorts_within_models():
    boys = [("border", "yes", "unclear", 1.2, "crosses 1"), ("region", "B", "risk", 4.0, "")]
    girls = [("border", "yes", "protective", 0.8, "q"), ("region", "B", "protective", 0.5, "")]
    runs = [
        _study(model, "family", levels, cohort=cohort, n=n)
        for model in ("logistic", "lightgbm")
        for cohort, levels, n in (("boys", boys, 620.0), ("girls", girls, 3508.0))
    ]
    groups, alone = group_runs(runs)
    assert not alone
    assert [(g.varies, g.fixed, g.runs) for g in groups] == [
        ("cohort", (("target", "family"), ("model", "logistic")), (0, 1)),
        ("cohort", (("target", "family"), ("model", "lightgbm")), (2, 3)),
        ("model", (("target", "family"), ("cohort", "boys")), (0, 2)),
        ("model", (("target", "family"), ("cohort", "girls")), (1, 3)),
    ]  # fmt: skip
    assert groups[0].heads == ("cohort=boys", "cohort=girls")
    assert groups[0].where() == "target family, model logistic"
    c = build_comparison(runs)
    cohorts, models = c.sections[0], c.sections[2]
    # Separate groups of one outcome: a z-test on the odds ratios, not a count of labels.
    assert cohorts.test is not None and cohorts.test.groups == ("boys", "girls")
    rows = {r.level: r for r in cohorts.rows}
    assert rows["B"].differs and not rows["yes"].differs and cohorts.n_differ == 1
    assert rows["B"].ratio is not None and rows["B"].ratio[0] == pytest.approx(8.0)
    assert cohorts.n_label_differ == 2  # reported beside the test, not counted as differences
    assert "(620 against 3,508 cases)" in cohorts.headline()
    assert models.test is None and models.n_label_differ == 0
    md = to_markdown(c)
    assert "| ratio of odds ratios boys/girls [95 % CI] | q | differs |" in md


UNDER_K = "fewer than 10 cases on one side"


def test_a_level_missing_from_a_run_says_why(tmp_path):
    full = [
        BORDER_RISK, ("region", "B", "suppressed", 3.0, f"suppressed: {UNDER_K}"),
        ("region", "C", "not estimable", None, "collinear with region D"),
        ("region", "E", "unclear", 1.1, "crosses 1"), ("gender", "male", "unclear", 1.0, "x"),
        ("abducted", "yes", "unclear", 1.1, "x"),
    ]  # fmt: skip
    partial = [
        BORDER_RISK, ("region", "B", "unclear", 1.2, "x"), ("region", "C", "unclear", 1.3, "x"),
        ("region", "other (fewer than k cases)", "unclear", 1.0, "pooled"),
    ]  # fmt: skip
    runs = [
        _study("logistic", "family", full),
        _study("lightgbm", "family", partial, dropped={"gender": "the same for every case"}),
    ]
    (s,) = build_comparison(runs, top=50).sections
    cells = {r.level: r.cells for r in s.rows}
    assert cells["B"][0].why() == f"suppressed: {UNDER_K}"
    assert cells["B"][0].estimate() == ""  # a suppressed level shows no estimate
    assert cells["C"][0].why() == "not estimable: collinear with region D"
    assert "pooled into 'other (fewer than k cases)'" in cells["E"][1].why()
    assert cells["male"][1].why() == "factor left out of this study: the same for every case"
    assert cells["yes"][1].why().startswith("factor not in this run's table: left out")
    assert (s.n_levels, s.n_incomplete) == (1, 5)  # border; B, C, E, male, abducted lack one
    assert "5 more case-describing levels have no label" in s.headline()
    md = to_markdown(c := build_comparison(runs, top=50))
    assert (
        "| region | B | suppressed: fewer than 10 cases on one side | 1.20 [0.80-1.80] unclear #2 |"
        in md
    )
    page = to_html(c)
    assert "factor left out of this study: the same for every case" in page
    with open(write_comparison(c, tmp_path, k=10)[1], newline="") as fh:
        why = {(r["run"], r["level"]): r["why"] for r in csv.DictReader(fh) if r["row"] == "level"}
    assert why[("model=logistic", "C")] == "not estimable: collinear with region D"


def test_odds_ratios_against_different_references_are_not_compared():
    runs = [_study(m, "family", [BORDER_RISK, ABDUCTED]) for m in ("logistic", "lightgbm")]
    runs[1].factors[0]["reference_level"] = "unknown"
    (s,) = build_comparison(runs).sections
    border = next(r for r in s.rows if r.factor == "border")
    assert not border.comparable and not border.differs
    assert [c.why() for c in border.cells] == ["against reference no", "against reference unknown"]
    assert (s.n_levels, s.n_incomplete) == (1, 1)


def test_run_ids_and_small_counts_in_the_metrics(tmp_path):
    runs = [_study("logistic", "family", [BORDER_RISK], n=7.0), _study("lightgbm", "family", [])]
    c = build_comparison(runs)
    md = to_markdown(c, k=10)
    assert "| target/n_rows | <10 | 800 |" in md
    assert runs[0].run_id in md
    with open(write_comparison(c, tmp_path, k=10)[1], newline="") as fh:
        values = [r["value"] for r in csv.DictReader(fh) if r["factor"] == "target/n_rows"]
    assert values == ["<10", "800.0"]


def test_a_run_alone_in_its_target_is_named():
    runs = [
        _study("logistic", "family", [BORDER_RISK]), _study("lightgbm", "family", [BORDER_RISK]),
        _study("logistic", "sexual", [BORDER_RISK]),
    ]  # fmt: skip
    c = build_comparison(runs)
    assert len(c.sections) == 1 and c.alone == [
        (2, "no other run of target sexual to compare it with")
    ]
    assert "Not compared: target=sexual model=logistic" in c.headline()
    # Two runs of one target that differ in two settings at once: one group that says so.
    odd = [
        _study("logistic", "family", [], cohort="boys"),
        _study("lightgbm", "family", [], cohort="girls"),
    ]
    (s,) = build_comparison(odd).sections
    assert s.group.varies == "cohort+model"
    assert s.group.heads == ("cohort=boys model=logistic", "cohort=girls model=lightgbm")


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
    (s,) = c.sections
    assert s.group.varies == "cohort"  # from the tags: these runs have no cohort params
    rows = {r.level: r for r in s.rows}
    assert s.test is not None and s.test.groups == ("boys", "girls")
    assert (s.n_label_differ, s.n_levels) == (3, 3)  # the unknown age band is never labelled
    assert s.test.n_tested == 3  # unknown levels are not tested
    assert not rows["Northern America"].differs and not rows["Eastern Europe"].differs
    assert rows["South-eastern Asia"].differs and c.n_differ == 1
    ratio, low, _ = rows["South-eastern Asia"].ratio
    assert ratio == pytest.approx(8.0)
    # Independent samples: se of the difference from the two published intervals.
    se = math.hypot(math.log(7.3 / 2.2), math.log(0.66 / 0.38)) / (2 * 1.959963984540054)
    assert low == pytest.approx(8.0 * math.exp(-1.959963984540054 * se))
    assert rows["unknown"].ratio is None
    md = to_markdown(c)
    assert "Labels differ for 3 of 3 levels labelled in both; a label that differs" in md
    assert "(620 against 3,508 cases)" in md
    tiny = build_comparison([replace(BOYS, metrics={"target/n_rows": 9.0}), GIRLS], k=10)
    assert "(<10 against 3,508 cases)" in tiny.sections[0].headline()
    assert "Holm's correction across 3 levels), 1 differ" in md
    assert "| ratio of odds ratios boys/girls [95 % CI] | q | differs |" in md
    assert "8.00 [" in md and "not tested" in md
    assert "experiment=boys_girls_interactions" in to_html(c)


def test_the_test_needs_separate_groups_of_one_outcome_and_data(tmp_path):
    other_target = _group_run("girls", 3508, [], target="sexual_exploitation")
    for runs in ([BOYS, other_target], [BOYS, GIRLS, GIRLS], [BOYS, _group_run("children", 9, [])]):
        assert all(s.test is None for s in build_comparison(runs).sections)
    # Separate groups without a level estimable in both: said, not counted.
    (empty,) = build_comparison([BOYS, _group_run("girls", 3508, [])]).sections
    assert empty.test is not None and empty.n_differ == 0
    assert "No level could be compared" in empty.headline()
    files = write_comparison(build_comparison([BOYS, GIRLS]), tmp_path, k=10)
    with open(files[1], newline="") as fh:
        rows = {r["level"]: r for r in csv.DictReader(fh) if r["run"] == "cohort=boys"}
    assert rows["South-eastern Asia"]["differs"] == "yes"
    assert float(rows["South-eastern Asia"]["ratio_of_or"]) == pytest.approx(8.0)
    assert (
        rows["Northern America"]["differs"] == ""
        and float(rows["Northern America"]["q_value"]) > 0.05
    )


LONG = "a factor with a very long name that a reader would want to see wrapped " * 3


def _wide_comparison():
    levels = [(LONG, f"level {i} {LONG}", "unclear", 1.0 + i, "x") for i in range(3)]
    runs = [_study(m, "family", levels) for m in ("logistic", "lightgbm", "xgboost", "other")]
    return build_comparison(runs)


def test_html_tables_wrap_to_the_page_width():
    page = to_html(_wide_comparison())
    style = page[page.index("<style>") : page.index("</style>")]
    assert "table-layout:fixed" in style and "width:100%" in style
    assert "overflow-wrap:anywhere" in style and "max-width:60rem" in style


@pytest.mark.slow
def test_html_page_does_not_scroll_sideways_in_chromium(tmp_path):
    from test_report_browser import CHROMIUM_ARGS, HOW_TO_GET_CHROMIUM, _chromium

    executable = _chromium()
    if executable is None:
        pytest.skip(f"no chromium executable found; {HOW_TO_GET_CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not importable")
    page_file = tmp_path / "comparison.html"
    page_file.write_text(to_html(_wide_comparison()), encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            page.goto(page_file.as_uri(), wait_until="load")
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                " Math.max(...Array.from(document.querySelectorAll('table'), t => t.scrollWidth"
                " - t.clientWidth))]"
            )
        finally:
            browser.close()
    scroll, client, table_overflow = widths
    assert scroll <= client and table_overflow <= 0, widths


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip


@pytest.fixture
def compare(tracked_sweeps, tmp_path):
    """``run(*args, in_process=True) -> (result, run_dir)``: ``ctdc-risk compare ARGS`` on the
    session's model comparison sweep (:func:`tracked_sweeps`), from ``tmp_path``, its folder
    ``tmp_path / "cmp"``: the shared store is only read."""
    assert tracked_sweeps.comparison.returncode == 0, tracked_sweeps.comparison.stderr[-3000:]
    assert tracked_sweeps.comparison_parent, tracked_sweeps.comparison.stdout
    run_dir = tmp_path / "cmp"
    settings = [f"tracking.tracking_uri={tracked_sweeps.store_uri}", f"hydra.run.dir={run_dir}"]

    def run(*args: str, in_process: bool = True) -> tuple[Any, Path]:
        if in_process:
            return run_cli_in_process("compare", *args, *settings, cwd=tmp_path), run_dir
        return cli("compare", *args, *settings, cwd=tmp_path), run_dir

    return run


# "experiment" runs the installed command in a real process, "parent" in this one.
@pytest.mark.parametrize("how", ["experiment", "parent"])
def test_compare_writes_the_side_by_side_table(compare, tracked_sweeps, how):
    parent = tracked_sweeps.comparison_parent
    choice = "compare.experiment=model_comparison" if how == "experiment" else (
        f"compare.parent={parent}"
    )  # fmt: skip
    out, run_dir = compare(choice, in_process=how == "parent")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Downloading artifacts" not in out.stderr
    md = (run_dir / "comparison.md").read_text()
    # One section per target, the two models side by side; no label compared across targets.
    for target in ("family_recruitment", "sexual_exploitation", "forced_labour"):
        assert f"## Within target {target}: the 2 models" in md
    assert md.count("| | model=logistic | model=lightgbm |") == 3
    assert "| cv/roc_auc_mean |" in md
    assert re.search(r"\| \d+\.\d\d \[\d+\.\d\d-\d+\.\d\d\] unclear #\d+ \|", md)
    summary = out.stdout[out.stdout.index("Compared") :].splitlines()
    assert sum(line.startswith("  Within target ") for line in summary) == 3
    assert (run_dir / "comparison.html").read_text().startswith("<!DOCTYPE html>")
    with open(run_dir / "comparison.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["group"] for r in rows if r["row"] == "level"} == {
        "target family_recruitment", "target sexual_exploitation", "target forced_labour",
    }  # fmt: skip


def test_compare_two_runs_by_id(compare, tracked_sweeps):
    parent = tracked_sweeps.comparison_parent
    client = tracked_sweeps.client()
    experiment = client.get_experiment_by_name("model_comparison")
    ids = [
        r.info.run_id
        for r in client.search_runs([experiment.experiment_id], max_results=100)
        if r.data.tags.get("mlflow.parentRunId") == parent
    ][:2]
    out, run_dir = compare(f"compare.runs=[{ids[0]},{ids[1]}]")
    assert out.returncode == 0, out.stderr[-3000:]
    md = (run_dir / "comparison.md").read_text()
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
def test_compare_mistakes_get_one_clear_line(compare, args, message):
    out, run_dir = compare(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert message in out.stderr
    assert not (run_dir / "comparison.md").exists()


def test_fetched_runs_say_why_a_factor_was_left_out(tracked_sweeps):
    from ctdc_risk.features import FACTORS
    from ctdc_risk.tracking import TrackingSpec, fetch_runs

    spec = TrackingSpec(tracking_uri=tracked_sweeps.store_uri)
    runs = fetch_runs(spec, cwd=tracked_sweeps.cwd, parent=tracked_sweeps.comparison_parent)
    family = [r for r in runs if r.tags.get("target") == "family_recruitment"]
    assert len(family) == 2
    labels = {f.label for f in FACTORS.values()}
    for run in family:
        # factors.json's dropped_factors, keyed by the label factors.csv uses; reasons only.
        assert run.dropped and set(run.dropped) <= labels
        assert any("leak" in why for why in run.dropped.values())
        assert all(isinstance(why, str) and why for why in run.dropped.values())
    # How compare shows such a factor: test_a_level_missing_from_a_run_says_why.
