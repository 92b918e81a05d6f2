"""Crude prevalence ratios and adjusted odds ratios: closed forms, planted effects, hard designs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ctdc_risk.encoding import UNKNOWN, EncodedColumn, FactorEncoder
from ctdc_risk.errors import StudyError
from ctdc_risk.factors.associations import (
    NOTE_ALIASED,
    NOTE_COLLINEAR,
    NOTE_EMPTY,
    NOTE_REFERENCE,
    NOTE_SEPARATION,
    AdjustedOddsRatio,
    adjusted_odds_ratios,
)
from ctdc_risk.factors.crude import crude_associations
from ctdc_risk.stats import Z95


def _flags(*names: str) -> tuple[EncodedColumn, ...]:
    """Reference ("no") and "yes" columns for each named binary factor."""
    return tuple(
        EncodedColumn(name, level, level == "no") for name in names for level in ("no", "yes")
    )


def _design(*indicators: np.ndarray) -> sp.csr_matrix:
    """CSR with a "no" and a "yes" column per boolean indicator (matches :func:`_flags`)."""
    columns = []
    for ind in indicators:
        columns += [~ind, ind]
    return sp.csr_matrix(np.column_stack(columns).astype(np.float64))


def _two_by_two(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Exposure and outcome with a exposed cases, b exposed non-cases, c and d unexposed."""
    exposed = np.array([True] * (a + b) + [False] * (c + d))
    y = np.array([1] * a + [0] * b + [1] * c + [0] * d)
    return exposed, y


def _level(results: tuple[AdjustedOddsRatio, ...], factor: str, level: str) -> AdjustedOddsRatio:
    return next(r for r in results if (r.factor, r.level) == (factor, level))


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "colA": pd.Categorical(["a"] * 12 + ["b"] * 8 + ["c"] * 6 + [None] * 4),
            "flagB": pd.array([True, False, None] * 10, dtype="boolean"),
        }
    )


def test_crude_two_by_two_matches_hand_computed_ratio_and_katz_interval() -> None:
    a, b, c, d = 30, 20, 15, 35
    exposed, y = _two_by_two(a, b, c, d)
    crude = crude_associations(_design(exposed), _flags("E"), y)
    yes = crude[1]
    assert (yes.n_with, yes.n_without) == (a + b, c + d)
    assert yes.share_with == pytest.approx(a / (a + b))
    assert yes.share_without == pytest.approx(c / (c + d))
    ratio = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    assert yes.prevalence_ratio == pytest.approx(ratio)
    assert yes.pr_ci95 is not None
    assert yes.pr_ci95[0] == pytest.approx(ratio * math.exp(-Z95 * se))
    assert yes.pr_ci95[1] == pytest.approx(ratio * math.exp(Z95 * se))
    # The reference column is the mirror image: its ratio is the reciprocal.
    assert crude[0].prevalence_ratio == pytest.approx(1 / ratio)


def test_crude_one_row_per_column_and_counts_add_up_to_n() -> None:
    frame = _frame()
    enc = FactorEncoder((("colA", "category"), ("flagB", "flag")), min_count=1).fit(frame)
    x = enc.transform(frame)
    y = np.arange(len(frame)) % 3 == 0
    crude = crude_associations(x, enc.columns_, y)
    assert [(c.factor, c.level) for c in crude] == [(col.factor, col.level) for col in enc.columns_]
    assert all(c.n_with + c.n_without == len(frame) for c in crude)
    unknown_a = next(c for c in crude if (c.factor, c.level) == ("colA", UNKNOWN))
    assert unknown_a.n_with == 4


def test_crude_level_without_outcomes_has_no_ratio() -> None:
    exposed, y = _two_by_two(0, 10, 5, 5)
    yes = crude_associations(_design(exposed), _flags("E"), y)[1]
    assert yes.share_with == 0.0
    assert yes.prevalence_ratio is None
    assert yes.pr_ci95 is None


def test_empty_level_has_no_share_and_is_not_estimable() -> None:
    exposed, y = _two_by_two(10, 10, 10, 10)
    x = sp.hstack([_design(exposed), sp.csr_matrix((len(y), 1))]).tocsr()
    columns = (*_flags("E"), EncodedColumn("F", "never", False))
    assert crude_associations(x, columns, y)[2].share_with is None
    adjusted = adjusted_odds_ratios(x, columns, y)
    assert adjusted[2].odds_ratio is None
    assert adjusted[2].note == NOTE_EMPTY
    assert adjusted[1].odds_ratio == pytest.approx(1.0)


def test_adjusted_single_binary_factor_is_the_half_corrected_cross_product_ratio() -> None:
    # With one binary factor, Firth's odds ratio is the cross-product ratio with 1/2 added to
    # every cell, and its interval is close to Woolf's on those cells.
    a, b, c, d = 40, 25, 18, 50
    exposed, y = _two_by_two(a, b, c, d)
    yes = adjusted_odds_ratios(_design(exposed), _flags("E"), y)[1]
    odds_ratio = ((a + 0.5) * (d + 0.5)) / ((b + 0.5) * (c + 0.5))
    se = math.sqrt(1 / (a + 0.5) + 1 / (b + 0.5) + 1 / (c + 0.5) + 1 / (d + 0.5))
    assert yes.odds_ratio == pytest.approx(odds_ratio, rel=1e-6)
    assert yes.ci95 is not None
    assert yes.ci95[0] == pytest.approx(math.exp(math.log(odds_ratio) - Z95 * se), rel=0.02)
    assert yes.ci95[1] == pytest.approx(math.exp(math.log(odds_ratio) + Z95 * se), rel=0.02)
    assert yes.p_value is not None and yes.p_value < 1e-4
    assert yes.note == ""


