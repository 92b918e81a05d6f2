"""Effect modification: planted interactions are found, none are found where none is planted,
the penalised likelihood ratio test and the stratum odds ratios match closed forms, and nothing
resting on fewer than k cases is published."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from ctdc_risk.cli.compose import compose_spec
from ctdc_risk.data.records import record_groups
from ctdc_risk.encoding import FactorEncoder
from ctdc_risk.errors import ConfigError
from ctdc_risk.factors.factor_rows import COLUMNS, FactorRow, FactorTable
from ctdc_risk.factors.firth import firth_logit
from ctdc_risk.factors.interaction import estimate_interactions
from ctdc_risk.factors.interaction_table import InteractionTable
from ctdc_risk.factors.labels import LabelRule
from ctdc_risk.features import FACTORS
from ctdc_risk.report.content import FORBIDDEN_WORDS
from ctdc_risk.report.differences import difference_sections

K = 10
NAMES = ("age_band", "gender", "citizenship_subregion", "registration_period", "datasource")
REGIONS = ("Eastern Europe", "Western Africa", "South-eastern Asia", "Central America")
PLANTED = 1.2  # log odds ratio of Western Africa for boys; 0 for girls


def make_data(seed: int, *, planted: float, n: int = 4000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.choice(["9--17", "0--8"], n, p=[0.7, 0.3])
    gender = rng.choice(["female", "male"], n, p=[0.6, 0.4])
    region = rng.choice(REGIONS, n)
    eta = -0.4 + 0.9 * (age == "0--8") + 0.5 * (gender == "male")
    eta = eta + planted * ((region == "Western Africa") & (gender == "male"))
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    frame = pd.DataFrame(
        {
            "age_band": pd.Categorical(age),
            "gender": pd.Categorical(gender),
            "citizenship_subregion": pd.Categorical(region),
            "registration_period": pd.Categorical(
                rng.choice(["2011-2014", "2015-2017", "2018 or later"], n)
            ),
            "datasource": pd.Categorical(rng.choice(["Case Management", "Hotline"], n)),
            "is_child": True,
            "record": np.arange(n),  # distinct records differ
            "outcome": y,
        }
    )
    # A fifth of the records appear two to five times, as in the CTDC releases.
    copies = np.where(rng.random(n) < 0.2, rng.integers(2, 6, n), 1)
    frame = frame.iloc[np.repeat(np.arange(n), copies)].reset_index(drop=True)
    return frame.drop(columns="outcome"), frame["outcome"].to_numpy(dtype=bool)


def table_of(encoder: FactorEncoder, labelled: frozenset[tuple[str, str]] = frozenset()):
    """A factor table with the encoder's levels; ``labelled`` levels are called risk."""
    rows = []
    for c in encoder.columns_:
        cells = dict.fromkeys(COLUMNS)
        label = "reference" if c.is_reference else "unclear"
        cells.update(
            factor=c.factor, factor_label=FACTORS[c.factor].label, level=c.level,
            reference_level=encoder.reference_[c.factor], domv_level="individual",
            phase="before_recruitment", adjusted_note="", shap_model="lightgbm",
            label="risk" if (c.factor, c.level) in labelled else label, reason="",
        )  # fmt: skip
        rows.append(FactorRow(**cells))
    return FactorTable(tuple(rows), K, LabelRule(), 0)


