"""The full bootstrap: group resampling, whole-pipeline refits, average ranks, containment."""

import math
from functools import partial

import numpy as np
import pytest

from ctdc_risk.data.records import record_groups
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError
from ctdc_risk.factors.associations import fit_adjusted
from ctdc_risk.factors.contributions import explain_model, summarise_contributions
from ctdc_risk.factors.estimate import point_estimates
from ctdc_risk.factors.refit import make_refit_plan
from ctdc_risk.factors.stability import (
    StabilitySpec,
    average_ranks,
    bootstrap_stability,
)
from ctdc_risk.features import FeatureSetSpec, add_derived_columns, select_factors
from ctdc_risk.models import ModelSpec, build_model

K = 10


@pytest.fixture(scope="module")
def study():
    frame = add_derived_columns(generate_synthetic(20_000, seed=4))
    frame = frame[frame["recruiter_known"].fillna(False)].reset_index(drop=True)
    # Every record twice: the bootstrap must draw copies together.
    frame = frame.iloc[np.repeat(np.arange(len(frame)), 2)].reset_index(drop=True)
    y = frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    factors = select_factors(
        FeatureSetSpec("before", phases=("before_recruitment",)), leakage=(), frame=frame
    )
    kinds = tuple((f.name, f.kind) for f in factors)
    make = partial(
        build_model, ModelSpec.from_mapping("lightgbm", {"n_estimators": 40}, key="m"), factors,
        k=K, positive_only=False, seed=0,
    )  # fmt: skip
    adjusted = fit_adjusted(frame, y, kinds, k=K, positive_only=False)
    encoder = adjusted.encoder
    contrib = explain_model(make().fit(frame, y), frame)
    shap = summarise_contributions(contrib, k=K, reference=encoder.reference_)
    point = point_estimates(adjusted.odds_ratios, shap, contrib, encoder.reference_)
    plan = make_refit_plan(
        factors=kinds, k=K, positive_only=False, reference=encoder.reference_,
        make_model=make, frame=frame,
    )  # fmt: skip
    return plan, frame, y, record_groups(frame), point


def _run(study, n_jobs, n_boot=6):
    plan, frame, y, groups, point = study
    spec = StabilitySpec(n_boot=n_boot, n_jobs=n_jobs)
    return bootstrap_stability(plan, frame, y, groups, point, spec=spec, seed=7, k=K)


def test_same_result_with_one_and_two_workers(study):
    one, two = _run(study, 1), _run(study, 2)
    assert one == two
    assert one.n_boot == 6


def test_planted_factor_is_stable_with_a_bootstrap_interval(study):
    result = _run(study, 1)
    # Age 0-8 is planted at log-odds 0.9 against 9-17.
    assert result.sign_agreement[("age_band", "0--8")] == 1.0
    low, high = result.or_interval[("age_band", "0--8")]
    assert 1 < low < math.exp(0.9) < high
    assert result.shap_sign_agreement[("age_band", "0--8")] == 1.0
    assert all(v is None or 0 <= v <= 1 for v in result.sign_agreement.values())


def test_a_rank_interval_always_contains_its_point_rank(study):
    result = _run(study, 1, n_boot=4)
    for factor, rank in result.point_rank.items():
        low, high = result.rank_interval[factor]
        assert low <= rank <= high, factor


def test_ties_get_average_ranks():
    assert average_ranks([0.3, 0.0, 0.3, 0.0, 0.1]).tolist() == [1.5, 4.5, 1.5, 4.5, 3.0]


def test_copies_of_a_record_are_drawn_together(study, monkeypatch):
    plan, frame, y, groups, point = study
    seen = []

    def spy(sample, yy, gg):
        counts = np.bincount(gg)
        seen.append(bool(np.all(counts[counts > 0] % 2 == 0)))
        return {}

    spied = type(plan)(fit_log_or=spy, fit_shap=plan.fit_shap)
    bootstrap_stability(
        spied, frame, y, groups, point, spec=StabilitySpec(n_boot=2, n_jobs=1), seed=1, k=K
    )
    assert seen == [True, True]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n_boot": -1}, "n_boot"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"min_sign_agreement": 0.2}, "min_sign"),
        ({"boot": 3}, "unknown key 'boot'"),
    ],
)  # fmt: skip
def test_bad_stability_config(data, message):
    with pytest.raises(ConfigError, match=message):
        StabilitySpec.from_mapping(data)


def test_zero_refits_gives_point_ranks_only(study):
    result = _run(study, 1, n_boot=0)
    assert result.n_boot == 0 and not result.rank_interval
    assert set(result.point_rank) == set(study[4].factors)


def test_shap_tree_explainer_matches_lightgbm_contributions_on_distinct_rows():
    """shap's TreeExplainer (the study's engine) returns LightGBM's own exact TreeSHAP, also
    on categorical splits, and the distinct-row speed-up gives every row its row's values."""
    frame = add_derived_columns(generate_synthetic(6_000, seed=5))
    frame = frame[frame["recruiter_known"].fillna(False)].reset_index(drop=True)
    y = frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    factors = select_factors(
        FeatureSetSpec("before", phases=("before_recruitment",)), leakage=(), frame=frame
    )
    model = build_model(
        ModelSpec.from_mapping("lightgbm", {"n_estimators": 30}, key="m"), factors,
        k=K, positive_only=False, seed=0,
    ).fit(frame, y)  # fmt: skip
    by_shap = explain_model(model, frame, engine="shap")
    by_lightgbm = explain_model(model, frame, engine="lightgbm")
    assert by_shap.n_distinct_rows < len(frame)  # rows repeat: the speed-up is in use
    np.testing.assert_array_equal(by_shap.values, by_lightgbm.values)
    assert by_shap.base_value == by_lightgbm.base_value
    # Every row's values are its own: LightGBM on all rows, without the distinct-row step.
    booster = model.named_steps["model"].estimator_.booster_
    codes = by_shap.codes.astype(np.float64)
    direct = booster.predict(codes, pred_contrib=True)[:, :-1]
    np.testing.assert_allclose(by_shap.values, direct, rtol=0, atol=1e-12)
