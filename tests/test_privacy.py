import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctdc_risk.errors import ConfigError
from ctdc_risk.privacy import (
    SUPPRESSED,
    Floor,
    PrivacySpec,
    PrivacyViolationError,
    chain_failures,
    check_share,
    partition_failures,
    suppress_chain,
    suppress_partition,
)


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


def test_floor_owns_the_marker_and_the_rule_for_counts():
    floor = PrivacySpec(k=11).floor
    assert floor == Floor(11) and floor.marker == "<11" == PrivacySpec(k=11).marker()
    assert [floor.count(n) for n in (0, 1, 10, 11, 500)] == [0, "<11", "<11", 11, 500]
    assert floor.count("<11") == "<11" and floor.count(True) is True  # not a count
    assert floor.text(5) == "<11" and floor.text(12_345) == "12,345" and floor.text(0) == "0"
    assert floor.withheld(3) == "<11" and floor.withheld(300) == SUPPRESSED
    assert floor.share(3, 8) == check_share(3, 8, 11)


def test_floored_documents_pass_the_guard_that_refuses_the_raw_ones():
    floor = Floor(10)
    doc = {"n": 30, "rows": [{"n_with": 4, "label": "x"}, {"n_with": 40}], "n_boot": 2}
    with pytest.raises(PrivacyViolationError, match=r"rows\[0\]\.n_with"):
        floor.check_document(doc, "doc.json")
    shown = floor.floored(doc)
    assert shown == {"n": 30, "rows": [{"n_with": "<10", "label": "x"}, {"n_with": 40}],
                     "n_boot": 2}  # fmt: skip
    floor.check_document(shown, "doc.json")
    with pytest.raises(PrivacyViolationError, match="'n_yes'"):
        floor.check_table(["group", "n_yes"], [["a", 9]], "t.csv")


@given(
    st.lists(st.integers(0, 60), min_size=2, max_size=5),
    st.lists(st.integers(0, 400), min_size=3, max_size=5),
)
@settings(max_examples=40, deadline=None)
def test_partitions_and_chains_end_with_nothing_a_reader_can_recover(sizes, chain):
    # One withholding loop serves both: it stops only when no withheld count can be pinned.
    yes = [n // 3 for n in sizes]
    s = suppress_partition(sizes, yes, k=10)
    if any(s.hide_y) and not all(s.hide_y):
        assert not partition_failures(sizes, yes, s.hide_n, s.hide_y, k=10) or all(s.hide_n)
    counts = sorted(chain, reverse=True)
    markers = suppress_chain(counts, k=10)
    hidden = [bool(m) for m in markers]
    assert not hidden[0] and not hidden[-1]
    if chain_failures(counts, hidden, k=10) is not None:
        # Only when every inner count is already withheld is nothing left to withhold.
        assert all(hidden[1:-1])
