import numpy as np
import pytest

from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError
from ctdc_risk.features import FeatureSetSpec, add_derived_columns, select_factors
from ctdc_risk.models import ModelSpec, build_model


@pytest.fixture(scope="module")
def data():
    frame = add_derived_columns(generate_synthetic(20_000, seed=8))
    frame = frame[frame["recruiter_known"].fillna(False)].reset_index(drop=True)
    y = frame["recruiter_family"].fillna(False).to_numpy(dtype=bool)
    factors = select_factors(
        FeatureSetSpec("all"), leakage=("recruiter_*", "is_abduction"), frame=frame
    )
    return frame, y, factors


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("logistic", {}),
        ("logistic", {"penalty": "l1", "C": 0.5}),
        ("logistic", {"penalty": "elasticnet", "l1_ratio": 0.3}),
        ("lightgbm", {}),
        ("lightgbm", {"monotone": {"cross_border": -1}}),
    ],
)
def test_models_fit_and_keep_the_prevalence(data, name, params):
    frame, y, factors = data
    spec = ModelSpec.from_mapping(name, params, key=f"model.{name}")
    model = build_model(spec, factors, k=10, positive_only=False, seed=0).fit(frame, y)
    p = model.predict_proba(frame)[:, 1]
    # Balanced weights plus the prior correction keep predictions at the observed base rate.
    assert abs(p.mean() - y.mean()) < 0.05
    assert ((p > 0) & (p < 1)).all()


def test_monotone_constraint_is_respected(data):
    frame, y, factors = data
    spec = ModelSpec.from_mapping("lightgbm", {"monotone": {"cross_border": 1}}, key="m")
    model = build_model(spec, factors, k=10, positive_only=False, seed=0).fit(frame, y)
    crossed = frame.copy()
    crossed["cross_border"] = crossed["cross_border"].astype("boolean").copy()
    not_crossed = crossed.copy()
    crossed.loc[:, "cross_border"] = True
    not_crossed.loc[:, "cross_border"] = False
    # Forced upward although the true effect is protective: never lower when crossing.
    diff = model.predict_proba(crossed)[:, 1] - model.predict_proba(not_crossed)[:, 1]
    assert (diff >= -1e-12).all()


def test_lightgbm_is_deterministic(data):
    frame, y, factors = data
    spec = ModelSpec.from_mapping("lightgbm", {}, key="m")
    p1 = build_model(spec, factors, k=10, positive_only=False, seed=0).fit(frame, y)
    p2 = build_model(spec, factors, k=10, positive_only=False, seed=0).fit(frame, y)
    assert np.array_equal(p1.predict_proba(frame), p2.predict_proba(frame))


def test_monotone_needs_a_yes_no_factor(data):
    _, _, factors = data
    spec = ModelSpec.from_mapping("lightgbm", {"monotone": {"age_band": 1}}, key="m")
    with pytest.raises(ConfigError, match="not a yes/no factor"):
        build_model(spec, factors, k=10, positive_only=False, seed=0)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("forest", {}, "unknown model"),
        ("logistic", {"penalty": "l3"}, "penalty"),
        ("logistic", {"class_weight": "auto"}, "class_weight"),
        ("lightgbm", {"max_depth": 0}, "max_depth"),
        ("lightgbm", {"monotone": {"cross_border": 2}}, "monotone"),
    ],
)
def test_bad_model_settings_name_the_key(name, params, message):
    with pytest.raises(ConfigError, match=message):
        ModelSpec.from_mapping(name, params, key=f"model.{name}")


def test_every_registry_setting_has_a_default_that_passes_its_own_check():
    from ctdc_risk.models.registry import MODELS
    from ctdc_risk.validate import check_mapping

    for name, kind in MODELS.items():
        assert set(kind.defaults) == set(kind.settings), name
        assert check_mapping(dict(kind.defaults), kind.settings, f"model.{name}") == kind.defaults