def test_reference_levels_have_odds_ratio_one_and_a_note() -> None:
    frame = _frame()
    enc = FactorEncoder((("colA", "category"), ("flagB", "flag")), min_count=1).fit(frame)
    y = np.array([0, 1, 1, 0, 1] * 6)
    adjusted = adjusted_odds_ratios(enc.transform(frame), enc.columns_, y)
    assert len(adjusted) == len(enc.columns_)
    for col, result in zip(enc.columns_, adjusted, strict=True):
        assert (result.factor, result.level) == (col.factor, col.level)
        if col.is_reference:
            assert (result.odds_ratio, result.ci95, result.note) == (1.0, None, NOTE_REFERENCE)
        else:
            assert result.note != NOTE_REFERENCE
    assert _level(adjusted, "flagB", "no").note == NOTE_REFERENCE
    assert _level(adjusted, "colA", "a").note == NOTE_REFERENCE  # the most common level


def test_planted_effect_is_recovered_and_noise_level_covers_one() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    risk = rng.random(n) < 0.3
    noise = rng.random(n) < 0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 1.0 * risk)))).astype(int)
    adjusted = adjusted_odds_ratios(_design(risk, noise), _flags("R", "N"), y)
    r, z = _level(adjusted, "R", "yes"), _level(adjusted, "N", "yes")
    assert r.ci95 is not None
    assert z.ci95 is not None
    assert r.ci95[0] < math.e < r.ci95[1]
    assert r.ci95[0] > 1
    assert z.ci95[0] < 1 < z.ci95[1]


def test_adjustment_reverses_a_confounded_crude_association() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    confounder = rng.random(n) < 0.5
    exposure = rng.random(n) < np.where(confounder, 0.9, 0.1)
    # Exposure is protective (-1), but it is concentrated where the baseline risk is high.
    eta = -2.0 + 3.0 * confounder - 1.0 * exposure
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    x = _design(exposure, confounder)
    columns = _flags("E", "C")
    crude = crude_associations(x, columns, y)[1]
    adjusted = _level(adjusted_odds_ratios(x, columns, y), "E", "yes")
    assert crude.pr_ci95 is not None
    assert crude.pr_ci95[0] > 1  # crude: looks like a risk factor
    assert adjusted.ci95 is not None
    assert adjusted.ci95[1] < 1  # adjusted: the planted protective direction
    assert adjusted.ci95[0] < math.exp(-1.0) < adjusted.ci95[1]


