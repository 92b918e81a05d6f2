import math

import pytest

from ctdc_risk.stats import ratio_of_proportions, wilson_interval


def test_wilson_contains_point_estimate_and_stays_in_unit_interval():
    for x, n in [(0, 10), (10, 10), (3, 7), (41, 100), (5000, 10000)]:
        lo, hi = wilson_interval(x, n)
        assert 0.0 <= lo <= x / n <= hi <= 1.0


def test_wilson_matches_closed_form_reference():
    # Reference values from the textbook formula (Newcombe 1998, method 3): 81/263.
    lo, hi = wilson_interval(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-4)
    assert hi == pytest.approx(0.3662, abs=1e-4)


def test_wilson_narrows_with_more_data():
    lo1, hi1 = wilson_interval(41, 100)
    lo2, hi2 = wilson_interval(410, 1000)
    assert hi2 - lo2 < hi1 - lo1


@pytest.mark.parametrize(("x", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_refuses_impossible_counts(x, n):
    with pytest.raises(ValueError, match="must be"):
        wilson_interval(x, n)


def test_ratio_is_symmetric_on_log_scale():
    r1, (lo1, hi1) = ratio_of_proportions(41, 100, 9, 100)
    r2, (_, hi2) = ratio_of_proportions(9, 100, 41, 100)
    assert r1 * r2 == pytest.approx(1.0)
    assert math.log(lo1) == pytest.approx(-math.log(hi2))
    assert lo1 < r1 < hi1


def test_ratio_undefined_with_zero_count():
    assert ratio_of_proportions(0, 10, 5, 10) is None
