"""Prevention targeting: profiles, held-out figures, privacy floor and plain words (issue 7)."""

import itertools
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.cohort import select_cohort
from ctdc_risk.data.source import load_data
from ctdc_risk.encoding import UNKNOWN
from ctdc_risk.errors import ConfigError, StudyError
from ctdc_risk.evaluate import make_splits
from ctdc_risk.features import add_derived_columns
from ctdc_risk.target import make_target
from ctdc_risk.targeting.profiles import (
    Profile,
    TargetingSpec,
    learn_profiles,
    targeting_factors,
)
from ctdc_risk.targeting.table import build_targeting_table
from ctdc_risk.targeting.wording import describe_profile

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
    # the profiles found in noise look better where they were learnt than on new cases:
    # their lift shrinks (training lift minus held-out lift)
    assert metrics["targeting/top3_lift_shrinkage"] > 0
    assert metrics["targeting/top3_lift_shrinkage"] == pytest.approx(
        metrics["targeting/top3_lift_training"] - metrics["targeting/top3_lift"], abs=1e-5
    )
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
        # the other side of a split keeps the unrecorded cases and is said by what it leaves out
        ((("age_band", ("0--8", UNKNOWN)),), True, "children not aged 9-17"),
        (
            (("gender", ("female", "trans_nonconforming", UNKNOWN)), ("age_band", ("0--8",))),
            True,
            "children other than boys, aged 0-8",
        ),
        (
            (("gender", ("female", "trans_nonconforming")),),
            False,
            "female victims or transgender or gender non-conforming victims",
        ),
        (
            (("citizenship_subregion", ("Eastern Europe",)), ("cross_border", ("yes",))),
            False,
            "victims: citizens of countries in Eastern Europe, trafficked across a border",
        ),
        (
            (("cross_border", ("no", UNKNOWN)),),
            True,
            "children: not trafficked across a border",
        ),
        (
            (("citizenship_subregion", ("South-eastern Asia", "Western Africa", UNKNOWN)),),
            True,
            "children: not citizens of countries in Eastern Europe",
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
                # never "not recorded": a set keeping the unrecorded cases names what it
                # leaves out
                assert "not recorded" not in words and "unrecorded" not in words, words
                if UNKNOWN in allowed:
                    assert " not " in words or " neither " in words or "other than" in words


def test_no_profile_conditions_on_a_not_recorded_level(cohort):
    """Issue 15: the outcome planted on cases whose citizenship is not recorded, in a frame
    full of gaps; the tree may not name "not recorded", so no profile is "citizenship not
    recorded", "citizenship recorded", or "of unrecorded age"."""
    spec, target, splits = cohort
    rng = np.random.default_rng(11)
    frame = target.frame.copy()
    for column in ("age_band", "gender", "citizenship_subregion", "cross_border"):
        frame[column] = frame[column].mask(rng.random(len(frame)) < 0.3)
    unrecorded = frame["citizenship_subregion"].isna().to_numpy()
    girls_ee = (
        (frame["gender"] == "female").fillna(False)
        & (frame["citizenship_subregion"] == "Eastern Europe").fillna(False)
    ).to_numpy()
    y = rng.random(len(frame)) < 0.3
    y[unrecorded] = rng.random(int(unrecorded.sum())) < 0.9
    y[girls_ee] = rng.random(int(girls_ee.sum())) < 0.9
    table = _table(spec, frame, y, splits)
    factors = targeting_factors(TargetingSpec(), leakage=spec.target.leakage_patterns, frame=frame)
    tree = learn_profiles(frame, y, factors, spec=TargetingSpec(), k=K, positive_only=False)
    levels = tree.encoder.levels_
    for node in tree.nodes:
        if not isinstance(node, int):
            assert tree.encoder.columns_[node.column].level != UNKNOWN
    assert len(table.rows) >= 3
    for row in table.rows:
        for factor, allowed in row.conditions:
            known = [lv for lv in levels[factor] if lv != UNKNOWN]
            assert any(lv != UNKNOWN for lv in allowed), row  # never "only not recorded"
            if UNKNOWN not in allowed:  # a set of recorded levels, never "any recorded level"
                assert not set(known) <= set(allowed), row
        words = row.profile.lower()
        assert "not recorded" not in words and "unrecorded" not in words, row.profile
        assert "citizenship recorded" not in words, row.profile
    # the cases without a recorded citizenship stay on the side of each split that names no
    # sub-region
    placed = tree.assign(frame)
    for p in np.unique(placed[unrecorded]):
        allowed = dict(tree.profiles[p].conditions).get("citizenship_subregion", (UNKNOWN,))
        assert UNKNOWN in allowed
    assert [p.key for p in tree.profiles] == [Profile(r.conditions).key for r in table.rows]
    # the unrecorded cases' high rate does not steer the tree: the planted profile of recorded
    # levels comes first
    assert table.rows[0].profile == "girls, citizens of countries in Eastern Europe"


@pytest.fixture(scope="module")
def transport(cohort):
    """Folds grouped by country and the temporal split of the cohort (ctdc_risk.transport)."""
    from ctdc_risk.data.records import record_groups
    from ctdc_risk.transport import make_transport_splits

    spec, target, _ = cohort
    held = make_transport_splits(
        target.frame, target.y, record_groups(target.frame), n_splits=5, seed=spec.seed, k=K
    )
    return {h.kind: (h.splits, h.note) for h in held}


@pytest.mark.parametrize("early_only", [True, False])
def test_targeting_transport_quotes_the_most_conservative_lift(cohort, transport, early_only):
    """A high rate planted on citizens of Eastern Europe (five countries) carries over to
    countries held out and to later years; planted only up to the temporal cut (2017), it does
    not carry over to later years, and the summary quotes that lower lift."""
    from ctdc_risk.evaluate import YEAR_COLUMN
    from ctdc_risk.report.content import targeting_sentence

    spec, target, splits = cohort
    frame = target.frame
    # a copy: under pandas 3 (copy-on-write) to_numpy may give a read-only view
    planted = (frame["citizenship_subregion"] == "Eastern Europe").fillna(False).to_numpy(copy=True)
    if early_only:
        planted &= frame[YEAR_COLUMN].to_numpy(dtype=float, na_value=np.nan) <= 2017
    rng = np.random.default_rng(5)
    y = rng.random(len(frame)) < 0.45
    y[planted] = rng.random(int(planted.sum())) < 0.85
    table = build_targeting_table(
        frame, y, splits, spec=TargetingSpec(top=1), leakage=spec.target.leakage_patterns,
        k=K, positive_only=False, transport=transport,
    )  # fmt: skip
    default, country, temporal = table.schemes
    assert (default.scheme, country.scheme, temporal.scheme) == ("default", "country", "temporal")
    assert country.folds == 5 and temporal.folds == 1 and temporal.n_cases < len(y)
    assert "up to 2017" in temporal.note
    if early_only:
        assert temporal.lift < 1.2 and default.lift - temporal.lift > 0.25
        assert table.most_conservative() is temporal
    else:
        assert min(s.lift for s in table.schemes) > 1.35
    # shrinkage is defined on lift: where learnt minus held-out
    for s in table.schemes:
        assert s.lift_shrinkage == pytest.approx(s.training_lift - s.lift)
    lowest = table.most_conservative()
    assert lowest.lift == min(s.lift for s in table.schemes)
    metrics = table.metrics()
    assert metrics["targeting/top1_lift_country"] == pytest.approx(country.lift, abs=1e-6)
    assert metrics["targeting/top1_lift_temporal"] == pytest.approx(temporal.lift, abs=1e-6)
    assert metrics["targeting/top1_lift_lowest"] == pytest.approx(lowest.lift, abs=1e-6)
    assert metrics["targeting/top1_lift_shrinkage"] == pytest.approx(
        default.training_lift - default.lift, abs=1e-6
    )
    first = table.rows[0]
    assert dict(first.conditions)["citizenship_subregion"] == ("Eastern Europe",)
    assert [name for name, _ in first.transport_lift] == ["country", "temporal"]
    # the summary sentence quotes the lowest lift, and names the others
    question = SimpleNamespace(cohort_name="children", outcome_words="planted")
    inputs = SimpleNamespace(targeting=table, question=question)
    sentence = targeting_sentence(inputs)
    assert f"a lift of {lowest.lift:.2f}" in sentence
    assert "the lowest of the ways it was measured" in sentence
    # targeting.csv / targeting.json carry the lift under every scheme
    document = table.document()
    assert [s["scheme"] for s in document["heldout_schemes"]] == ["default", "country", "temporal"]
    assert document["most_conservative_scheme"] == lowest.scheme
    assert {"lift", "lift_country", "lift_temporal", "lift_shrinkage"} <= set(document["columns"])
    assert len(table.records()[0]) == len(document["columns"])


def test_every_transport_figure_rests_on_k_cases_with_and_without_the_outcome(cohort, transport):
    spec, target, splits = cohort
    table = build_targeting_table(
        target.frame, target.y, splits, spec=TargetingSpec(min_cases=20),
        leakage=spec.target.leakage_patterns, k=K, positive_only=False, transport=transport,
    )  # fmt: skip
    for s in table.schemes:
        assert s.made, s.note
        # every point of the gain curve, and so the top profiles and the rest, rests on >= k
        # held-out cases with and without the outcome (counts read back from the shares)
        reached = [
            (round(share * s.n_cases), round(cov * s.n_positive)) for share, cov in s.heldout_curve
        ]
        for (n0, p0), (n1, p1) in itertools.pairwise(reached):
            assert p1 - p0 >= K and (n1 - n0) - (p1 - p0) >= K, s.scheme
    # a profile's lift under a scheme is given only where its held-out counts there reach k:
    # the same rule as the study's folds, checked on the cross-fitted counts
    from functools import partial

    from ctdc_risk.targeting.crossfit import cross_fit
    from ctdc_risk.targeting.profiles import learn_profiles

    factors = targeting_factors(
        TargetingSpec(min_cases=20), leakage=spec.target.leakage_patterns, frame=target.frame
    )
    learn = partial(learn_profiles, factors=factors, spec=TargetingSpec(min_cases=20), k=K,
                    positive_only=False)  # fmt: skip
    final = learn(target.frame, target.y)
    members = final.assign(target.frame)
    for name, (scheme_splits, _) in transport.items():
        fit = cross_fit(target.frame, target.y, scheme_splits, learn, members, len(final.profiles))
        for p, row in enumerate(table.rows):
            n, pos = fit.by_profile[p, :2]
            given = dict(row.transport_lift)[name] is not None
            assert given == bool(fit.found[p] and min(pos, n - pos) >= K), (name, row.rank)


def test_the_summary_says_nothing_when_the_top_profiles_hold_every_case():
    from ctdc_risk.report.content import targeting_sentence
    from ctdc_risk.targeting.crossfit import CrossFit, summarise_scheme

    # two ranks, each under k with the outcome on held-out cases: pooled into one group
    by_rank = np.array([[40, 6], [40, 6]])
    fit = CrossFit(1, by_rank, by_rank, np.zeros((2, 4), int), np.zeros(2, int),
                   np.zeros((2, 2), int), np.zeros((2, 2), int))  # fmt: skip
    pooled, groups = summarise_scheme("temporal", "later", fit, k=K, top=1)
    assert groups == [[0, 1]] and pooled.holds_every_case and pooled.lift == 1.0
    ok, _ = summarise_scheme("default", "folds", replace(fit, by_rank=by_rank * 3), k=K, top=1)
    assert not ok.holds_every_case
    table = SimpleNamespace(rows=(1, 2), schemes=(ok, pooled), most_conservative=lambda: pooled)
    question = SimpleNamespace(cohort_name="children", outcome_words="planted")
    inputs = SimpleNamespace(targeting=table, question=question)
    sentence = targeting_sentence(inputs)
    assert "would reach" not in sentence and "100%" not in sentence
    assert "does not say whom a program should reach first" in sentence
