"""Prevention targeting: profiles, held-out figures, privacy floor and plain words (issue 7)."""

import itertools

import numpy as np
import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.cohort import select_cohort
from ctdc_risk.encoding import UNKNOWN
from ctdc_risk.errors import ConfigError, StudyError
from ctdc_risk.evaluate import make_splits
from ctdc_risk.features import add_derived_columns
from ctdc_risk.pipeline.describe import load_data
from ctdc_risk.target import make_target
from ctdc_risk.targeting.describe import describe_profile
from ctdc_risk.targeting.profiles import TargetingSpec, learn_profiles, targeting_factors
from ctdc_risk.targeting.table import build_targeting_table

K = 10


@pytest.fixture(scope="module")
def cohort():
    """Children with a known recruiter in 40,000 synthetic records (about 2,900 cases)."""
    spec = compose_spec(["data.n_rows=40000", "cv.n_splits=5"])
    dataset = load_data(spec.data, seed=spec.seed, k=K)
    frame = add_derived_columns(dataset.frame)
    target = make_target(select_cohort(frame, spec.cohort).frame, spec.target, k=K)
    splits = make_splits(spec.cv, target.frame, target.y, seed=spec.seed)
    return spec, target, splits


def _table(spec, frame, y, splits, **changes):
    targeting = TargetingSpec.from_mapping(changes)
    return build_targeting_table(
        frame, y, splits, spec=targeting, leakage=spec.target.leakage_patterns, k=K,
        positive_only=False,
    )  # fmt: skip


def test_a_planted_high_rate_profile_comes_first(cohort):
    spec, target, splits = cohort
    frame = target.frame
    planted = (
        (frame["gender"] == "female").fillna(False)
        & (frame["citizenship_subregion"] == "Eastern Europe").fillna(False)
    ).to_numpy()
    assert 300 < planted.sum() < 600  # about 15 % of the cohort
    y = target.y.copy()
    y[planted] = np.random.default_rng(7).random(int(planted.sum())) < 0.95
    table = _table(spec, frame, y, splits)
    first = table.rows[0]
    assert first.profile.startswith("girls, citizens of countries in Eastern Europe")
    conditions = dict(first.conditions)
    assert conditions["gender"] == ("female",)
    assert conditions["citizenship_subregion"] == ("Eastern Europe",)
    # learnt again without each fold's cases, with the planted rate on the held-out cases
    assert first.folds_found == table.folds == 5
    assert first.heldout is not None and first.heldout.rate > 0.9
    assert first.heldout.interval[0] > 0.85 and first.lift > 1.7
    assert first.heldout.coverage == pytest.approx(first.heldout.positive / y.sum(), abs=1e-9)
    # the planted profile is whole in the leading rows (a tree may split it further)
    wanted = {"gender": ("female",), "citizenship_subregion": ("Eastern Europe",)}
    inside = [r for r in table.rows if wanted.items() <= dict(r.conditions).items()]
    assert [r.rank for r in inside] == list(range(1, len(inside) + 1))
    assert sum(r.n_cases for r in inside) == planted.sum()


def test_without_a_signal_the_held_out_figures_shrink(cohort):
    spec, target, splits = cohort
    y = np.random.default_rng(3).random(len(target.y)) < 0.45  # no profile matters
    table = _table(spec, target.frame, y, splits)
    metrics = table.metrics()
    # the profiles found in noise look better where they were learnt than on new cases
    assert metrics["targeting/top3_coverage_shrinkage"] > 0.02
    assert metrics["targeting/top3_lift"] < 1.1
    learnt_again = [r for r in table.rows if r.heldout is not None]
    assert all(abs(r.heldout.rate - 0.45) < 0.15 for r in learnt_again)


def test_every_figure_rests_on_k_cases_with_and_without_the_outcome(cohort):
    spec, target, splits = cohort
    table = _table(spec, target.frame, target.y, splits, min_cases=20)
    assert len(table.rows) >= 4
    for row in table.rows:
        assert row.n_cases >= 20
        if row.heldout is not None:
            assert min(row.heldout.positive, row.heldout.n - row.heldout.positive) >= K
    # the profiles learnt on every case partition the cohort
    assert sum(r.n_cases for r in table.rows) == len(target.y)
    ends = [r.cumulative for r in table.rows if r.cumulative is not None]
    assert ends[-1] == pytest.approx((1.0, 1.0))
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(ends))
    curve = table.heldout_curve
    assert curve[0] == (0.0, 0.0) and curve[-1] == pytest.approx((1.0, 1.0))


def test_profiles_hold_at_least_k_with_and_without_the_outcome_where_learnt(cohort):
    spec, target, _ = cohort
    factors = targeting_factors(
        TargetingSpec(), leakage=spec.target.leakage_patterns, frame=target.frame
    )
    for k in (10, 40):
        tree = learn_profiles(
            target.frame, target.y, factors, spec=TargetingSpec(min_cases=10), k=k,
            positive_only=False,
        )  # fmt: skip
        assert len(tree.profiles) > 1
        assert (tree.train_positive >= k).all() and (tree.train_n - tree.train_positive >= k).all()
        assert (tree.train_n >= max(10, k)).all()
        placed = tree.assign(target.frame)
        assert np.bincount(placed).tolist() == tree.train_n.tolist()
        rates = tree.train_positive / tree.train_n
        assert (np.diff(rates) <= 1e-12).all()  # highest rate first


