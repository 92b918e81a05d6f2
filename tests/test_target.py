from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import yaml

from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError, StudyError
from ctdc_risk.features import (
    FACTORS,
    FeatureSetSpec,
    add_derived_columns,
    matches,
    select_factors,
    source_columns,
)
from ctdc_risk.target import TargetSpec, make_target

TARGET_FILES = sorted((files("ctdc_risk.conf") / "target").iterdir(), key=lambda p: p.name)
TARGETS = {p.name.removesuffix(".yaml"): yaml.safe_load(p.read_text()) for p in TARGET_FILES}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return add_derived_columns(generate_synthetic(5000, seed=11))


def test_the_five_targets_exist():
    assert set(TARGETS) == {
        "family_recruitment",
        "intimate_partner_recruitment",
        "sexual_exploitation",
        "forced_labour",
        "cross_border",
    }


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_no_feature_is_derived_from_the_target_source_columns(name, frame):
    spec = TargetSpec.from_mapping(TARGETS[name])
    for features in ("all", "before_recruitment", "no_exploitation"):
        chosen = select_factors(
            FeatureSetSpec(features), leakage=spec.leakage_patterns, frame=frame
        )
        for factor in chosen:
            for col in (factor.name, *source_columns(factor)):
                assert not matches(col, spec.leakage_patterns), (name, factor.name)
                assert col != spec.outcome


def test_family_target_drops_every_recruiter_field(frame):
    spec = TargetSpec.from_mapping(TARGETS["family_recruitment"])
    chosen = {
        f.name
        for f in select_factors(FeatureSetSpec("all"), leakage=spec.leakage_patterns, frame=frame)
    }
    assert not {n for n in chosen if n.startswith("recruiter_")}
    assert "age_band" in chosen and "cross_border" in chosen


def test_family_target_is_defined_among_known_recruiters(frame):
    spec = TargetSpec.from_mapping(TARGETS["family_recruitment"])
    target = make_target(frame, spec, k=10)
    assert len(target.y) == int(frame["recruiter_known"].sum())
    assert target.n_positive == int(frame["recruiter_family"].fillna(False).sum())
    assert target.flow[0] == ("cohort", len(frame))


def test_one_class_target_stops_with_a_clear_message(frame):
    spec = TargetSpec.from_mapping(
        {
            "name": "x",
            "outcome": "recruiter_family",
            "eligible": [{"name": "family", "column": "recruiter_family", "op": "is_true"}],
        }
    )
    with pytest.raises(StudyError, match=r"every one of the .* eligible rows is 'yes'"):
        make_target(frame, spec, k=10)


def test_class_under_k_stops(frame):
    spec = TargetSpec.from_mapping(TARGETS["family_recruitment"])
    small = frame[frame["recruiter_known"].fillna(False)].copy()
    keep_family = np.flatnonzero(small["recruiter_family"].fillna(False).to_numpy())[:4]
    others = np.flatnonzero(~small["recruiter_family"].fillna(False).to_numpy())
    tiny = small.iloc[np.concatenate([keep_family, others])]
    with pytest.raises(StudyError, match=r"fewer than \d+ rows are yes"):
        make_target(tiny, spec, k=10)


def test_no_eligible_rows(frame):
    spec = TargetSpec.from_mapping(TARGETS["family_recruitment"])
    with pytest.raises(StudyError, match="no rows of the cohort"):
        make_target(frame[~frame["recruiter_known"].fillna(False)], spec, k=10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "outcome": "gender"}, "not a yes/no canonical column"),
        ({"name": "x", "outcome": "recruiter_family", "leakage": {"nothing_*": "r"}}, "matches no"),
        (
            {"name": "x", "outcome": "recruiter_family", "leakage": ["recruiter_*"]},
            "target.leakage must be a mapping of each column pattern to the reason",
        ),
        ({"name": "x", "outcome": "recruiter_family", "leakage": {"recruiter_*": ""}}, "reason"),
        ({"name": "x", "outcome": "recruiter_family", "phase": "before"}, r"target\.phase"),
        ({"name": "x", "outcome": "recruiter_family", "leak": []}, "unknown key 'leak'"),
        ({"outcome": "recruiter_family"}, "target.name is missing"),
    ],
)
def test_bad_target_config_names_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        TargetSpec.from_mapping(data)


def test_every_factor_has_phase_and_domv():
    for factor in FACTORS.values():
        assert factor.phase in ("before_recruitment", "recruitment", "exploitation")
        assert factor.domv in ("individual", "household_family", "community", "structural")


def test_feature_sets_select_by_tags(frame):
    before = select_factors(
        FeatureSetSpec("b", phases=("before_recruitment",)), leakage=(), frame=frame
    )
    assert {f.phase for f in before} == {"before_recruitment"}
    with pytest.raises(ConfigError, match=r"features\.phases"):
        FeatureSetSpec.from_mapping({"phases": ["during"]})


def test_every_shipped_target_gives_a_reason_for_each_column_it_leaves_out():
    for name, data in TARGETS.items():
        spec = TargetSpec.from_mapping(data)
        assert spec.leakage, name
        for pattern, reason in zip(spec.leakage, spec.leakage_reasons, strict=True):
            assert len(reason) > 20, (name, pattern)
        assert spec.leakage_reason(spec.outcome) == "the outcome itself"


def test_recruitment_outcomes_never_adjust_for_what_happened_after_recruitment(frame):
    from ctdc_risk.features import select_study_factors

    for name in ("family_recruitment", "intimate_partner_recruitment"):
        spec = TargetSpec.from_mapping(TARGETS[name])
        assert spec.phase == "recruitment"
        chosen = select_study_factors(
            FeatureSetSpec("all"),
            leakage_reason=spec.leakage_reason,
            covariate_phases=spec.covariate_phases,
            frame=frame,
        )
        assert chosen.covariates
        assert {f.phase for f in chosen.covariates} <= {"before_recruitment", "recruitment"}
        assert {f.phase for f in chosen.context} == {"exploitation"}
        for factor, reason in chosen.dropped:
            assert reason, factor


def test_sexual_exploitation_leaves_out_near_definitional_items():
    spec = TargetSpec.from_mapping(TARGETS["sexual_exploitation"])
    for column in ("means_abuse_psy_phy_sex", "means_drugs_alcohol", "recruiter_intimate_partner"):
        reason = spec.leakage_reason(column)
        assert reason is not None and "near-definitional" in reason
