import logging
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline

from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError, StudyError
from ctdc_risk.evaluate import (
    CVResult,
    CVSpec,
    FoldScores,
    ReliabilityBin,
    cross_validate_model,
    fold_metrics,
    make_splits,
    reliability_curve,
)
from ctdc_risk.metric_names import METRICS


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_synthetic(2000, seed=3)


@pytest.fixture(scope="module")
def y(frame) -> np.ndarray:
    return (np.random.default_rng(5).random(len(frame)) < 0.3).astype(int)


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    """A numeric frame where x1 drives the outcome and x2 is noise."""
    rng = np.random.default_rng(11)
    n = 1500
    data = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    logit = 2.0 * data["x1"].to_numpy() - 1.0
    return data, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def make_logistic() -> Pipeline:
    select = ColumnTransformer([("numeric", "passthrough", ["x1", "x2"])])
    return Pipeline([("select", select), ("model", LogisticRegression())])


# --- fold metrics ---------------------------------------------------------------------------


def test_perfect_predictor_scores_perfectly():
    y_true = np.array([0, 1, 0, 1, 1, 0])
    m = fold_metrics(y_true, y_true.astype(float))
    assert m["roc_auc"] == 1.0
    assert m["average_precision"] == 1.0
    assert m["brier"] == 0.0
    assert m["ece"] == 0.0
    assert m["log_loss"] == pytest.approx(0.0, abs=1e-12)
    assert list(m) == list(METRICS)


def test_constant_prediction_has_auc_one_half_and_ap_equal_to_prevalence():
    y_true = np.array([0, 0, 0, 1, 1])
    m = fold_metrics(y_true, np.full(5, 0.37))
    assert m["roc_auc"] == 0.5
    assert m["average_precision"] == pytest.approx(0.4)


def test_ece_equals_hand_computed_value():
    # Two bins: [0, .5) holds .1, .3, .35 (mean .25, observed 2/3); [.5, 1] holds .9, .95
    # (mean .925, observed 1/2). ECE = 3/5 * |.25 - 2/3| + 2/5 * |.925 - .5| = .25 + .17.
    y_true = np.array([0, 1, 1, 0, 1])
    p = np.array([0.1, 0.3, 0.35, 0.9, 0.95])
    assert fold_metrics(y_true, p, n_bins=2)["ece"] == pytest.approx(0.42)


def test_ece_of_a_calibrated_bin_is_zero_and_p_one_falls_in_the_last_bin():
    y_true = np.array([0, 1, 1, 1])
    assert fold_metrics(y_true, np.array([0.75, 0.75, 0.75, 1.0]), n_bins=4)["ece"] == (
        pytest.approx(3 / 4 * abs(0.75 - 2 / 3))
    )


def test_log_loss_and_brier_match_definitions():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=200)
    p = rng.uniform(0.01, 0.99, size=200)
    m = fold_metrics(y_true, p)
    assert m["log_loss"] == pytest.approx(log_loss(y_true, p))
    assert m["brier"] == pytest.approx(np.mean((p - y_true) ** 2))


def test_log_loss_clips_certain_wrong_predictions():
    m = fold_metrics(np.array([1, 0]), np.array([0.0, 0.0]))
    assert m["log_loss"] == pytest.approx(-math.log(1e-15) / 2)


def test_one_class_fold_has_nan_ranking_scores_but_finite_calibration_scores():
    m = fold_metrics(np.zeros(4, dtype=int), np.array([0.1, 0.2, 0.3, 0.4]))
    assert math.isnan(m["roc_auc"])
    assert math.isnan(m["average_precision"])
    assert all(math.isfinite(m[key]) for key in ("brier", "log_loss", "ece"))


@pytest.mark.parametrize(
    ("y_true", "p"),
    [([0, 1], [0.5]), ([0, 2], [0.5, 0.5]), ([0, 1], [0.5, 1.5]), ([0, 1], [np.nan, 0.2])],
)
def test_fold_metrics_refuses_bad_inputs(y_true, p):
    with pytest.raises(ValueError):  # noqa: PT011  (several distinct messages)
        fold_metrics(np.array(y_true), np.array(p))


# --- reliability ----------------------------------------------------------------------------


