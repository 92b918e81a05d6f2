import numpy as np
import pandas as pd
import pytest

from ctdc_risk.encoding import POOLED, UNKNOWN, FactorEncoder
from ctdc_risk.errors import StudyError


def _frame(n_rare: int = 3) -> pd.DataFrame:
    levels = ["a"] * 50 + ["b"] * 20 + ["c"] * n_rare + ["d"] * n_rare + [None] * 12
    flags = [True] * 30 + [False] * 40 + [None] * (len(levels) - 70)
    return pd.DataFrame(
        {
            "cat": pd.Categorical(levels, categories=["a", "b", "c", "d", "e"]),
            "flag": pd.array(flags, dtype="boolean"),
        }
    )


def test_unknown_is_its_own_level_and_never_no():
    enc = FactorEncoder((("flag", "flag"),), min_count=5).fit(_frame())
    assert enc.levels_["flag"] == ("no", UNKNOWN, "yes")
    codes = enc.transform(_frame()).toarray()
    n_unknown = int(_frame()["flag"].isna().sum())
    assert codes[:, 1].sum() == n_unknown


def test_rare_levels_are_pooled_into_their_own_level_never_into_the_reference():
    enc = FactorEncoder((("cat", "category"),), min_count=5).fit(_frame(n_rare=3))
    # c and d have 3 rows each: pooled (6 >= 5).
    assert enc.levels_["cat"] == ("a", "b", POOLED, UNKNOWN)
    enc2 = FactorEncoder((("cat", "category"),), min_count=10).fit(_frame(n_rare=3))
    # pooled 6 < 10: still a level of its own (its figures are suppressed when published);
    # the reference "a" keeps exactly its own 50 rows.
    assert enc2.levels_["cat"] == ("a", "b", POOLED, UNKNOWN)
    X = enc2.transform(_frame(n_rare=3)).toarray()
    assert X[:, 0].sum() == 50
    assert enc2.counts_["cat"] == (50, 20, 6, 12)


def _outcome_frame() -> tuple[pd.DataFrame, np.ndarray]:
    # "a": 60 cases, all with the outcome; "b": 30 cases, 15/15; "c": 20 cases, 10/10.
    cat = ["a"] * 60 + ["b"] * 30 + ["c"] * 20
    y = np.array([1] * 60 + [1, 0] * 15 + [1, 0] * 10)
    flag = pd.array([True] * 90 + [None] * 20, dtype="boolean")  # no "no" level at all
    frame = pd.DataFrame({"cat": pd.Categorical(cat), "flag": flag})
    return frame, y


def test_reference_is_the_largest_level_with_k_cases_on_each_side_of_the_outcome():
    frame, y = _outcome_frame()
    enc = FactorEncoder((("cat", "category"), ("flag", "flag")), min_count=10).fit(frame, y)
    # "a" is largest but has no case without the outcome: "b" is the reference.
    assert enc.reference_["cat"] == "b"
    assert enc.reference_ok_["cat"]
    assert [c.level for c in enc.columns_ if c.is_reference] == ["b", "yes"]
    # A flag whose "no" has no case does not keep "no" as its reference.
    assert enc.reference_["flag"] == "yes"


def test_a_reference_can_be_set_per_factor_and_a_missing_one_is_named():
    frame, y = _outcome_frame()
    enc = FactorEncoder((("cat", "category"),), min_count=10, reference={"cat": "c"}).fit(frame, y)
    assert enc.reference_["cat"] == "c"
    with pytest.raises(StudyError, match=r"explain\.reference\.cat: 'z'"):
        FactorEncoder((("cat", "category"),), min_count=10, reference={"cat": "z"}).fit(frame, y)


def test_no_qualifying_reference_is_flagged():
    frame, y = _outcome_frame()
    enc = FactorEncoder((("cat", "category"),), min_count=20).fit(frame, y)
    assert not enc.reference_ok_["cat"]


def test_positive_only_flags_are_recorded_or_not():
    frame = pd.DataFrame({"flag": pd.array([True] * 20 + [None] * 30, dtype="boolean")})
    enc = FactorEncoder((("flag", "flag"),), min_count=5, positive_only=True).fit(frame)
    assert enc.levels_["flag"] == ("not recorded", "recorded")


def test_levels_learnt_in_fit_only_and_unseen_levels_go_to_reference():
    train = _frame()
    test = pd.DataFrame(
        {
            "cat": pd.Categorical(["e", "b"], categories=["a", "b", "c", "d", "e"]),
            "flag": pd.array([True, False], dtype="boolean"),
        }
    )
    enc = FactorEncoder((("cat", "category"), ("flag", "flag")), min_count=5).fit(train)
    X = enc.transform(test).toarray()
    names = list(enc.get_feature_names_out())
    assert X[0, names.index("cat=a")] == 1  # unseen "e" -> reference
    assert X.sum(axis=1).tolist() == [2, 2]  # one level per factor


def test_ordinal_output_matches_onehot_levels():
    frame = _frame()
    factors = (("cat", "category"), ("flag", "flag"))
    onehot = FactorEncoder(factors, min_count=5).fit(frame)
    ordinal = FactorEncoder(factors, min_count=5, output="ordinal").fit(frame)
    X1 = onehot.transform(frame).toarray()
    Xo = ordinal.transform(frame)
    assert onehot.levels_ == ordinal.levels_
    assert np.array_equal(X1[:, : len(onehot.levels_["cat"])].argmax(axis=1), Xo[:, 0])


def test_bad_output_refused():
    with pytest.raises(ValueError, match="output"):
        FactorEncoder((("cat", "category"),), output="dense").fit(_frame())  # type: ignore[arg-type]


def test_derived_binary_factor_keeps_its_no_in_positive_only_releases():
    frame = pd.DataFrame(
        {"cross_border": pd.array([True] * 20 + [False] * 20 + [None] * 15, dtype="boolean")}
    )
    enc = FactorEncoder((("cross_border", "binary"),), min_count=5, positive_only=True).fit(frame)
    assert enc.levels_["cross_border"] == ("no", UNKNOWN, "yes")
