"""Issue 14: no withheld count can be recovered from what a run publishes.

The audit (:mod:`ctdc_risk.audit`) bounds every withheld count by linear programming over the
relations between the published counts. It must pass on a study and a describe run of data
with planted groups of 1-9 cases in every kind of factor, and fail on the same study run with
complementary suppression switched off.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ctdc_risk.privacy as privacy
from ctdc_risk.audit import AuditError, audit_run
from ctdc_risk.cli import main as cli_main
from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.schema import FlagSemantics
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.disclosure import LinearSystem, feasible_range
from ctdc_risk.errors import StudyError
from ctdc_risk.headline import build_headline
from ctdc_risk.pipeline.describe import run_describe
from ctdc_risk.pipeline.study import run_study
from ctdc_risk.privacy import (
    SUPPRESSED,
    partition_failures,
    suppress_chain,
    suppress_partition,
)
from ctdc_risk.report.headline_tables import headline_rows

K = 10
FAST = ["debug=default", "model=logistic", "stability.n_boot=2", "stability.n_jobs=1"]


def _eligible(frame: pd.DataFrame) -> np.ndarray:
    child = frame["is_child"].fillna(False).to_numpy(dtype=bool)
    return np.flatnonzero(child & frame["recruiter_known"].fillna(False).to_numpy(dtype=bool))


def _set(frame: pd.DataFrame, rows: np.ndarray, column: str, value: object) -> None:
    if (
        isinstance(frame[column].dtype, pd.CategoricalDtype)
        and not pd.isna(value)
        and value not in frame[column].cat.categories
    ):
        frame[column] = frame[column].cat.add_categories([value])
    frame.loc[frame.index[rows], column] = value


def planted_frame() -> pd.DataFrame:
    """Synthetic cases with groups of 1-9 eligible children in every kind of factor.

    Among children whose recruiter is recorded (the default study's cases): 3 citizens of
    Namibia and 2 of Fiji (sub-regions the generator never draws), 6 aged 0-8, 4 of
    unrecorded age, 12 transgender children all recruited by family (a share of 100 %), 2
    with false promises recorded, 5 registered before 2011, 4 exploited in Fiji.
    """
    frame = generate_synthetic(3000, seed=5)
    rows = _eligible(frame)
    rng = np.random.default_rng(0)
    rng.shuffle(rows)
    taken = iter(np.split(rows[:38], np.cumsum([3, 2, 12, 2, 5, 4, 4])[:-1]))
    _set(frame, next(taken), "citizenship_iso3", "NAM")
    _set(frame, next(taken), "citizenship_iso3", "FJI")
    trans = next(taken)
    _set(frame, trans, "gender", "trans_nonconforming")
    for column in ("recruiter_family", "recruiter_intimate_partner", "recruiter_friend"):
        _set(frame, trans, column, column == "recruiter_family")
    _set(frame, trans, "recruiter_other", False)
    _set(frame, next(taken), "means_false_promises", True)
    early = next(taken)
    _set(frame, rows, "year_of_registration", 2016)
    _set(frame, early, "year_of_registration", 2005)
    _set(frame, next(taken), "exploitation_iso3", "FJI")
    _set(frame, next(taken), "age_band", pd.NA)
    other = np.setdiff1d(rows, trans)
    _set(frame, other[~np.isin(other, rows[:38])], "means_false_promises", False)
    young = np.flatnonzero(frame["age_band"].astype(object).eq("0--8").to_numpy())
    _set(frame, np.intersect1d(young, rows)[6:], "age_band", "9--17")
    # the other trans children of the generator stop being transgender: 12 exactly
    gender = frame["gender"].astype(object).to_numpy()
    _set(frame, np.setdiff1d(np.flatnonzero(gender == "trans_nonconforming"), trans), "gender",
         "female")  # fmt: skip
    return frame


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("planted")
    return write_release_file(planted_frame(), tmp / "planted.csv", "ctdc_risk_canonical")


def _spec(path: Path, *overrides: str):  # type: ignore[no-untyped-def]
    return compose_spec([*FAST, "data=ctdc", f"data.path={path}", f"privacy.k={K}", *overrides])


@pytest.fixture(scope="module")
def runs(planted: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One study and one describe run on the planted data, and the study again with
    complementary suppression switched off."""
    tmp = tmp_path_factory.mktemp("audit_runs")
    study = run_study(_spec(planted), tmp / "study").out_dir
    describe = run_describe(_spec(planted, "command=describe", "cohort=all"), tmp / "describe")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(privacy, "_COMPLEMENTARY", False)
        off = run_study(_spec(planted), tmp / "off").out_dir
    return {"study": study, "describe": describe.out_dir, "off": off}


def _factor_rows(out_dir: Path) -> list[dict[str, str]]:
    import csv

    rows = []
    for name in ("factors.csv", "context.csv"):
        with (out_dir / name).open() as fh:
            rows += list(csv.DictReader(fh))
    return rows


def test_planted_groups_reach_the_tables(runs: dict[str, Path]) -> None:
    rows = {(r["factor"], r["level"]): r for r in _factor_rows(runs["study"])}
    small = {key for key, r in rows.items() if r["n_with"] == f"<{K}"}
    # pooled rare levels (age, period) and a small flag level stay rows, under k
    for factor in ("age_band", "registration_period", "means_false_promises"):
        assert any(f == factor for f, _ in small), factor
    # Namibia and Fiji join the generator's other rare sub-regions in the pooled level
    assert ("citizenship_subregion", "other (fewer than k cases)") in rows
    trans = rows[("gender", "trans_nonconforming")]
    assert trans["n_with"] == "12" and trans["share_with"] == ""


def test_audit_passes_on_planted_tiny_groups(runs: dict[str, Path]) -> None:
    for name in ("study", "describe"):
        report = audit_run(runs[name])
        assert report.ok, "\n".join(report.lines())
    assert sum(audit_run(runs["study"]).checked.values()) > 50


def test_complementary_cells_are_marked_as_withheld_not_as_small(runs: dict[str, Path]) -> None:
    rows = _factor_rows(runs["study"])
    withheld = [r for r in rows if r["n_with"] == SUPPRESSED]
    assert withheld, "some level is withheld to protect a smaller one"
    for r in rows:
        # a level under k never has its complement published (n_with = N - n_without)
        if r["n_with"] == f"<{K}":
            assert r["n_without"] == SUPPRESSED


def test_audit_fails_without_complementary_suppression(runs: dict[str, Path]) -> None:
    report = audit_run(runs["off"])
    assert not report.ok
    found = {(f.file, f.row) for f in report.findings}
    # the 12 transgender children, all recruited by family: the share comes back as 100 %
    assert ("factors.csv", "gender=trans_nonconforming") in found
    assert any(file == "context.csv" for file, _ in found)


def test_subgroup_sizes_only_repeat_published_levels(runs: dict[str, Path]) -> None:
    doc = json.loads((runs["study"] / "factors.json").read_text())
    relations = doc["subgroup_levels"]
    published = {(r["factor"], r["level"]): r["n_with"] for r in _factor_rows(runs["study"])}
    subgroups = pd.read_csv(runs["study"] / "shap_subgroups.csv", dtype=str)
    for name, n in subgroups.groupby("subgroup")["n"].first().items():
        if n == SUPPRESSED:
            continue
        rel = relations[name]
        assert int(n) == sum(int(published[(rel["factor"], lv)]) for lv in rel["levels"])


# --- the CLI --------------------------------------------------------------------------------


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.argv", ["ctdc-risk", "audit", *argv])
    with pytest.raises(SystemExit) as exit_:
        cli_main.main()
    return int(exit_.value.code or 0)


def _leaky_folder(tmp: Path) -> Path:
    """A hand-made run folder whose one small level follows by subtraction."""
    (tmp / "metrics.json").write_text(json.dumps({"target/n_rows": 100, "target/n_positive": 40}))
    (tmp / "factors.csv").write_text(
        "factor,level,n_with,n_without,share_with,share_without\n"
        "gender,female,60,40,0.4,0.4\n"
        "gender,male,37,63,0.378378,0.412698\n"
        f"gender,trans_nonconforming,<{K},{SUPPRESSED},,\n"
    )
    return tmp


def test_cli_audit_exit_codes(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    assert _cli([str(runs["study"]), str(runs["describe"])], monkeypatch) == 0
    assert "no withheld count can be recovered" in capsys.readouterr().out
    assert _cli([str(_leaky_folder(tmp_path))], monkeypatch) == 1
    out = capsys.readouterr().out
    assert "gender=trans_nonconforming, n_with: recovered within fewer than k (bounds 3..3)" in out
    assert _cli([str(tmp_path / "missing")], monkeypatch) == 2
    assert "not a folder" in capsys.readouterr().err
    assert _cli([], monkeypatch) == 2
    with pytest.raises(AuditError, match=r"neither metrics\.json"):
        audit_run(runs["study"] / "models")


def test_audit_counts_a_copied_folder_the_same(runs: dict[str, Path], tmp_path: Path) -> None:
    copy = shutil.copytree(runs["study"], tmp_path / "copy")
    assert audit_run(copy).checked == audit_run(runs["study"]).checked


# --- suppression units ----------------------------------------------------------------------


def test_one_small_level_takes_a_complement_the_least_informative_first() -> None:
    # levels: reference 500, compared 300, unknown 200, tiny 3
    s = suppress_partition([500, 300, 200, 3], [200, 100, 80, 1], k=K, prefer=[2, 1, 0, 1])
    assert s.hide_n == (False, False, True, True)
    assert s.n_markers == ("", "", SUPPRESSED, f"<{K}")
    assert not partition_failures([500, 300, 200, 3], [200, 100, 80, 1], s.hide_n, s.hide_y, k=K)


def test_a_share_of_100_percent_takes_a_complement() -> None:
    s = suppress_partition([3508, 620, 14, 1421], [1822, 495, 14, 902], k=K, prefer=[2, 1, 1, 0])
    assert s.hide_n == (False, False, False, False)
    assert s.hide_y == (False, False, True, True)


def test_without_complementary_suppression_the_lp_recovers_the_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(privacy, "_COMPLEMENTARY", False)
    s = suppress_partition([500, 300, 3], [200, 100, 1], k=K)
    assert s.hide_n == (False, False, True)
    assert partition_failures([500, 300, 3], [200, 100, 1], s.hide_n, s.hide_y, k=K) == {"n"}


def test_a_small_cohort_flow_step_is_protected_by_its_neighbour() -> None:
    assert suppress_chain([1000, 997, 500, 500], k=K) == ("", SUPPRESSED, "", "")
    assert suppress_chain([1000, 600, 5], k=K) == ("", "", "")  # ends stay published


def test_feasible_range_is_the_tight_interval() -> None:
    s = LinearSystem()
    a, b, c = (s.unknown(name, 0, 100) for name in "abc")
    s.equal({a: 1, b: 1, c: 1}, 30)
    s.equal({a: 1, b: 1}, 25)
    s.at_most({a: 1}, 9)
    assert feasible_range(s, {c: 1}) == (5, 5)
    assert feasible_range(s, {b: 1}) == (16, 25)


def _linprog_range(s: LinearSystem, expression: dict[int, float]) -> tuple[int, int] | None:
    """The same bounds by scipy's linprog: an independent reference for the HiGHS model."""
    from scipy.optimize import linprog

    n = len(s.names)
    cost = np.zeros(n)
    for j, c in expression.items():
        cost[j] += c

    def matrix(rows: list[tuple[dict[int, float], float]]) -> dict[str, Any]:
        a = np.zeros((len(rows), n))
        for i, (coefficients, _) in enumerate(rows):
            for j, c in coefficients.items():
                a[i, j] += c
        return {"A": a, "b": np.array([v for _, v in rows])} if rows else {"A": None, "b": None}

    eq, ub = matrix(s.equalities), matrix(s.inequalities)
    ends = []
    for sign in (1.0, -1.0):
        result = linprog(
            sign * cost, A_ub=ub["A"], b_ub=ub["b"], A_eq=eq["A"], b_eq=eq["b"],
            bounds=list(zip(s.lower, s.upper, strict=True)), method="highs",
        )  # fmt: skip
        if result.status != 0:
            return None
        ends.append(sign * float(result.fun))
    return math.ceil(ends[0] - 1e-6), math.floor(ends[1] + 1e-6)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_feasible_range_matches_an_independent_solver(data: st.DataObject) -> None:
    """Random published tables (totals, partial sums, caps, some contradictory) give the same
    whole-number bounds as scipy's linprog, for every expression, before and after relations
    are added to a system already solved (the kept HiGHS model is rebuilt)."""
    s = LinearSystem()
    n = data.draw(st.integers(1, 6))
    lows = data.draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    for j, low in enumerate(lows):
        s.unknown(f"x{j}", low, low + data.draw(st.integers(0, 60)))
    terms = st.dictionaries(st.integers(0, n - 1), st.sampled_from([1.0, -1.0, 2.0]), min_size=1)
    expressions = data.draw(st.lists(terms, min_size=1, max_size=4))
    for _round in range(2):
        for _ in range(data.draw(st.integers(0, 3))):
            relation = data.draw(terms)
            value = float(data.draw(st.integers(-5, 150)))
            if data.draw(st.booleans()):
                s.equal(relation, value)
            else:
                s.at_most(relation, value)
        for expression in expressions:
            assert feasible_range(s, expression) == _linprog_range(s, expression)


def test_headline_withholds_boys_when_the_other_children_are_few() -> None:
    frame = generate_synthetic(4000, seed=8)
    child = np.flatnonzero(frame["is_child"].fillna(False).to_numpy(dtype=bool))
    gender = frame["gender"].astype(object).to_numpy()
    other = child[~np.isin(gender[child], ["male", "female"])]
    _set(frame, other[3:], "gender", "female")  # 3 children of another or unrecorded gender
    _set(frame, other[:3], "recruiter_known", True)
    h = build_headline(frame, cohort="all", k=K, flag_semantics=FlagSemantics.THREE_STATE)
    assert h.family["boys"].n is None and h.family["boys"].n_marker == SUPPRESSED
    assert h.family["girls"].n is not None and h.family["children"].n is not None
    _, rows = headline_rows(h)
    assert [r[3] for r in rows if r[1] == "boys"] == [SUPPRESSED]


def test_a_cohort_under_k_is_refused(tmp_path: Path) -> None:
    frame = generate_synthetic(1000, seed=2)
    child = frame["is_child"].fillna(False).to_numpy(dtype=bool)
    boys = np.flatnonzero(child & frame["gender"].astype(object).eq("male").to_numpy())
    _set(frame, boys[4:], "gender", "female")
    path = write_release_file(frame, tmp_path / "few_boys.csv", "ctdc_risk_canonical")
    for overrides, run in (
        (["command=describe", "cohort=boys"], run_describe),
        (["cohort=boys"], run_study),
    ):
        out = tmp_path / overrides[-1]
        with pytest.raises(StudyError, match=rf"fewer than privacy\.k = {K} cases"):
            run(_spec(path, *overrides), out)
        assert not out.exists()