def interactions(
    frame: pd.DataFrame,
    y: np.ndarray,
    names: tuple[str, ...] = NAMES,
    *,
    levels: str = "all",
    labelled: frozenset[tuple[str, str]] = frozenset(),
    modifiers: tuple[str, ...] = ("gender", "age_0_8_9_17"),
) -> InteractionTable:
    encoder = FactorEncoder(tuple((n, FACTORS[n].kind) for n in names), min_count=K).fit(frame, y)
    return estimate_interactions(
        frame, y, encoder, table_of(encoder, labelled), record_groups(frame),
        modifiers=modifiers, levels=levels, k=K, rule=LabelRule(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def planted() -> InteractionTable:
    return interactions(*make_data(0, planted=PLANTED))


def test_a_planted_interaction_is_found(planted):
    rows = {(r.modifier, r.factor, r.level): r for r in planted.rows}
    found = rows[("gender", "citizenship_subregion", "Western Africa")]
    assert found.result == "holds"
    assert found.q_value is not None and found.q_value < 0.05
    assert found.ratio_low is not None and found.ratio_low > 1
    assert found.ratio_low < math.exp(PLANTED) < found.ratio_high
    # Odds ratio for boys about exp(1.2), for girls about 1 (against the reference region, whose
    # own effect is 0 in both groups).
    assert found.or_group_low < math.exp(PLANTED) < found.or_group_high
    assert found.or_comparison_low < 1 < found.or_comparison_high
    assert found.ratio_of_or == pytest.approx(found.or_group / found.or_comparison, rel=1e-4)
    assert [r.level for r in planted.holding()] == ["Western Africa"]
    # Every level of every other factor with either modifier was tested, adjusted together.
    assert len(planted.tested()) == 7 + 7  # age or gender, 3 regions, 2 periods, 1 source
    metrics = planted.metrics()
    assert metrics["interactions/holding"] == 1
    key = "interactions/gender/citizenship_subregion/Western Africa/ratio_of_or"
    assert metrics[key] == found.ratio_of_or


def test_no_interaction_is_found_where_none_is_planted():
    for seed in (1, 2):
        table = interactions(*make_data(seed, planted=0.0))
        assert len(table.tested()) > 10
        assert table.holding() == [], [(r.modifier, r.level, r.q_value) for r in table.holding()]


def test_copies_of_records_widen_the_test_like_the_interval(planted):
    # The data repeat a fifth of the records: the clustered variance is larger, and the
    # likelihood ratio statistic is divided by the same ratio.
    effects = [r.design_effect for r in planted.tested()]
    assert all(e is not None and e >= 1 for e in effects)
    assert np.median(effects) > 1.3


def test_labelled_mode_tests_only_labelled_levels():
    frame, y = make_data(0, planted=PLANTED)
    labelled = frozenset({("citizenship_subregion", "Western Africa"), ("gender", "male")})
    table = interactions(frame, y, levels="labelled", labelled=labelled)
    tested = {(r.modifier, r.factor, r.level) for r in table.rows}
    # gender=male is the gender modifier's own factor: tested with age only.
    assert tested == {
        ("gender", "citizenship_subregion", "Western Africa"),
        ("age_0_8_9_17", "citizenship_subregion", "Western Africa"),
        ("age_0_8_9_17", "gender", "male"),
    }
    assert [r.modifier for r in table.holding()] == ["gender"]


def _penalised_loglik(beta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    eta = X @ beta
    p = 1 / (1 + np.exp(-eta))
    info = X.T @ (X * (p * (1 - p))[:, None])
    return float(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(info)[1])


def test_penalised_likelihood_ratio_matches_a_brute_force_optimum():
    rng = np.random.default_rng(3)
    n = 400
    a, m = rng.integers(0, 2, n), rng.integers(0, 2, n)
    X = np.column_stack([np.ones(n), a, m, a * m, rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ [-0.3, 0.8, 0.2, 0.9, 0.4])))).astype(float)
    full, restricted = firth_logit(X, y), firth_logit(X, y, fixed=np.array([3]))
    assert full.converged and restricted.converged
    assert restricted.params[3] == 0.0
    # Brute force: the restricted optimum keeps the whole design in the penalty.
    free = [0, 1, 2, 4]

    def negative(b: np.ndarray) -> float:
        beta = np.zeros(5)
        beta[free] = b
        return -_penalised_loglik(beta, X, y)

    best = minimize(negative, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(restricted.params[free], best.x, atol=1e-6)
    assert restricted.penalised_loglik == pytest.approx(-best.fun, abs=1e-9)
    assert full.penalised_loglik == pytest.approx(_penalised_loglik(full.params, X, y), abs=1e-9)
    assert 2 * (full.penalised_loglik - restricted.penalised_loglik) > 0


def _saturated_frame(
    cells: dict[tuple[str, str], tuple[int, int]],
) -> tuple[pd.DataFrame, np.ndarray]:
    """One distinct record per case; ``cells[(gender, region)] = (with outcome, without)``."""
    genders, regions, ys = [], [], []
    for (gender, region), (yes, no) in cells.items():
        genders += [gender] * (yes + no)
        regions += [region] * (yes + no)
        ys += [True] * yes + [False] * no
    frame = pd.DataFrame(
        {
            "gender": pd.Categorical(genders),
            "citizenship_subregion": pd.Categorical(regions),
            "record": np.arange(len(ys)),
        }
    )
    return frame, np.array(ys)


CELLS = {
    ("female", "Eastern Europe"): (120, 300),
    ("female", "Western Africa"): (60, 140),
    ("male", "Eastern Europe"): (40, 90),
    ("male", "Western Africa"): (70, 30),
}


def test_stratum_odds_ratios_have_the_saturated_closed_form():
    # Firth's estimate in a saturated model adds 1/2 to every cell.
    frame, y = _saturated_frame(CELLS)
    table = interactions(frame, y, ("gender", "citizenship_subregion"), modifiers=("gender",))
    (row,) = table.rows

    def odds(gender: str, region: str) -> float:
        yes, no = CELLS[(gender, region)]
        return (yes + 0.5) / (no + 0.5)

    girls = odds("female", "Western Africa") / odds("female", "Eastern Europe")
    boys = odds("male", "Western Africa") / odds("male", "Eastern Europe")
    assert row.or_comparison == pytest.approx(girls, rel=1e-5)
    assert row.or_group == pytest.approx(boys, rel=1e-5)
    assert row.ratio_of_or == pytest.approx(boys / girls, rel=1e-5)
    assert row.design_effect == 1.0  # distinct records: no widening


def test_with_many_cases_the_penalised_test_is_the_likelihood_ratio_test():
    import statsmodels.api as sm

    big = {key: (yes * 20, no * 20) for key, (yes, no) in CELLS.items()}
    frame, y = _saturated_frame(big)
    (row,) = interactions(frame, y, ("gender", "citizenship_subregion"), modifiers=("gender",)).rows
    boy = (frame["gender"] == "male").to_numpy(dtype=float)
    africa = (frame["citizenship_subregion"] == "Western Africa").to_numpy(dtype=float)
    main = np.column_stack([np.ones(len(y)), boy, africa])
    full = sm.Logit(y.astype(float), np.column_stack([main, boy * africa])).fit(disp=0)
    reduced = sm.Logit(y.astype(float), main).fit(disp=0)
    assert row.lr_statistic == pytest.approx(2 * (full.llf - reduced.llf), rel=0.01)


def test_small_cells_are_suppressed_and_never_tested():
    cells = {**CELLS, ("male", "Western Africa"): (9, 30)}  # 9 boys with the outcome
    frame, y = _saturated_frame(cells)
    (row,) = interactions(frame, y, ("gender", "citizenship_subregion"), modifiers=("gender",)).rows
    assert row.result == "suppressed"
    assert "fewer than 10" in row.reason
    estimates = [v for name, v in row.to_record().items() if name.startswith(("or_", "ratio"))]
    assert estimates and all(v is None for v in estimates)
    assert row.p_value is None and row.q_value is None


def test_a_modifier_the_cohort_fixes_is_skipped_with_the_reason():
    frame, y = make_data(0, planted=PLANTED)
    boys = (frame["gender"] == "male").to_numpy()
    table = interactions(frame[boys].reset_index(drop=True), y[boys])
    by_name = {m.name: m for m in table.modifiers}
    assert by_name["gender"].skipped == (
        "the cohort does not hold both boys and girls (it fixes the gender)"
    )
    assert not by_name["age_0_8_9_17"].skipped
    assert {r.modifier for r in table.rows} == {"age_0_8_9_17"}
    sections = {s[0]: s for s in difference_sections(table, "recruited by a family member")}
    assert sections["differ-gender"][2][0][1].startswith("Not tested: the cohort does not hold")


def test_the_report_names_what_holds_in_plain_words(planted):
    sections = difference_sections(planted, "recruited by a family member")
    (_, title, blocks), (_, age_title, age_blocks) = sections
    assert title == "Does it differ for boys and girls?"
    assert age_title == "Does it differ for children aged 0-8 and children aged 9-17?"
    (sentence,) = blocks[0][1]
    assert sentence.startswith("For boys, cases of citizens of Western Africa (compared with")
    # Girls' odds ratio is about 1: on either side of it, the sentence says boys' is higher.
    assert re.search(
        r"went with higher odds of being recruited by a family member"
        r"( more strongly than for girls|, unlike for girls)",
        sentence,
    )
    assert "ratio of the two odds ratios" in sentence
    assert age_blocks[0][1].startswith("No difference between children aged 0-8 and")
    text = " ".join(str(b) for _, _, bl in sections for b in bl).lower()
    for word in FORBIDDEN_WORDS:
        assert not re.search(rf"\b{re.escape(word)}\b", text), word


def test_the_sentence_follows_the_direction_of_both_odds_ratios(planted):
    from dataclasses import replace

    from ctdc_risk.report.differences import difference_sentence

    row = planted.holding()[0]
    mod = planted.modifiers[0]
    words = "recruited by a family member"
    weaker = replace(row, or_group=0.8, or_comparison=0.3, ratio_of_or=0.8 / 0.3)
    assert "went with lower odds of being recruited by a family member less strongly" in (
        difference_sentence(weaker, mod, words)
    )
    opposite = replace(row, or_group=2.0, or_comparison=0.5, ratio_of_or=4.0)
    assert "went with higher odds of being recruited by a family member, unlike for girls" in (
        difference_sentence(opposite, mod, words)
    )


def test_metric_names_are_valid_for_mlflow(planted):
    for key in planted.metrics():
        assert re.fullmatch(r"[/\w.\- ]+", key), key


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("explain.modifiers=[gender,pets]", "explain.modifiers: 'pets'"),
        ("explain.modifiers=[gender,gender]", "twice"),
        ("explain.interaction_levels=some", "explain.interaction_levels"),
    ],
)
def test_modifier_settings_are_checked(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        compose_spec([override])


def test_default_modifiers_are_gender_and_age():
    explain = compose_spec([]).explain
    assert explain.modifiers == ("gender", "age_0_8_9_17")
    assert explain.interaction_levels == "labelled"
    assert compose_spec(["explain.modifiers=[]"]).explain.modifiers == ()