def test_small_bins_are_suppressed_but_present():
    # k = 5; [0, .2) holds 10 cases (5 positive), [.4, .6) holds 3, the rest are empty.
    y_true = np.array([0] * 5 + [1] * 5 + [1, 0, 1])
    p = np.array([0.1] * 10 + [0.5] * 3)
    bins = reliability_curve(y_true, p, n_bins=5, k=5)
    assert len(bins) == 5
    assert [b.lower for b in bins] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    assert [b.upper for b in bins] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    # The 3 cases of [.4, .6) are the total minus the 10 of [0, .2): that bin is withheld
    # too (complementary suppression), marked as withheld rather than as small.
    assert bins[0] == ReliabilityBin(0.0, 0.2, None, None, None, "suppressed")
    for b in bins[1:]:
        assert b.suppressed
        assert (b.n, b.mean_predicted, b.observed_rate, b.marker) == (None, None, None, "<5")


def test_a_small_bin_is_protected_by_the_smallest_other_bin():
    # k = 5: bins of 40, 20 and 30 cases (half positive) and one of 2.
    y_true = np.array([0, 1] * 20 + [0, 1] * 10 + [0, 1] * 15 + [1, 0])
    p = np.array([0.1] * 40 + [0.3] * 20 + [0.9] * 30 + [0.5] * 2)
    bins = reliability_curve(y_true, p, n_bins=5, k=5)
    assert [b.n for b in bins] == [40, None, None, None, 30]
    assert [b.marker for b in bins] == ["", "suppressed", "<5", "<5", ""]


def test_observed_rate_is_suppressed_when_few_positives_would_be_revealed():
    y_true = np.array([1, 1] + [0] * 18)
    bins = reliability_curve(y_true, np.full(20, 0.05), n_bins=10, k=5)
    assert bins[0].n == 20
    assert bins[0].mean_predicted == pytest.approx(0.05)
    assert bins[0].observed_rate is None


def test_reliability_agrees_with_ece_when_nothing_is_suppressed():
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 2, size=400)
    p = rng.uniform(size=400)
    bins = reliability_curve(y_true, p, n_bins=4, k=1)
    ece = sum(b.n / 400 * abs(b.mean_predicted - b.observed_rate) for b in bins)
    assert ece == pytest.approx(fold_metrics(y_true, p, n_bins=4)["ece"])


# --- splits ---------------------------------------------------------------------------------


def test_stratified_splits_partition_rows_and_keep_class_balance(frame, y):
    splits = make_splits(CVSpec(n_splits=5), frame, y, seed=0)
    assert len(splits) == 5
    tests = np.concatenate([test for _, test in splits])
    assert np.array_equal(np.sort(tests), np.arange(len(frame)))
    for train, test in splits:
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(frame)))
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    for cls in (0, 1):
        per_fold = [int((y[test] == cls).sum()) for _, test in splits]
        assert max(per_fold) - min(per_fold) <= 1


def test_grouped_splits_never_put_a_country_on_both_sides(frame, y):
    splits = make_splits(CVSpec(kind="grouped", n_splits=4), frame, y, seed=0)
    assert len(splits) == 4
    country = frame["citizenship_iso3"].astype(object).fillna("unknown").to_numpy()
    tests = np.concatenate([test for _, test in splits])
    assert np.array_equal(np.sort(tests), np.arange(len(frame)))
    for train, test in splits:
        assert not set(country[train]) & set(country[test])
    missing = np.flatnonzero(frame["citizenship_iso3"].isna().to_numpy())
    assert len(missing) > 0
    holding = [i for i, (_, test) in enumerate(splits) if np.isin(missing, test).any()]
    assert len(holding) == 1
    assert np.isin(missing, splits[holding[0]][1]).all()


def test_missing_group_values_count_as_one_group():
    groups = pd.Series(pd.Categorical(["A", "B", None, None] * 10))
    data = pd.DataFrame({"citizenship_iso3": groups})
    y = np.array([0, 1] * 20)
    assert len(make_splits(CVSpec(kind="grouped", n_splits=3), data, y, seed=0)) == 3
    with pytest.raises(StudyError, match=r"cv\.n_splits.*found 3"):
        make_splits(CVSpec(kind="grouped", n_splits=4), data, y, seed=0)


def test_temporal_split_respects_the_year_and_leaves_out_unknown_years(frame, y):
    spec = CVSpec(kind="temporal", train_until_year=2014)
    (train, test), *rest = make_splits(spec, frame, y, seed=0)
    assert rest == []
    year = frame["year_of_registration"]
    assert (year.iloc[train] <= 2014).all()
    assert (year.iloc[test] > 2014).all()
    unknown = np.flatnonzero(year.isna().to_numpy())
    assert len(unknown) > 0
    assert not np.isin(unknown, np.concatenate([train, test])).any()
    assert len(train) + len(test) + len(unknown) == len(frame)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