def test_same_rows_in_any_order_give_the_same_profiles(cohort):
    spec, target, _ = cohort
    factors = targeting_factors(
        TargetingSpec(), leakage=spec.target.leakage_patterns, frame=target.frame
    )
    kwargs = {"spec": TargetingSpec(), "k": K, "positive_only": False}
    a = learn_profiles(target.frame, target.y, factors, **kwargs)
    order = np.random.default_rng(0).permutation(len(target.y))
    b = learn_profiles(target.frame.iloc[order], target.y[order], factors, **kwargs)
    assert [p.key for p in a.profiles] == [p.key for p in b.profiles]


def test_a_target_s_leakage_never_describes_a_profile(cohort):
    _, target, splits = cohort
    cross = compose_spec(["target=cross_border", "cohort=children"])
    frame = target.frame
    y = frame["cross_border"].fillna(False).to_numpy(dtype=bool)
    table = build_targeting_table(
        frame, y, splits, spec=TargetingSpec(), leakage=cross.target.leakage_patterns, k=K,
        positive_only=False,
    )  # fmt: skip
    assert "cross_border" in table.left_out and "cross_border" not in table.factors
    assert all("cross_border" not in dict(r.conditions) for r in table.rows)
    only = TargetingSpec(factors=("cross_border",))
    with pytest.raises(StudyError, match=r"targeting\.factors"):
        build_targeting_table(
            frame, y, splits, spec=only, leakage=cross.target.leakage_patterns, k=K,
            positive_only=False,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"factors": ["means_threats"]}, "targeting.factors: 'means_threats'.*exploitation-phase"),
        ({"factors": ["recruiter_family"]}, "recruitment-phase factor"),
        ({"factors": ["shoe_size"]}, "no such factor"),
        ({"factors": []}, "non-empty list"),
        ({"max_depth": 9}, "targeting.max_depth must be at most 6"),
        ({"min_cases": 0}, "targeting.min_cases must be a positive integer"),
        ({"top": "three"}, "targeting.top must be a positive integer"),
        ({"enabled": "yes"}, "targeting.enabled"),
        ({"depth": 3}, "targeting: unknown key 'depth'"),
    ],
)
def test_config_mistakes_name_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message):
        TargetingSpec.from_mapping(cfg)


LEVELS = {
    "age_band": ("9--17", "0--8", UNKNOWN),
    "gender": ("female", "male", "trans_nonconforming", UNKNOWN),
    "citizenship_subregion": ("Eastern Europe", "South-eastern Asia", "Western Africa", UNKNOWN),
    "cross_border": ("no", "yes", UNKNOWN),
    "registration_period": ("2011-2014", "2015-2017", "2018 or later", UNKNOWN),
}


@pytest.mark.parametrize(
    ("conditions", "children", "words"),
    [
        ((("gender", ("male",)), ("age_band", ("9--17",))), True, "boys aged 9-17"),
        (
            (("gender", ("female", "trans_nonconforming", UNKNOWN)),),
            True,
            "children other than boys",
        ),
        ((("age_band", ("0--8", UNKNOWN)),), True, "children aged 0-8 or of unrecorded age"),
        (
            (("citizenship_subregion", ("Eastern Europe",)), ("cross_border", ("yes",))),
            False,
            "victims: citizens of countries in Eastern Europe, trafficked across a border",
        ),
        # unknown is said as "not recorded", never as "no"
        (
            (("cross_border", ("no", UNKNOWN)),),
            True,
            "children: not recorded as trafficked across a border",
        ),
        (
            (("citizenship_subregion", ("South-eastern Asia", "Western Africa", UNKNOWN)),),
            True,
            "children: citizens of countries outside Eastern Europe, or citizenship not recorded",
        ),
        (
            (("citizenship_subregion", ("South-eastern Asia", "Western Africa")),),
            True,
            "children: citizens of countries outside Eastern Europe",
        ),
        (
            (
                (
                    "citizenship_subregion",
                    ("Eastern Europe", "South-eastern Asia", "Western Africa"),
                ),
            ),
            True,
            "children: citizenship recorded",
        ),
        ((("registration_period", ("2015-2017",)),), True, "children: registered 2015-2017"),
        ((), True, "all children in the cohort"),
    ],
)
def test_profiles_read_as_plain_words(conditions, children, words):
    assert describe_profile(conditions, LEVELS, children=children) == words


@pytest.mark.parametrize("factor", sorted(LEVELS))
def test_every_set_of_levels_reads_as_a_whole_phrase(factor):
    levels = LEVELS[factor]
    for size in range(1, len(levels)):
        for allowed in itertools.combinations(levels, size):
            for children in (True, False):
                words = describe_profile(((factor, allowed),), LEVELS, children=children)
                assert words and words == words.strip() and "  " not in words, words
                assert not words.endswith((" in", " of", " outside", ",", " or")), words
                assert " ," not in words and ", ," not in words, words
                if UNKNOWN in allowed and factor != "gender":
                    assert "not recorded" in words or "unrecorded" in words, words