def test_separating_level_keeps_a_finite_firth_estimate_and_stays_in_the_model() -> None:
    rng = np.random.default_rng(1)
    n = 600
    separating = rng.random(n) < 0.2
    other = rng.random(n) < 0.5
    y = np.where(separating, 1, rng.random(n) < np.where(other, 0.5, 0.2)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing from statsmodels may escape
        adjusted = adjusted_odds_ratios(_design(separating, other), _flags("S", "O"), y)
    s, o = _level(adjusted, "S", "yes"), _level(adjusted, "O", "yes")
    # Every case with S has the outcome: maximum likelihood would be infinite, Firth is not,
    # and S's rows are never merged into its reference.
    assert s.note == NOTE_SEPARATION
    assert s.odds_ratio is not None and math.isfinite(s.odds_ratio) and s.odds_ratio > 10
    assert s.ci95 is not None and s.ci95[0] > 1
    assert o.odds_ratio is not None
    assert o.odds_ratio > 1
    assert o.ci95 is not None


def test_separation_by_a_combination_of_levels_stays_finite() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    a, b, c = (rng.random(n) < 0.5 for _ in range(3))
    # Each level alone has both outcomes, but a + b separates them: quasi-complete separation.
    y = np.where(a & b, 1, np.where(~a & ~b, 0, rng.random(n) < 0.5)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adjusted = adjusted_odds_ratios(_design(a, b, c), _flags("A", "B", "C"), y)
    for name in ("A", "B"):
        level = _level(adjusted, name, "yes")
        assert level.odds_ratio is not None and math.isfinite(level.odds_ratio)
        assert level.odds_ratio > 1
    independent = _level(adjusted, "C", "yes")
    assert independent.ci95 is not None
    assert independent.ci95[0] < 1 < independent.ci95[1]


def test_duplicated_column_is_reported_collinear() -> None:
    rng = np.random.default_rng(3)
    n = 800
    a = rng.random(n) < 0.4
    y = (rng.random(n) < np.where(a, 0.5, 0.2)).astype(int)
    # Factor B's "yes" rows are exactly factor A's (e.g. both unknown on the same records).
    x = _design(a, a)
    adjusted = adjusted_odds_ratios(x, _flags("A", "B"), y)
    first, duplicate = _level(adjusted, "A", "yes"), _level(adjusted, "B", "yes")
    assert first.odds_ratio is not None
    assert first.ci95 is not None
    assert duplicate.odds_ratio is None
    assert duplicate.note.startswith(NOTE_COLLINEAR) and "A=yes" in duplicate.note
    # The kept level's estimate carries the dropped one's effect too: it says so.
    assert first.note == NOTE_ALIASED
    # Dropping the duplicate leaves the same model as A alone.
    alone = adjusted_odds_ratios(_design(a), _flags("A"), y)[1]
    assert first.odds_ratio == pytest.approx(alone.odds_ratio)


def test_cluster_robust_intervals_are_wider_for_a_clustered_outcome() -> None:
    rng = np.random.default_rng(0)
    n_groups, n = 30, 3000
    group = rng.integers(0, n_groups, n)
    group_effect = rng.normal(0.0, 1.5, n_groups)
    # Exposure mostly varies between groups, and the outcome shares a strong group effect.
    group_exposed = rng.random(n_groups) < 0.5
    exposure = np.where(rng.random(n) < 0.9, group_exposed[group], rng.random(n) < 0.5)
    eta = -1.0 + 0.5 * exposure + group_effect[group]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    x, columns = _design(exposure), _flags("E")
    plain = adjusted_odds_ratios(x, columns, y, groups=group)[1]
    robust = adjusted_odds_ratios(x, columns, y, groups=group, cluster_robust=True)[1]
    assert plain.ci95 is not None
    assert robust.ci95 is not None
    assert robust.odds_ratio == pytest.approx(plain.odds_ratio)  # same point estimate
    width = math.log(plain.ci95[1]) - math.log(plain.ci95[0])
    robust_width = math.log(robust.ci95[1]) - math.log(robust.ci95[0])
    assert robust_width > 1.5 * width


def test_results_are_deterministic() -> None:
    rng = np.random.default_rng(4)
    n = 1000
    a, b = rng.random(n) < 0.3, rng.random(n) < 0.6
    y = (rng.random(n) < np.where(a, 0.4, 0.2)).astype(int)
    groups = np.array(["x", "y", None, "z"], dtype=object)[rng.integers(0, 4, n)]
    x = _design(a, b)
    first = adjusted_odds_ratios(x, _flags("A", "B"), y, groups=groups, cluster_robust=True)
    second = adjusted_odds_ratios(x, _flags("A", "B"), y, groups=groups, cluster_robust=True)
    assert first == second


def test_one_outcome_class_gives_an_uninformative_estimate_and_no_error() -> None:
    exposed, _ = _two_by_two(5, 5, 5, 5)
    adjusted = adjusted_odds_ratios(_design(exposed), _flags("E"), np.zeros(20, dtype=int))
    assert adjusted[1].note == NOTE_SEPARATION
    assert adjusted[1].odds_ratio == pytest.approx(1.0)
    assert adjusted[1].ci95 is not None and adjusted[1].ci95[0] < 1 < adjusted[1].ci95[1]


def test_copies_of_records_do_not_narrow_the_clustered_interval() -> None:
    rng = np.random.default_rng(5)
    n = 400
    a = rng.random(n) < 0.4
    y = (rng.random(n) < np.where(a, 0.5, 0.25)).astype(int)
    once = adjusted_odds_ratios(
        _design(a), _flags("A"), y, groups=np.arange(n), cluster_robust=True
    )
    # Every record ten times: as many rows, but no more evidence.
    copies = np.repeat(np.arange(n), 10)
    x10 = _design(a[copies])
    naive = adjusted_odds_ratios(x10, _flags("A"), y[copies])[1]
    clustered = adjusted_odds_ratios(
        x10, _flags("A"), y[copies], groups=copies, cluster_robust=True
    )[1]
    once = once[1]
    assert once.ci95 is not None and naive.ci95 is not None and clustered.ci95 is not None

    def width(ci: tuple[float, float]) -> float:
        return math.log(ci[1]) - math.log(ci[0])

    assert width(naive.ci95) == pytest.approx(width(once.ci95) / math.sqrt(10), rel=0.05)
    assert width(clustered.ci95) == pytest.approx(width(once.ci95), rel=0.05)


def test_inputs_are_checked() -> None:
    exposed, y = _two_by_two(5, 5, 5, 5)
    x = _design(exposed)
    with pytest.raises(ValueError, match="columns"):
        crude_associations(x, _flags("E")[:1], y)
    with pytest.raises(ValueError, match="binary"):
        crude_associations(x, _flags("E"), y * 2)
    with pytest.raises(ValueError, match="shape"):
        adjusted_odds_ratios(x, _flags("E"), y[:-1])
    with pytest.raises(ValueError, match="groups"):
        adjusted_odds_ratios(x, _flags("E"), y, cluster_robust=True)
    with pytest.raises(StudyError, match="two clusters"):
        adjusted_odds_ratios(x, _flags("E"), y, groups=np.zeros(20), cluster_robust=True)
