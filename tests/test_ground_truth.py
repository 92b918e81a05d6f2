"""Both models recover the generator's planted effects (issue 3, item 9)."""

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import yaml

from ctdc_risk.data.synthetic import NOISE_FACTORS, PLANTED_EFFECTS, generate_synthetic
from ctdc_risk.factors.contributions import explain_model, summarise_contributions
from ctdc_risk.features import FeatureSetSpec, add_derived_columns, select_factors
from ctdc_risk.models import ModelSpec, build_model
from ctdc_risk.target import TargetSpec, make_target

NOISE = tuple("registration_period" if n == "year_of_registration" else n for n in NOISE_FACTORS)


@pytest.fixture(scope="module")
def target():
    frame = add_derived_columns(generate_synthetic(60_000, seed=3))
    children = frame[frame["is_child"].fillna(False)].reset_index(drop=True)
    spec_path = files("ctdc_risk.conf") / "target" / "family_recruitment.yaml"
    spec = TargetSpec.from_mapping(yaml.safe_load(spec_path.read_text()))
    return spec, make_target(children, spec, k=10)


@pytest.mark.parametrize("model", ["logistic", "lightgbm"])
def test_planted_factors_outrank_noise_with_the_planted_direction(target, model):
    spec, t = target
    factors = select_factors(FeatureSetSpec("all"), leakage=spec.leakage_patterns, frame=t.frame)
    pipeline = build_model(
        ModelSpec.from_mapping(model, {}, key="model"), factors, k=10, positive_only=False, seed=0
    ).fit(t.frame, t.y)
    contrib = explain_model(pipeline, t.frame)
    # Each planted level is compared with the most common level carrying no planted effect
    # (the contrast an odds ratio makes).
    reference = {}
    for p in PLANTED_EFFECTS:
        levels = contrib.levels[p.column]
        counts = np.bincount(
            contrib.codes[:, contrib.factors.index(p.column)], minlength=len(levels)
        )
        planted_level = "yes" if p.level is True else str(p.level)
        others = [
            i for i, lv in enumerate(levels)
            if lv not in (planted_level, "unknown") and not lv.startswith("other")
        ]  # fmt: skip
        reference[p.column] = levels[max(others, key=lambda i: counts[i])]
    summary = summarise_contributions(contrib, k=10, reference=reference)
    planted = {p.column for p in PLANTED_EFFECTS}
    weakest_planted = min(summary.importance[c] for c in planted)
    strongest_noise = max(summary.importance[c] for c in NOISE)
    assert weakest_planted > 1.5 * strongest_noise
    for p in PLANTED_EFFECTS:
        level = "yes" if p.level is True else str(p.level)
        direction = summary.direction[(p.column, level)]
        assert direction is not None
        assert (direction > 0) == (p.log_odds > 0), (p.column, level, direction)
        # Same order of size as planted (SHAP directions are diluted by correlated rows).
        assert 0.4 * abs(p.log_odds) < abs(direction) < 1.6 * abs(p.log_odds)


def test_shap_is_additive_and_deduplicated(target):
    spec, t = target
    factors = select_factors(FeatureSetSpec("all"), leakage=spec.leakage_patterns, frame=t.frame)
    doubled = pd.concat([t.frame, t.frame], ignore_index=True)
    pipeline = build_model(
        ModelSpec.from_mapping("lightgbm", {}, key="model"), factors, k=10,
        positive_only=False, seed=0,
    ).fit(t.frame, t.y)  # fmt: skip
    contrib = explain_model(pipeline, doubled)
    assert contrib.n_distinct_rows <= len(t.frame)
    margin = pipeline.named_steps["model"].decision_function(
        pipeline.named_steps["encode"].transform(doubled)
    )
    assert abs(contrib.values.sum(axis=1) + contrib.base_value - margin).max() < 1e-6
