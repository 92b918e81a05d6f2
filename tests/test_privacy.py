import pytest

from ctdc_risk.errors import ConfigError
from ctdc_risk.privacy import PrivacySpec, check_share


@pytest.mark.parametrize("k", [4, 0, -1, 2.5, True, "10"])
def test_k_below_five_or_not_an_integer_is_refused(k):
    with pytest.raises(ConfigError, match=r"privacy\.k"):
        PrivacySpec(k=k)


def test_share_shown_only_when_numerator_and_complement_reach_k():
    assert check_share(10, 20, 10).show_share
    assert not check_share(9, 100, 10).show_share  # small numerator
    assert not check_share(95, 100, 10).show_share  # small complement: secondary suppression
    cell = check_share(3, 8, 10)
    assert not cell.show_denominator and not cell.show_share
