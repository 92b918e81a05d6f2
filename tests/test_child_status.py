"""Who is a child: at exploitation (default), at registration, or either."""

import numpy as np
import pandas as pd
import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.child_status import CHILD_RULES, child_status
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.errors import ConfigError


def test_rules_nest_registration_within_exploitation_within_either():
    frame = generate_synthetic(5_000, seed=2)
    status = {rule: child_status(frame, rule)[0] for rule in CHILD_RULES}
    child = {rule: s.fillna(False).to_numpy(dtype=bool) for rule, s in status.items()}
    assert child["registration"].sum() < child["exploitation"].sum() <= child["either"].sum()
    # A minor when registered was a minor when exploited.
    assert not (child["registration"] & ~child["exploitation"]).any()
    assert not (child["exploitation"] & ~child["either"]).any()


def test_registered_as_adult_but_exploited_as_a_minor_is_a_child_by_default():
    frame = pd.DataFrame(
        {
            "age_band": pd.Categorical(["18--20", "18--20", None, "9--17"]),
            "majority_status": pd.Categorical([None, "adult", None, None]),
            "majority_status_at_exploit": pd.Categorical(["minor", None, None, "adult"]),
        }
    )
    exploitation, source = child_status(frame, "exploitation")
    assert exploitation.tolist()[:2] == [True, False]
    assert exploitation.isna().tolist() == [False, False, True, False]
    assert source.tolist()[0] == "majority_status_at_exploit"
    # "9--17" at registration but recorded adult at exploitation: the recorded one counts.
    assert not exploitation.tolist()[3]
    registration, _ = child_status(frame, "registration")
    assert not registration.tolist()[0]
    either, _ = child_status(frame, "either")
    assert bool(either.tolist()[3])


def test_the_rule_is_a_checked_setting():
    assert compose_spec(["data.child_rule=either"]).data.child_rule == "either"
    assert compose_spec([]).data.child_rule == "exploitation"
    with pytest.raises(ConfigError, match=r"data\.child_rule: 'adult'"):
        compose_spec(["data.child_rule=adult"])
    assert np.isin(CHILD_RULES, ["exploitation", "registration", "either"]).all()
