import pandas as pd
import pytest

from ctdc_risk.cohort import CohortRule, CohortSpec, select_cohort
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_synthetic(3000, seed=7)


def test_flow_counts_rows_after_each_rule_in_order(frame):
    spec = CohortSpec.from_mapping(
        {
            "name": "boys",
            "rules": [
                {"name": "child", "column": "is_child", "op": "is_true"},
                {"name": "male", "column": "gender", "op": "equals", "value": "male"},
            ],
        }
    )
    cohort = select_cohort(frame, spec)
    n_child = int(frame["is_child"].fillna(False).sum())
    n_boys = int((frame["is_child"].fillna(False) & (frame["gender"] == "male")).sum())
    assert cohort.flow.steps == (("all records", 3000), ("child", n_child), ("male", n_boys))
    assert len(cohort.frame) == n_boys


def test_unknown_child_status_is_neither_child_nor_adult(frame):
    children = select_cohort(frame, CohortSpec("c", "", (CohortRule("c", "is_child", "is_true"),)))
    adults = select_cohort(frame, CohortSpec("a", "", (CohortRule("a", "is_child", "is_false"),)))
    unknown = int(frame["is_child"].isna().sum())
    assert unknown > 0
    assert len(children.frame) + len(adults.frame) + unknown == len(frame)


def test_in_and_is_known_operators(frame):
    spec = CohortSpec.from_mapping(
        {
            "name": "x",
            "rules": [
                {"name": "young", "column": "age_band", "op": "in", "value": ["0--8", "9--17"]},
                {"name": "country known", "column": "citizenship_iso3", "op": "is_known"},
            ],
        }
    )
    out = select_cohort(frame, spec).frame
    assert set(out["age_band"].astype(str)) <= {"0--8", "9--17"}
    assert out["citizenship_iso3"].notna().all()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "r", "column": "age", "op": "is_known"}, r"rules\[0\].column: 'age'"),
        ({"name": "r", "column": "gender", "op": "like"}, r"rules\[0\].op: 'like'"),
        ({"name": "r", "column": "gender", "op": "equals", "value": "boy"}, "not a level"),
        ({"name": "r", "column": "gender", "op": "is_true"}, "needs a yes/no column"),
        ({"name": "r", "column": "gender", "op": "in", "value": "male"}, "needs a list"),
        ({"name": "r", "column": "gender", "op": "equals", "valu": "male"}, "unknown key 'valu'"),
        ({"column": "gender", "op": "is_known"}, r"rules\[0\].name is missing"),
    ],
)
def test_bad_rules_name_the_config_key(rule, message):
    with pytest.raises(ConfigError, match=message):
        CohortSpec.from_mapping({"name": "x", "rules": [rule]})
