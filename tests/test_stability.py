import numpy as np
import pytest
from sklearn.base import clone

from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError
from ctdc_risk.factors.contributions import explain_model, summarise_contributions
from ctdc_risk.factors.stability import StabilitySpec, bootstrap_stability
from ctdc_risk.features import FeatureSetSpec, add_derived_columns, select_factors
from ctdc_risk.models import ModelSpec, build_model


@pytest.fixture(scope="module")
def fitted():
    frame = add_derived_columns(generate_synthetic(20_000, seed=4))
    frame = frame[frame["recruiter_known"].fillna(False)].reset_index(drop=True)
    y = frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    factors = select_factors(
        FeatureSetSpec("all"), leakage=("recruiter_*", "is_abduction"), frame=frame
    )
    pipeline = build_model(
        ModelSpec.from_mapping("lightgbm", {"n_estimators": 40}, key="m"), factors, k=10,
        positive_only=False, seed=0,
    ).fit(frame, y)  # fmt: skip
    contrib = explain_model(pipeline, frame)
    return pipeline, frame, y, contrib, summarise_contributions(contrib, k=10)


def _run(fitted, n_jobs):
    pipeline, frame, y, contrib, reference = fitted
    encoder = pipeline.named_steps["encode"]
    return bootstrap_stability(
        clone(pipeline.named_steps["model"]), encoder, encoder.transform(frame), contrib.codes, y,
        reference, spec=StabilitySpec(n_boot=6, n_jobs=n_jobs), seed=7, k=10,
    )  # fmt: skip


def test_same_result_with_one_and_two_workers(fitted):
    one, two = _run(fitted, 1), _run(fitted, 2)
    assert one == two
    assert one.n_boot == 6


def test_strong_factor_is_stable_and_ranked_high(fitted):
    result = _run(fitted, 1)
    assert result.sign_agreement[("cross_border", "yes")] == 1.0
    low, high = result.rank_interval["cross_border"]
    assert 1 <= low <= high <= 3
    assert all(v is None or 0 <= v <= 1 for v in result.sign_agreement.values())


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


def test_zero_refits_gives_empty_result(fitted):
    pipeline, frame, y, contrib, reference = fitted
    encoder = pipeline.named_steps["encode"]
    result = bootstrap_stability(
        clone(pipeline.named_steps["model"]), encoder, encoder.transform(frame), contrib.codes, y,
        reference, spec=StabilitySpec(n_boot=0), seed=7, k=10,
    )  # fmt: skip
    assert result.n_boot == 0 and not result.rank_interval
    assert np.isfinite(list(reference.importance.values())).all()