def test_same_seed_same_splits_different_seed_different_splits(frame, y):
    for spec in (CVSpec(), CVSpec(kind="grouped")):
        a = make_splits(spec, frame, y, seed=1)
        b = make_splits(spec, frame, y, seed=1)
        c = make_splits(spec, frame, y, seed=2)
        assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b, strict=True))
        assert any(not np.array_equal(x[1], z[1]) for x, z in zip(a, c, strict=True))


def _years_frame() -> tuple[pd.DataFrame, np.ndarray]:
    years = pd.array([2010, 2011, 2012, 2013, None] * 8, dtype="Int16")
    return pd.DataFrame({"year_of_registration": years}), np.array([0, 1] * 20)


@pytest.mark.parametrize(
    ("spec", "y", "message"),
    [
        (CVSpec(n_splits=5), np.array([1] * 3 + [0] * 40), r"cv\.n_splits.*found 3 positive"),
        (CVSpec(n_splits=3), np.zeros(43, dtype=int), r"cv\.n_splits.*found 0 positive"),
        (CVSpec("grouped", 3, "gender"), np.array([0, 1] * 20), r"cv\.group_column: 'gender'"),
    ],
)
def test_impossible_k_fold_splits_name_the_key(spec, y, message):
    data = pd.DataFrame({"citizenship_iso3": pd.Categorical(list("ABCDEFG") * 7)[: len(y)]})
    with pytest.raises(StudyError, match=message):
        make_splits(spec, data, y, seed=0)


def test_grouped_split_refuses_a_class_smaller_than_the_folds():
    data = pd.DataFrame({"citizenship_iso3": pd.Categorical(list("ABCDEFG") * 7)})
    y = np.array([1, 1] + [0] * 47)
    with pytest.raises(StudyError, match=r"cv\.n_splits.*found 2 positive"):
        make_splits(CVSpec(kind="grouped", n_splits=3), data, y, seed=0)


@pytest.mark.parametrize(
    ("cut", "flip_test", "message"),
    [
        (2013, False, r"cv\.train_until_year: the test \(after 2013\).*found 0 positive and 0"),
        (2009, False, r"cv\.train_until_year: the training \(up to 2009\).*found 0 positive"),
        (2011, True, r"cv\.train_until_year: the test \(after 2011\) cases must hold both"),
    ],
)
def test_impossible_temporal_split_names_the_key(cut, flip_test, message):
    data, y = _years_frame()
    if flip_test:
        y = np.where(data["year_of_registration"].fillna(0).to_numpy() > 2011, 0, y)
    with pytest.raises(StudyError, match=message):
        make_splits(CVSpec(kind="temporal", train_until_year=cut), data, y, seed=0)


# --- cross-validation -----------------------------------------------------------------------


def test_baseline_has_auc_one_half_and_brier_of_prevalence(planted):
    data, y = planted
    splits = make_splits(CVSpec(n_splits=5), data, y, seed=0)
    result = cross_validate_model("logistic", make_logistic, data, y, splits, k=5)
    assert len(result.baseline_folds) == 5
    for (train, test), fold in zip(splits, result.baseline_folds, strict=True):
        p_train, p_test = y[train].mean(), y[test].mean()
        assert fold.roc_auc == 0.5
        assert fold.prevalence_test == pytest.approx(p_test)
        # Brier of a constant c is p(1 - p) + (c - p)^2; c (train prevalence) is close to p.
        assert fold.brier == pytest.approx(p_test * (1 - p_test) + (p_train - p_test) ** 2)
        assert fold.brier == pytest.approx(p_test * (1 - p_test), abs=1e-3)
        assert (fold.n_train, fold.n_test) == (len(train), len(test))


def test_logistic_model_beats_the_baseline_on_a_planted_signal(planted, caplog):
    data, y = planted
    splits = make_splits(CVSpec(n_splits=5), data, y, seed=0)
    with caplog.at_level(logging.INFO, logger="ctdc_risk.evaluate"):
        result = cross_validate_model("logistic", make_logistic, data, y, splits, k=5)
    model, baseline = result.summary(), result.baseline_summary()
    assert model["roc_auc_mean"] > baseline["roc_auc_mean"] + 0.2
    assert model["brier_mean"] < baseline["brier_mean"]
    assert model["log_loss_mean"] < baseline["log_loss_mean"]
    assert set(model) == {f"{m}_{s}" for m in METRICS for s in ("mean", "std")}
    assert not np.isnan(result.oof).any()
    assert not result.oof.flags.writeable
    # One INFO line per fold, naming sizes and AUC.
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("ctdc_risk.evaluate")]
    assert len(lines) == 5
    assert all("n_train=" in line and "roc_auc=" in line for line in lines)


