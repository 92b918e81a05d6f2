"""Replication across releases (issue 15): pooling, heterogeneity and verdicts in closed form;
the same planted population written in three release layouts; a release whose planted effect
is reversed; the real 2021 release against itself rewritten in the 2024-2026 layout."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ctdc_risk.cli.compose import compose_replication, compose_spec
from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.raw_format import write_release_file
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError, DataFileError
from ctdc_risk.factors.factor_rows import FactorRow, FactorTable
from ctdc_risk.factors.labels import LabelRule
from ctdc_risk.pipeline.replicate import run_replication
from ctdc_risk.replication import (
    ABSENT,
    CANNOT_TEST,
    DIRECTION_DIFFERS,
    ESTIMATED,
    FACTOR_ABSENT,
    OTHER_REFERENCE,
    REFERENCE,
    REPLICATES,
    SAME_DIRECTION,
    SUPPRESSED,
    build_replication_table,
)
from ctdc_risk.stats import FIXED_EFFECT, RANDOM_EFFECTS, Z95, chi2_sf, pool_log_odds_ratios
from test_privacy_scan import _violations

K = 10


# --- pooling in closed form -------------------------------------------------------------------


def test_two_releases_pool_by_dersimonian_laird():
    # weights 4 and 4; fixed mean 0.5; Q = 4 * 0.25 * 2 = 2; C = 8 - 32 / 8 = 4; tau² = 1 / 4
    p = pool_log_odds_ratios([0.0, 1.0], [0.5, 0.5])
    assert p.method == RANDOM_EFFECTS
    assert p.q == pytest.approx(2.0)
    assert p.df == 1
    assert p.i2 == pytest.approx(0.5)
    assert p.tau2 == pytest.approx(0.25)
    # random-effects weights 1 / (0.25 + 0.25) = 2 each: mean 0.5, se sqrt(1 / 4) = 0.5
    assert math.log(p.odds_ratio) == pytest.approx(0.5)
    assert math.log(p.low) == pytest.approx(0.5 - Z95 * 0.5)
    assert math.log(p.high) == pytest.approx(0.5 + Z95 * 0.5)
    assert p.q_p == pytest.approx(chi2_sf(2.0, 1))


def test_three_releases_with_unequal_weights():
    # w = 1, 1, 4; fixed = 9 / 6 = 1.5; Q = 2.25 + 0.25 + 1 = 3.5; C = 6 - 18 / 6 = 3;
    # tau² = (3.5 - 2) / 3 = 0.5; w* = 2/3, 2/3, 4/3; pooled = (10/3) / (8/3) = 1.25
    p = pool_log_odds_ratios([0.0, 1.0, 2.0], [1.0, 1.0, 0.5])
    assert p.q == pytest.approx(3.5)
    assert p.i2 == pytest.approx(1.5 / 3.5)
    assert p.tau2 == pytest.approx(0.5)
    assert math.log(p.odds_ratio) == pytest.approx(1.25)
    assert math.log(p.high) - math.log(p.odds_ratio) == pytest.approx(Z95 * math.sqrt(3 / 8))
    assert p.q_p == pytest.approx(math.exp(-1.75))  # chi² with 2 df: P(> q) = exp(-q / 2)


def test_identical_estimates_have_no_heterogeneity():
    p = pool_log_odds_ratios([0.7, 0.7, 0.7], [0.2, 0.2, 0.2])
    assert p.q == 0.0 and p.i2 == 0.0 and p.tau2 == 0.0
    assert math.log(p.odds_ratio) == pytest.approx(0.7)
    assert math.log(p.high) - 0.7 == pytest.approx(Z95 * 0.2 / math.sqrt(3))


def test_q_below_its_degrees_of_freedom_gives_no_between_release_variance():
    p = pool_log_odds_ratios([0.0, 0.1], [0.5, 0.5])
    assert p.q == pytest.approx(0.02)
    assert p.tau2 == 0.0 and p.i2 == 0.0
    assert math.log(p.odds_ratio) == pytest.approx(0.05)


def test_one_release_is_its_own_fixed_effect():
    p = pool_log_odds_ratios([math.log(2.0)], [0.3])
    assert p.method == FIXED_EFFECT
    assert p.odds_ratio == pytest.approx(2.0)
    assert p.q is None and p.i2 is None


@pytest.mark.parametrize(
    ("log_or", "se", "message"),
    [
        ([0.0, 1.0], [0.5], "one standard error"),
        ([], [], "at least one"),
        ([0.0], [0.0], "positive"),
    ],
)
def test_pooling_refuses_bad_input(log_or, se, message):
    with pytest.raises(ValueError, match=message):
        pool_log_odds_ratios(log_or, se)


# --- verdicts on hand-made factor tables ------------------------------------------------------


def _row(factor, level, reference, odds=None, low=None, high=None, *, label="unclear", n=50):
    values = dict.fromkeys(FactorRow.__dataclass_fields__)
    values.update(
        factor=factor, factor_label=factor, level=level, reference_level=reference,
        domv_level="individual", phase="before_recruitment", n_with=n, n_without=n,
        adjusted_or=odds, adjusted_or_low=low, adjusted_or_high=high, adjusted_note="",
        shap_model="logistic", label=label, reason="",
    )  # fmt: skip
    if level == reference:
        values.update(adjusted_or=1.0, label="reference")
    return FactorRow(**values)


def _table(*rows, dropped=()):
    return FactorTable(tuple(rows), K, LabelRule(), 0, (), tuple(dropped))


def _by_level(table):
    return {(r.factor, r.level): r for r in table.rows}


def test_verdicts_name_what_they_found():
    first = _table(
        _row("age_band", "9--17", "9--17"),
        _row("age_band", "0--8", "9--17", 2.0, 1.5, 2.7),  # significant in both: replicates
        _row("age_band", "unknown", "9--17", 1.3, 1.1, 1.6),  # recording, not the case
        _row("gender", "female", "female"),
        _row("gender", "male", "female", 1.5, 1.2, 1.9),  # significant in one only
        _row("gender", "trans_nonconforming", "female", label="suppressed", n=None),
        _row("citizenship_subregion", "Eastern Europe", "Eastern Europe"),
        _row("citizenship_subregion", "Western Africa", "Eastern Europe", 0.5, 0.3, 0.8),
    )
    second = _table(
        _row("age_band", "9--17", "9--17"),
        _row("age_band", "0--8", "9--17", 2.0, 1.5, 2.7),
        _row("age_band", "unknown", "9--17", 1.3, 1.1, 1.6),
        _row("gender", "female", "female"),
        _row("gender", "male", "female", 1.4, 0.9, 2.2),
        _row("gender", "trans_nonconforming", "female", label="suppressed", n=None),
        _row("citizenship_subregion", "Eastern Europe", "Eastern Europe"),
        _row("citizenship_subregion", "Western Africa", "Eastern Europe", 1.6, 1.1, 2.3),
        _row("citizenship_subregion", "Central Asia", "Eastern Europe", 0.6, 0.4, 0.9),
    )
    table = build_replication_table([first, second], ["A", "B"], k=K)
    rows = _by_level(table)
    assert rows["age_band", "9--17"].verdict == REFERENCE
    age = rows["age_band", "0--8"]
    assert age.verdict == REPLICATES
    assert age.pooled.q == 0.0 and age.pooled.i2 == 0.0  # identical estimates
    assert age.pooled.odds_ratio == pytest.approx(2.0)
    assert rows["age_band", "unknown"].verdict == CANNOT_TEST
    assert "recorded" in rows["age_band", "unknown"].reason
    male = rows["gender", "male"]
    assert male.verdict == SAME_DIRECTION and "includes 1 in B" in male.reason
    trans = rows["gender", "trans_nonconforming"]
    assert trans.verdict == CANNOT_TEST
    assert trans.reason == "estimable in 0 of 2 releases (suppressed in every release)"
    assert [e.status for e in trans.estimates] == [SUPPRESSED, SUPPRESSED]
    west = rows["citizenship_subregion", "Western Africa"]
    assert west.verdict == DIRECTION_DIFFERS
    assert "below 1 in A" in west.reason and "above 1 in B" in west.reason
    # a level only the second release has is kept and said to be absent in the first
    central = rows["citizenship_subregion", "Central Asia"]
    assert central.verdict == CANNOT_TEST
    assert [e.status for e in central.estimates] == [ABSENT, ESTIMATED]
    assert "absent in A" in central.reason
    assert central.pooled is not None and central.pooled.method == FIXED_EFFECT
    counts = table.counts()
    assert counts == {
        REPLICATES: 1, SAME_DIRECTION: 1, DIRECTION_DIFFERS: 1, CANNOT_TEST: 3,
    }  # fmt: skip


def test_a_factor_left_out_of_a_release_is_reported_with_its_reason():
    first = _table(
        _row("is_abduction", "no", "no"), _row("is_abduction", "yes", "no", 3.0, 2.0, 4.5)
    )
    second = _table(dropped=[("is_abduction", "not recorded in this data")])
    third = _table(
        _row("is_abduction", "no", "no"), _row("is_abduction", "yes", "no", 2.5, 1.5, 4.2)
    )
    table = build_replication_table([first, second, third], ["A", "B", "C"], k=K)
    yes = _by_level(table)["is_abduction", "yes"]
    assert yes.verdict == REPLICATES
    assert yes.estimates[1].status == FACTOR_ABSENT
    assert yes.estimates[1].note == "not recorded in this data"
    assert "factor absent in B" in yes.reason
    assert yes.estimable_in == 2


def test_a_release_with_another_reference_is_shown_but_not_pooled():
    first = _table(_row("gender", "female", "female"), _row("gender", "male", "female", 2, 1.5, 3))
    second = _table(_row("gender", "male", "male"), _row("gender", "female", "male", 0.5, 0.3, 0.7))
    table = build_replication_table(
        [first, second], ["A", "B"], k=K, other_reference={1: {"gender": "has no 'female'"}}
    )
    rows = _by_level(table)
    male = rows["gender", "male"]
    assert male.estimates[1].status == OTHER_REFERENCE
    assert male.verdict == CANNOT_TEST and "other reference in B" in male.reason
    assert "not the reference in: B" in rows["gender", "female"].reason


def test_records_keep_the_privacy_floor_and_every_column():
    first = _table(
        _row("gender", "female", "female"),
        _row("gender", "trans_nonconforming", "female", label="suppressed", n=None),
    )
    table = build_replication_table([first, first], ["A", "B"], k=K)
    records = table.to_records()
    assert list(records[0]) == table.columns()
    trans = records[1]
    assert trans["n_cases_1"] == f"<{K}" and trans["status_2"] == SUPPRESSED
    assert records[0]["n_cases_1"] == 50


def test_building_refuses_what_cannot_be_compared():
    table = _table(_row("gender", "female", "female"))
    with pytest.raises(ValueError, match="at least two"):
        build_replication_table([table], ["A"], k=K)
    with pytest.raises(ValueError, match="must differ"):
        build_replication_table([table, table], ["A", "A"], k=K)


# --- config -----------------------------------------------------------------------------------


def test_the_replicate_block_is_checked_strictly():
    spec, files = compose_replication(["command=replicate", "replicate.data=[a.csv,b.csv]"])
    assert spec.command == "replicate" and files.data == ("a.csv", "b.csv")
    with pytest.raises(ConfigError, match="replicate: unknown key 'files'"):
        compose_spec(["+replicate.files=[a.csv]"])
    with pytest.raises(ConfigError, match=r"replicate\.names has 1 names for 2 files"):
        compose_replication(["replicate.data=[a.csv,b.csv]", "replicate.names=[A]"])
    with pytest.raises(ConfigError, match="leave out data=ctdc"):
        compose_spec(["command=replicate", "data=ctdc", "data.path=x.csv"])


def test_replication_needs_two_existing_files(tmp_path):
    spec = compose_spec(["command=replicate"])
    with pytest.raises(ConfigError, match="needs two or more"):
        run_replication(spec, [tmp_path / "a.csv"], tmp_path / "run")
    with pytest.raises(DataFileError, match=r"missing\.csv is not a file"):
        run_replication(spec, [tmp_path / "missing.csv"] * 2, tmp_path / "run")


def test_the_guard_lets_a_replicate_command_line_through():
    from ctdc_risk.cli import guard
    from ctdc_risk.cli.main import _split_command

    args = _split_command(["replicate", "replicate.data=[/data/a.csv,/data/b.xlsx]", "seed=1"])
    assert args[0] == "command=replicate"
    guard.check_command_line(args)


@pytest.mark.slow
def test_the_cli_runs_replicate_as_one_mlflow_run(tmp_path):
    frame = generate_synthetic(4000, seed=5)
    files = [write_release_file(frame, tmp_path / f"{r}.csv", r) for r in LAYOUTS[:2]]
    exe = str(Path(sys.executable).with_name("ctdc-risk"))
    out = subprocess.run(
        [exe, "replicate", f"replicate.data=[{files[0]},{files[1]}]", "replicate.names=[A,B]",
         "model=logistic", "stability.n_boot=0", "targeting=off",
         "cv.n_splits=2", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", "COLUMNS": "200"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Replication" in out.stdout and "Verdicts" in out.stdout
    assert "1. A: synthetic_2021" in out.stdout and "2. B: synthetic_2024" in out.stdout
    run = tmp_path / "run"
    assert (run / "replication.md").is_file() and not (run / "INCOMPLETE").exists()
    assert (run / "release_2" / "factors.csv").is_file()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("ctdc-risk")
    (tracked,) = client.search_runs([experiment.experiment_id])
    assert tracked.info.status == "FINISHED"
    assert tracked.data.metrics["replication/releases"] == 2
    assert "replication/levels_replicate" in tracked.data.metrics
    assert tracked.data.tags["command"] == "replicate"
    assert tracked.data.tags["data_release"] == "synthetic_2021,synthetic_2024"
    names = {a.path for a in client.list_artifacts(tracked.info.run_id)}
    assert {"replication.md", "replication.csv", "release_1", "release_2"} <= names


# --- whole runs on synthetic data in several layouts ------------------------------------------

FAST = [
    "model=logistic", "stability.n_boot=2", "stability.n_jobs=1", "targeting=off",
    "cv.n_splits=2", f"privacy.k={K}",
]  # fmt: skip
LAYOUTS = ("synthetic_2021", "synthetic_2024", "global_2017_2021")


@pytest.fixture(scope="module")
def population():
    return generate_synthetic(20_000, seed=3)


@pytest.fixture(scope="module")
def three_layouts(population, tmp_path_factory):
    """The same planted population written in three release layouts, replicated."""
    tmp = tmp_path_factory.mktemp("layouts")
    files = [write_release_file(population, tmp / f"{r}.csv", r) for r in LAYOUTS]
    return run_replication(compose_spec(["command=replicate", *FAST]), files, tmp / "run")


def test_planted_effects_replicate_across_three_layouts(three_layouts):
    result = three_layouts
    assert [r.release_id for r in result.releases] == list(LAYOUTS)
    rows = _by_level(result.table)
    for key in (("age_band", "0--8"), ("gender", "male")):
        row = rows[key]
        assert row.verdict == REPLICATES, (key, row.reason)
        assert row.estimable_in == 3
        assert row.pooled.odds_ratio > 1
        assert row.pooled.i2 < 0.5
    assert rows["age_band", "9--17"].verdict == REFERENCE
    assert rows["gender", "female"].verdict == REFERENCE
    # The 2024-2026 layout has no majority status: children of unknown age band are not found
    # there, and that level is reported as absent, not dropped.
    unknown_age = rows["age_band", "unknown"]
    assert [e.status for e in unknown_age.estimates] == [ESTIMATED, ABSENT, ESTIMATED]


def test_replication_files_are_complete_and_private(three_layouts):
    out = three_layouts.out_dir
    for name in ("replication.csv", "replication.json", "replication.md", "replication.html"):
        assert (out / name).is_file(), name
    for i in (1, 2, 3):
        assert (out / f"release_{i}" / "report.html").is_file()
    assert (out / "figures" / "replication_gender.png").is_file()
    document = json.loads((out / "replication.json").read_text())
    assert document["reference_levels"]["gender"] == "female"
    assert len(document["rows"]) == len(three_layouts.table.rows)
    markdown = (out / "replication.md").read_text()
    for words in ("How to read the table", "not independent samples", REPLICATES):
        assert words in markdown
    html = (out / "replication.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    assert _violations(out) == []


@pytest.fixture(scope="module")
def one_release_reversed(population, tmp_path_factory):
    """The population as is, and a release where most boys recruited by family are recorded as
    recruited by someone else: the planted 'boys are recruited by family more' is reversed."""
    tmp = tmp_path_factory.mktemp("reversed")
    reversed_frame = population.copy()
    boys_by_family = np.flatnonzero(
        reversed_frame["is_child"].fillna(False).to_numpy(dtype=bool)
        & (reversed_frame["gender"] == "male").to_numpy()
        & reversed_frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    )
    moved = np.random.default_rng(0).choice(
        boys_by_family, int(0.85 * len(boys_by_family)), replace=False
    )
    reversed_frame.loc[moved, "recruiter_family"] = False
    reversed_frame.loc[moved, "recruiter_other"] = True
    files = [
        write_release_file(population, tmp / "as_planted.csv", "synthetic_2021"),
        write_release_file(reversed_frame, tmp / "boys_reversed.csv", "global_2017_2021"),
    ]
    spec = compose_spec(["command=replicate", *FAST])
    return run_replication(spec, files, tmp / "run", names=["as planted", "boys reversed"])


def test_an_effect_reversed_in_one_release_does_not_replicate(one_release_reversed):
    rows = _by_level(one_release_reversed.table)
    male = rows["gender", "male"]
    assert male.verdict == DIRECTION_DIFFERS, male.reason
    assert "above 1 in as planted" in male.reason and "below 1 in boys reversed" in male.reason
    assert male.pooled.i2 > 0.5
    # the untouched planted effect still replicates
    assert rows["age_band", "0--8"].verdict == REPLICATES
    assert one_release_reversed.releases[1].name == "boys reversed"


def test_a_release_without_the_pinned_reference_compares_with_its_own(population, tmp_path):
    # Release 2 has no citizens of Eastern Europe or South-eastern Asia (the two largest
    # sub-regions, one of which is release 1's reference): they are recorded as US citizens.
    moved = population.copy()
    gone = moved["citizenship_subregion"].isin(["Eastern Europe", "South-eastern Asia"])
    moved.loc[gone.to_numpy(), "citizenship_iso3"] = "USA"
    files = [
        write_release_file(population, tmp_path / "a.csv", "synthetic_2021"),
        write_release_file(moved, tmp_path / "b.csv", "synthetic_2021"),
    ]
    result = run_replication(compose_spec(["command=replicate", *FAST]), files, tmp_path / "run")
    reference = result.table.reference["citizenship_subregion"]
    assert reference in ("Eastern Europe", "South-eastern Asia")
    assert "citizenship_subregion" in result.releases[1].other_reference
    assert result.releases[0].other_reference == {}
    rows = [r for r in result.table.rows if r.factor == "citizenship_subregion"]
    for row in rows:
        assert row.estimates[1].status in (OTHER_REFERENCE, ABSENT), row.display
        if row.verdict != REFERENCE:
            assert row.verdict == CANNOT_TEST
    # the other factors kept their pinned references and are compared as usual
    assert _by_level(result.table)["age_band", "0--8"].verdict == REPLICATES
    assert "reference" in (result.out_dir / "replication.md").read_text()


# --- the real 2021 release against itself in the 2024-2026 layout -----------------------------


@pytest.mark.slow
@pytest.mark.real_data
def test_the_real_release_replicates_exactly_in_another_layout(real_synthetic_2021_path, tmp_path):
    frame = load_dataset(real_synthetic_2021_path).frame
    copy = write_release_file(frame, tmp_path / "real_as_2024.csv", "synthetic_2024")
    # cohort=all: the 2024-2026 layout has no majority status, so a cohort of children would
    # lose the children of unknown age band there (the records would no longer be identical)
    spec = compose_spec(
        ["command=replicate", "cohort=all", "model=logistic", "stability.n_boot=0",
         "stability.n_jobs=1", "targeting=off", "cv.n_splits=2"]
    )  # fmt: skip
    result = run_replication(spec, [real_synthetic_2021_path, copy], tmp_path / "run")
    assert [r.release_id for r in result.releases] == ["synthetic_2021", "synthetic_2024"]
    assert result.releases[0].n_cases == result.releases[1].n_cases
    compared = [r for r in result.table.rows if r.estimable_in == 2]
    assert len(compared) >= 10
    for row in compared:
        first, second = row.estimates
        assert first.odds_ratio == pytest.approx(second.odds_ratio, rel=1e-6), row.display
        assert row.pooled.q == pytest.approx(0.0, abs=1e-9) and row.pooled.i2 == 0.0
        if first.significant and second.significant and row.verdict != CANNOT_TEST:
            assert row.verdict == REPLICATES
    assert not [r for r in result.table.rows if r.verdict == DIRECTION_DIFFERS]
    assert result.table.counts()[REPLICATES] >= 3
    assert _violations(result.out_dir) == []