def test_oof_predictions_are_those_of_the_fold_model(planted):
    data, y = planted
    splits = make_splits(CVSpec(n_splits=3), data, y, seed=4)
    result = cross_validate_model("logistic", make_logistic, data, y, splits, k=5)
    train, test = splits[1]
    refit = make_logistic().fit(data.iloc[train], y[train])
    assert np.allclose(result.oof[test], refit.predict_proba(data.iloc[test])[:, 1])
    assert len(result.reliability) == 10
    assert sum(b.n or 0 for b in result.reliability) <= len(y)


def test_temporal_oof_is_nan_outside_the_test_years():
    data, y = _years_frame()
    data = data.assign(x1=np.linspace(-1, 1, len(y)), x2=0.0)
    splits = make_splits(CVSpec(kind="temporal", train_until_year=2011), data, y, seed=0)
    result = cross_validate_model("logistic", make_logistic, data, y, splits, k=5, n_bins=4)
    scored = ~np.isnan(result.oof)
    assert np.array_equal(np.flatnonzero(scored), splits[0][1])
    assert len(result.folds) == 1
    assert result.summary()["roc_auc_std"] == 0.0
    assert len(result.reliability) == 4


def test_overlapping_test_folds_are_refused(planted):
    data, y = planted
    rows = np.arange(len(y))
    with pytest.raises(ValueError, match="overlap"):
        cross_validate_model(
            "logistic",
            make_logistic,
            data,
            y,
            [(rows[:500], rows[500:]), (rows[:400], rows[400:])],
            k=5,
        )


def test_summary_is_nan_aware_with_sample_std():
    folds = tuple(
        FoldScores.from_scores(dict.fromkeys(METRICS, v), n_train=1, n_test=1, prevalence_test=0.5)
        for v in (0.6, 0.8, math.nan)
    )
    result = CVResult("m", folds, folds, (), np.array([]))
    summary = result.summary()
    assert summary["roc_auc_mean"] == pytest.approx(0.7)
    assert summary["roc_auc_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    single = CVResult("m", folds[:1], folds[:1], (), np.array([])).baseline_summary()
    assert single["ece_mean"] == pytest.approx(0.6)
    assert single["ece_std"] == 0.0


# --- spec -----------------------------------------------------------------------------------


def test_spec_from_mapping_takes_defaults_and_values():
    assert CVSpec.from_mapping({}) == CVSpec()
    spec = CVSpec.from_mapping(
        {
            "kind": "temporal",
            "n_splits": 5,
            "group_column": "citizenship_iso3",
            "train_until_year": 2016,
            "n_bins": 10,
        }
    )
    assert spec == CVSpec(kind="temporal", train_until_year=2016)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"folds": 5}, r"study\.cv: unknown key 'folds'"),
        ({"kind": "random"}, r"study\.cv\.kind: .random. is not one of stratified"),
        ({"kind": 1}, r"study\.cv\.kind"),
        ({"n_splits": 1}, r"study\.cv\.n_splits must be an integer of at least 2; got 1"),
        ({"n_splits": "5"}, r"study\.cv\.n_splits"),
        ({"n_splits": 5.0}, r"study\.cv\.n_splits"),
        ({"n_splits": True}, r"study\.cv\.n_splits"),
        ({"group_column": 3}, r"study\.cv\.group_column"),
        ({"train_until_year": "2016"}, r"study\.cv\.train_until_year"),
        ({"kind": "temporal"}, r"study\.cv\.train_until_year is missing"),
        ({"kind": "temporal", "train_until_year": None}, r"study\.cv\.train_until_year"),
        ({"n_bins": 0}, r"study\.cv\.n_bins"),
    ],
)
def test_spec_from_mapping_refuses_bad_config(data, message):
    with pytest.raises(ConfigError, match=message):
        CVSpec.from_mapping(data, key="study.cv")


def test_spec_refuses_a_non_mapping_and_validates_direct_construction():
    with pytest.raises(ConfigError, match=r"cv must be a mapping"):
        CVSpec.from_mapping([("kind", "grouped")])
    with pytest.raises(ConfigError, match=r"cv\.n_splits"):
        CVSpec(n_splits=1)
